"""`rules update`: fetch SigmaHQ's latest release package into a user cache, verify it, switch to it.

Layout of the cache (default ``$XDG_CACHE_HOME/chainbreaker/sigma``, else ``~/.cache/chainbreaker/sigma``;
``CHAINBREAKER_SIGMA_CACHE`` overrides)::

    versions/<tag>-<package>-<sha8>/   unpacked rules + manifest.json (tag, asset, size, sha256...)
    current                            symlink to the version in use (a one-line file where
                                       symlinks are unavailable), switched atomically

Nothing under ``current`` changes until a new package is downloaded, checked (a valid zip whose
CRCs match, no path escaping the folder, the published SHA-256 when the release gives one, rule
YAML that pySigma parses) and unpacked; any failure leaves the previous set in place and raises
:class:`UpdateError`. The GitHub API base can be overridden (``--url`` /
``CHAINBREAKER_GITHUB_API``) so tests serve a release from a local HTTP server.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from chainbreaker.detect.sigma.update_check import PackageCheck, UpdateError, check_package

DEFAULT_API = "https://api.github.com"
API_ENV = "CHAINBREAKER_GITHUB_API"
CACHE_ENV = "CHAINBREAKER_SIGMA_CACHE"
REPOSITORY = "SigmaHQ/sigma"
#: Release assets SigmaHQ publishes, by the name users pick with ``--package``.
PACKAGES = {
    "core": "sigma_core.zip",
    "core+": "sigma_core+.zip",
    "core++": "sigma_core++.zip",
    "all": "sigma_all_rules.zip",
}
MAX_DOWNLOAD = 256 * 1024 * 1024  # bytes; the all-rules package is about 4 MB
TIMEOUT = 60.0  # seconds per request
KEEP_VERSIONS = 3

__all__ = ["UpdateError", "UpdateResult", "default_rules_dir", "shipped_rules_dirs", "update"]


@dataclass(frozen=True, slots=True)
class UpdateResult:
    tag: str
    package: str
    asset: str
    url: str
    path: str
    size: int
    sha256: str
    checksum: str  # "release digest", "checksum asset" or "none published"
    rule_files: int
    rules_parsed: int
    rules_failed: int
    downloaded_at: str
    previous: str | None = None
    changed: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chainbreaker" / "sigma"


def default_rules_dir(root: Path | None = None) -> Path | None:
    """The rule set ``rules update`` installed last, or None when there is none."""
    pointer = (root or cache_root()) / "current"
    if pointer.is_symlink() or pointer.is_dir():
        target = pointer.resolve()
    elif pointer.is_file():
        target = pointer.parent / "versions" / pointer.read_text(encoding="utf-8").strip()
    else:
        return None
    return target if (target / "manifest.json").is_file() else None


def shipped_rules_dirs() -> list[Path]:
    """chainbreaker's own rules: base rules and correlation rules (which reference them by name)."""
    root = Path(str(resources.files("chainbreaker") / "rules"))
    return [p for p in (root / "sigma", root / "correlation") if p.is_dir()]


def installed() -> dict[str, Any] | None:
    """The manifest of the current set."""
    current = default_rules_dir()
    if current is None:
        return None
    data: dict[str, Any] = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    return data


def update(
    package: str = "core", api: str | None = None, root: Path | None = None, force: bool = False
) -> UpdateResult:
    if package not in PACKAGES:
        raise UpdateError(f"unknown package {package!r}; choose one of {', '.join(PACKAGES)}")
    root = root or cache_root()
    base = (api or os.environ.get(API_ENV) or DEFAULT_API).rstrip("/")
    release_url = f"{base}/repos/{REPOSITORY}/releases/latest"
    release = _json(release_url)
    tag = str(release.get("tag_name") or "").strip()
    assets = {a.get("name"): a for a in release.get("assets") or [] if isinstance(a, dict)}
    asset = assets.get(PACKAGES[package])
    if not tag or asset is None:
        raise UpdateError(f"release {tag or '?'} has no asset {PACKAGES[package]}", release_url)
    previous = default_rules_dir(root)
    if previous is not None and not force:
        manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("tag") == tag and manifest.get("package") == package:
            return UpdateResult(**{**manifest, "previous": str(previous), "changed": False})
    url = str(asset.get("browser_download_url") or "")
    expected, checksum = _published_sha256(asset, assets)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        archive = Path(tmp) / PACKAGES[package]
        size, digest = _download(url, archive)
        if expected is not None and expected != digest:
            raise UpdateError(f"SHA-256 mismatch: release says {expected}, download is {digest}", url)
        check = check_package(archive)
        version = root / "versions" / f"{_safe(tag)}-{_safe(package)}-{digest[:8]}"
        result = UpdateResult(
            tag=tag,
            package=package,
            asset=PACKAGES[package],
            url=url,
            path=str(version),
            size=size,
            sha256=digest,
            checksum=checksum,
            rule_files=check.rule_files,
            rules_parsed=check.parsed,
            rules_failed=check.failed,
            downloaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            previous=str(previous) if previous else None,
        )
        _unpack(archive, check, version, result)
    _switch(root, version)
    _prune(root, keep={version.name, previous.name if previous else ""})
    return result


def _json(url: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url, headers={"Accept": "application/vnd.github+json", "User-Agent": "chainbreaker"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            _check_scheme(response.geturl())
            data = json.loads(response.read(4 * 1024 * 1024))
    except urllib.error.HTTPError as exc:
        raise UpdateError(f"release query failed: HTTP {exc.code} {exc.reason}", url) from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise UpdateError(f"release query failed: {exc}", url) from exc
    if not isinstance(data, dict):
        raise UpdateError("release query returned no release object", url)
    return data


def _check_scheme(url: str) -> None:
    if not url.startswith(("https://", "http://")):
        raise UpdateError("only http(s) URLs are fetched", url)


def _download(url: str, target: Path) -> tuple[int, str]:
    _check_scheme(url)
    digest = hashlib.sha256()
    size = 0
    request = urllib.request.Request(url, headers={"User-Agent": "chainbreaker"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response, target.open("wb") as out:
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    raise UpdateError(f"download larger than {MAX_DOWNLOAD} bytes, refused", url)
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise UpdateError(f"download failed: HTTP {exc.code} {exc.reason}", url) from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise UpdateError(f"download failed: {exc}", url) from exc
    return size, digest.hexdigest()


def _published_sha256(asset: dict[str, Any], assets: dict[Any, dict[str, Any]]) -> tuple[str | None, str]:
    """The SHA-256 the release publishes for the asset: GitHub's asset ``digest`` or a checksum file."""
    digest = str(asset.get("digest") or "")
    if digest.startswith("sha256:"):
        return digest.removeprefix("sha256:").lower(), "release digest"
    name = str(asset.get("name"))
    for candidate in (f"{name}.sha256", "SHA256SUMS", "sha256sums.txt", "checksums.txt"):
        side = assets.get(candidate)
        if side is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sums"
            _download(str(side.get("browser_download_url") or ""), path)
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.replace("*", " ").split()
                if parts and (len(parts) == 1 or parts[-1] == name) and len(parts[0]) == 64:
                    return parts[0].lower(), "checksum asset"
    return None, "none published"


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text).replace("+", "plus") or "x"


def _unpack(archive: Path, check: PackageCheck, version: Path, result: UpdateResult) -> None:
    """Extract into a partial folder, write the manifest, then rename into place (atomic)."""
    version.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=version.parent, prefix=".partial-"))
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in check.members:
                zf.extract(member, partial)
        manifest = {k: v for k, v in result.as_dict().items() if k not in ("previous", "changed")}
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if version.exists():
            shutil.rmtree(version)
        partial.rename(version)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise UpdateError(f"cannot unpack the rule package: {exc}", str(version)) from exc


def _switch(root: Path, version: Path) -> None:
    """Point ``current`` at ``version`` with one rename, so readers see the old or the new set."""
    pointer = root / "current"
    temp = root / f".current-{os.getpid()}"
    if temp.is_symlink() or temp.exists():
        temp.unlink()
    try:
        temp.symlink_to(Path("versions") / version.name, target_is_directory=True)
    except OSError:  # no symlinks (some Windows setups): a one-line pointer file
        temp.write_text(version.name, encoding="utf-8")
    if pointer.is_dir() and not pointer.is_symlink():
        shutil.rmtree(pointer)
    os.replace(temp, pointer)


def _prune(root: Path, keep: set[str]) -> None:
    versions = sorted(
        (p for p in (root / "versions").iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in versions[KEEP_VERSIONS:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
