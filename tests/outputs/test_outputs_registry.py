from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chainbreaker.errors import UnknownIdError
from chainbreaker.outputs import Output, get_output, register, registered_outputs, write_outputs

EXPECTED = {"containment", "html", "json", "jsonl", "navigator", "stix", "timesketch"}


def test_every_builtin_output_is_registered() -> None:
    names = {o.name for o in registered_outputs()}
    assert names == EXPECTED
    for cls in registered_outputs():
        assert cls.description and cls.files


def test_duplicate_names_are_refused() -> None:
    class Again(Output):
        name = "json"
        description = "x"
        files = ("x",)

        def write(self, result: Any, out_dir: Path, fetch_event: Any = None) -> list[Path]:
            return []

    with pytest.raises(ValueError, match="already registered"):
        register(Again)


def test_unknown_output_suggests_and_writes_nothing(tmp_path: Path, result: dict[str, Any]) -> None:
    with pytest.raises(UnknownIdError, match="navigator"):
        write_outputs(["json", "navigatr"], result, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert get_output("JSON").name == "json"


def test_all_writes_every_declared_file(tmp_path: Path, result: dict[str, Any]) -> None:
    written = write_outputs(["all"], result, tmp_path)
    assert set(written) == EXPECTED
    incident = result["incidents"][0]["id"]
    for cls in registered_outputs():
        for pattern in cls.files:
            path = tmp_path / pattern.replace("<incident>", incident)
            assert path.is_file(), path
            assert path in written[cls.name]
