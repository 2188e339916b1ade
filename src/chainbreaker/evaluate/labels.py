"""Label formats the harness reads, detected from the path it is given.

(a) the simulator's ground truth: ``ground_truth.jsonl`` (one line per malicious event) and the
    ``ground_truth.json`` summary next to it (expected incidents); event-level labels.
(b) a folder-per-tactic corpus (evtx-attack-samples): every file under a folder named after an
    ATT&CK tactic carries that tactic; folders that name no tactic (AutomatedTestingTools, Other)
    are skipped; "Defense Evasion" is the pre-v19 tactic (TA0005) that ATT&CK v19 split into
    Stealth (same id) and Defense Impairment: its files are labelled ``stealth`` and accept an
    alert of either half (``FileLabels.accepted``). File-level labels.
(c) OTRF Security-Datasets metadata: ``metadata.jsonl`` or ``_metadata/*.yaml``, technique and
    tactic ids per dataset file. File-level labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson
import yaml

from chainbreaker.errors import ConfigError
from chainbreaker.frameworks import KILLCHAIN_PHASES, canonical_tactic, phases_for
from chainbreaker.frameworks.tags import successors

_PHASE_ORDER = [p.id for p in KILLCHAIN_PHASES]


def phase_key(phase: str) -> tuple[int, str]:
    """Sort key: kill-chain order, unknown phases last."""
    return (_PHASE_ORDER.index(phase) if phase in _PHASE_ORDER else 99, phase)


def _phase_of_tactic(tactic: str) -> tuple[str, ...]:
    return phases_for((), (tactic,))[0]


@dataclass(frozen=True, slots=True)
class TruthEvent:
    file: str
    record: int
    phase: str
    technique: str
    tactic: str
    host: str | None
    time: datetime
    step: str = ""
    #: alert tactics that detect this record's tactic when its label names a tactic ATT&CK has
    #: since split (pre-v19 ``defense-evasion``: stealth or defense-impairment); empty: ``tactic`` only
    accepts: frozenset[str] = frozenset()

    @property
    def accepted_tactics(self) -> frozenset[str]:
        """The alert tactics that detect this record's tactic (the tactic itself, or its split)."""
        return self.accepts or frozenset({self.tactic})


@dataclass(frozen=True)
class ExpectedIncident:
    id: str
    hosts: tuple[str, ...]
    phases: tuple[str, ...]


@dataclass(frozen=True)
class GroundTruth:
    """Format (a): event-level truth."""

    path: Path
    events: tuple[TruthEvent, ...]
    incidents: tuple[ExpectedIncident, ...]
    format: str = "ground-truth"


@dataclass(frozen=True)
class FileLabels:
    """Formats (b) and (c): per labelled file, the tactics (and techniques) it demonstrates."""

    path: Path
    format: str  # "tactic-folders" or "otrf"
    tactics: dict[str, frozenset[str]]
    techniques: dict[str, frozenset[str]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()  # folders or entries that carry no tactic
    #: file -> {labelled tactic: the alert tactics that count as detecting it}, for labels that
    #: name a tactic ATT&CK has since split (absent: only the labelled tactic itself counts)
    alternatives: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    def accepted(self, file: str, tactic: str) -> frozenset[str]:
        """The alert tactics that detect ``tactic`` on ``file`` (the tactic itself, or its split)."""
        return self.alternatives.get(file, {}).get(tactic, frozenset({tactic}))

    def detects(self, file: str, tactic: str, alert_tactics: frozenset[str] | set[str]) -> bool:
        """True when an alert carrying ``alert_tactics`` detects ``tactic`` on ``file``."""
        return not self.accepted(file, tactic).isdisjoint(alert_tactics)

    @property
    def phases(self) -> dict[str, frozenset[str]]:
        return {f: frozenset(p for t in ts for p in _phase_of_tactic(t)) for f, ts in self.tactics.items()}


Labels = GroundTruth | FileLabels


def load_labels(path: Path) -> Labels:
    """Detect the label format of ``path`` and load it (ConfigError when it is none of them)."""
    if path.is_dir():
        if (path / "ground_truth.jsonl").is_file():
            return load_ground_truth(path / "ground_truth.jsonl")
        if (path / "metadata.jsonl").is_file():
            return load_otrf(path / "metadata.jsonl")
        meta_dirs = [path] if path.name == "_metadata" else sorted(path.glob("**/_metadata"))
        if meta_dirs and any(meta_dirs[0].glob("*.yaml")):
            return load_otrf(meta_dirs[0])
        return load_tactic_folders(path)
    if not path.is_file():
        raise ConfigError("labels not found", str(path))
    if path.suffix == ".jsonl":
        first = path.open("rb").readline()
        try:
            head = orjson.loads(first) if first.strip() else {}
        except orjson.JSONDecodeError:
            raise ConfigError("labels file is not JSON lines", f"{path}:1") from None
        if "meta" in head and "attack" in head:
            return load_otrf(path)
        return load_ground_truth(path)
    raise ConfigError(
        "unknown label format (expected ground_truth.jsonl, a tactic-folder tree or OTRF metadata)", str(path)
    )


def load_ground_truth(path: Path) -> GroundTruth:
    events: list[TruthEvent] = []
    with path.open("rb") as stream:
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                d = orjson.loads(line)
                events.append(
                    TruthEvent(
                        file=d["file"],
                        record=int(d["record"]),
                        phase=d["phase"],
                        technique=d["technique"],
                        tactic=canonical_tactic(d["tactic"]) or d["tactic"],
                        host=d.get("host"),
                        time=datetime.fromisoformat(d["time"].replace("Z", "+00:00")),
                        step=d.get("step", ""),
                        accepts=successors(d["tactic"]),
                    )
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"bad ground-truth line ({exc})", f"{path}:{n}") from None
    incidents: list[ExpectedIncident] = []
    summary = path.with_suffix(".json")
    if summary.is_file():
        doc = orjson.loads(summary.read_bytes())
        for inc in doc.get("incidents", []):
            incidents.append(
                ExpectedIncident(inc["id"], tuple(inc.get("hosts", ())), tuple(inc.get("phases", ())))
            )
    return GroundTruth(path, tuple(events), tuple(incidents))


def load_tactic_folders(root: Path) -> FileLabels:
    """Every file below a folder whose name is an ATT&CK tactic carries that tactic."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir())
    if not any(canonical_tactic(d.name) for d in subdirs) and len(subdirs) == 1:
        return load_tactic_folders(subdirs[0])
    tactics: dict[str, frozenset[str]] = {}
    alternatives: dict[str, dict[str, frozenset[str]]] = {}
    skipped: list[str] = []
    for d in subdirs:
        tactic = canonical_tactic(d.name)
        if tactic is None:
            skipped.append(d.name)
            continue
        for f in sorted(d.rglob("*")):
            if f.is_file() and not _is_documentation(f):
                rel = f.relative_to(root).as_posix()
                tactics[rel] = tactics.get(rel, frozenset()) | {tactic}
                split = successors(d.name)
                if split:
                    alternatives.setdefault(rel, {})[tactic] = split
    if not tactics:
        raise ConfigError("no folder named after an ATT&CK tactic", str(root))
    return FileLabels(root, "tactic-folders", tactics, {}, tuple(skipped), alternatives)


#: Files in a labelled folder that describe the samples rather than record them.
_DOC_SUFFIXES = (".md", ".png", ".jpg", ".jpeg", ".gif", ".html", ".ps1", ".yml")


def _is_documentation(path: Path) -> bool:
    return path.suffix.lower() in _DOC_SUFFIXES or path.stem.lower() in ("readme", "license")


def load_otrf(path: Path) -> FileLabels:
    """OTRF metadata: ``metadata.jsonl`` (attack: [technique, sub, [tactic ids]], files: [{rel}]) or
    ``_metadata/*.yaml`` (attack_mappings, files: [{link}])."""
    tactics: dict[str, set[str]] = {}
    techniques: dict[str, set[str]] = {}
    skipped: list[str] = []

    def add(files: list[str], mappings: list[tuple[str, str | None, list[str]]], where: str) -> None:
        techs = {f"{t}.{s}" if s else t for t, s, _ in mappings}
        tacs = {c for _, _, ids in mappings for i in ids if (c := canonical_tactic(i))}
        if not files or not tacs:
            skipped.append(where)
            return
        for f in files:
            tactics.setdefault(f, set()).update(tacs)
            techniques.setdefault(f, set()).update(techs)

    if path.is_file():
        for n, line in enumerate(path.open("rb"), 1):
            if line.strip():
                d = orjson.loads(line)
                add(
                    [f["rel"] for f in d.get("files", []) if f.get("rel")],
                    [(a[0], a[1], a[2] or []) for a in d.get("attack", [])],
                    f"{path}:{n}",
                )
    else:
        for meta in sorted(path.glob("*.yaml")):
            d = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
            links = [f.get("link", "") for f in d.get("files") or []]
            files = [link.split("/master/", 1)[1] if "/master/" in link else link for link in links if link]
            add(
                files,
                [
                    (m.get("technique"), m.get("sub-technique"), m.get("tactics") or [])
                    for m in d.get("attack_mappings") or []
                    if m.get("technique")
                ],
                str(meta),
            )
    if not tactics:
        raise ConfigError("no dataset with ATT&CK tactics in OTRF metadata", str(path))
    root = path.parent if path.is_file() else path.parent.parent.parent
    return FileLabels(
        root,
        "otrf",
        {k: frozenset(v) for k, v in tactics.items()},
        {k: frozenset(v) for k, v in techniques.items()},
        tuple(skipped),
    )
