"""`chainbreaker demo`: the README's main job on the bundled demo data.

For now it explains one sample technique end to end (ATT&CK -> kill chain -> UKC ->
countermeasures); the hunt over the bundled demo logs replaces it once assembled.
"""

from __future__ import annotations

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.frameworks_cmd import render_explanation
from chainbreaker.cli.render import print_json
from chainbreaker.frameworks import explain

#: Spearphishing Attachment: the classic first step of an intrusion.
SAMPLE_TECHNIQUE = "T1566.001"


@app.command()
def demo(output: OutputFormat = FORMAT_OPTION) -> None:
    """Run the main job on the bundled demo data."""
    found = explain(SAMPLE_TECHNIQUE)
    if output is OutputFormat.json:
        print_json(found.to_dict())
    else:
        render_explanation(found)
