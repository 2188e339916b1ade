"""`rules update` against a release served from 127.0.0.1 (no test reaches the internet).

The rule package is built by each test from a few rule files of the SigmaHQ corpus (the `dataset`
fixture; skipped when the corpus is absent).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chainbreaker.detect.sigma.loader import load_rules
from chainbreaker.detect.sigma.update import UpdateError, default_rules_dir, update
from release_server import Release


@pytest.fixture(scope="module")
def corpus_rules(dataset: Any) -> list[Path]:
    root = Path(dataset("sigma")) / "sigma" / "rules" / "windows" / "process_creation"
    files = sorted(root.glob("*.yml"))[:6]
    if not files:
        pytest.skip("no SigmaHQ process_creation rules in the corpus")
    return files


def package(files: list[Path], extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.writestr(f"rules/windows/process_creation/{path.name}", path.read_bytes())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_update_installs_verifies_and_switches(
    release: Release, corpus_rules: list[Path], tmp_path: Path
) -> None:
    data = package(corpus_rules, {"LICENSE": b"Detection Rule License"})
    release.publish("r2024-01-01", data)
    result = update("core", api=release.base, root=tmp_path)
    assert result.changed and result.checksum == "release digest"
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data)
    assert result.rule_files == len(corpus_rules) == result.rules_parsed
    current = default_rules_dir(tmp_path)
    assert current is not None and str(current) == str(Path(result.path).resolve())
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["tag"] == "r2024-01-01" and manifest["sha256"] == result.sha256
    assert len(load_rules([current], use_cache=False).rules) == len(corpus_rules)
    # same release again: nothing is downloaded
    release.requests.clear()
    again = update("core", api=release.base, root=tmp_path)
    assert not again.changed and not any(p.startswith("/download/") for p in release.requests)


def test_corrupt_zip_keeps_the_previous_set(
    release: Release, corpus_rules: list[Path], tmp_path: Path
) -> None:
    release.publish("r1", package(corpus_rules))
    first = update("core", api=release.base, root=tmp_path)
    good = package(corpus_rules[:3])
    broken = good[: len(good) // 2] + bytes(len(good) // 2)
    release.publish("r2", broken)
    with pytest.raises(UpdateError, match="zip"):
        update("core", api=release.base, root=tmp_path)
    assert str(default_rules_dir(tmp_path)) == str(Path(first.path).resolve())
    assert not [p for p in tmp_path.rglob(".*") if p.name.startswith((".partial", ".download"))]


def test_crc_damage_inside_a_valid_zip_is_caught(
    release: Release, corpus_rules: list[Path], tmp_path: Path
) -> None:
    body = corpus_rules[0].read_bytes()[:40]
    # stored (uncompressed) copy so that flipping a byte of the member keeps the zip structure
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("rules/a.yml", corpus_rules[0].read_bytes())
    data = bytearray(buffer.getvalue())
    at = bytes(data).index(body) + 5
    data[at] ^= 0xFF
    release.publish("r3", bytes(data), digest=None)
    with pytest.raises(UpdateError, match="CRC"):
        update("core", api=release.base, root=tmp_path)
    assert default_rules_dir(tmp_path) is None


def test_http_404_is_an_error_and_nothing_changes(release: Release, tmp_path: Path) -> None:
    with pytest.raises(UpdateError, match="HTTP 404"):
        update("core", api=release.base, root=tmp_path)
    assert default_rules_dir(tmp_path) is None


def test_zip_without_rules_is_refused(release: Release, tmp_path: Path) -> None:
    release.publish("r4", package([], {"README.md": b"# nothing here"}))
    with pytest.raises(UpdateError, match="no Sigma rule files"):
        update("core", api=release.base, root=tmp_path)
    assert default_rules_dir(tmp_path) is None


def test_zip_of_non_sigma_yaml_is_refused(release: Release, tmp_path: Path) -> None:
    release.publish("r5", package([], {"rules/a.yml": b"just: some\nyaml: file\n"}))
    with pytest.raises(UpdateError, match="do not parse with pySigma"):
        update("core", api=release.base, root=tmp_path)


def test_published_checksum_mismatch_is_refused(
    release: Release, corpus_rules: list[Path], tmp_path: Path
) -> None:
    release.publish("r6", package(corpus_rules), digest="sha256:" + "0" * 64)
    with pytest.raises(UpdateError, match="SHA-256 mismatch"):
        update("core", api=release.base, root=tmp_path)


def test_path_traversal_member_is_refused(release: Release, corpus_rules: list[Path], tmp_path: Path) -> None:
    release.publish("r7", package(corpus_rules, {"../escape.yml": corpus_rules[0].read_bytes()}))
    with pytest.raises(UpdateError, match="outside the cache"):
        update("core", api=release.base, root=tmp_path / "cache")
    assert not (tmp_path / "escape.yml").exists()


def test_missing_package_asset(release: Release, corpus_rules: list[Path], tmp_path: Path) -> None:
    release.publish("r8", package(corpus_rules), name="sigma_all_rules.zip")
    with pytest.raises(UpdateError, match=r"no asset sigma_core\.zip"):
        update("core", api=release.base, root=tmp_path)
    assert update("all", api=release.base, root=tmp_path).package == "all"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainbreaker", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_success_and_failure_exit_codes(
    release: Release, corpus_rules: list[Path], tmp_path: Path
) -> None:
    release.publish("r9", package(corpus_rules))
    ok = cli("rules", "update", "--url", release.base, "--cache-dir", str(tmp_path), "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["tag"] == "r9"
    release.routes.clear()
    failed = cli("rules", "update", "--url", release.base, "--cache-dir", str(tmp_path), "--force")
    assert failed.returncode != 0
    assert "HTTP 404" in failed.stderr
    assert default_rules_dir(tmp_path) is not None
