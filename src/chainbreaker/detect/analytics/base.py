"""The analytic interface: a declared, parameterised, vectorised behavioural detection.

An analytic declares what it detects (kill-chain phases, ATT&CK techniques and tactics), what it
needs (event sources and columns) and its thresholds (a frozen ``Params`` dataclass whose fields
carry defaults and ``metadata={"doc": ...}``). ``run`` receives every kept event of its sources
as one Polars frame and returns a *findings* frame, one row per finding:

=============  ==========================================================================
column         meaning
=============  ==========================================================================
time           first evidence timestamp (Datetime, UTC)
count          number of evidence events
refs           list of ``event_ref`` structs (a sample, at most ``MAX_REFS``)
explanation    why it fired, with the numbers
host, user,    optional entity columns (String)
src_ip, dst_ip
techniques     optional list[str]: overrides the declared techniques for this finding
score          optional float: ranking (beaconing), copied to ``Alert.extra``
=============  ==========================================================================

:mod:`chainbreaker.detect.analytics.detector` turns findings into alerts.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.interest import Where, value_order
from chainbreaker.errors import ConfigError

#: Evidence references cited per alert.
MAX_REFS = 50

#: Columns every analytic receives in addition to the ones it declares.
BASE_COLUMNS: tuple[str, ...] = ("timestamp", "source", "event_ref")

ENTITY_COLUMNS: tuple[str, ...] = ("host", "user", "src_ip", "dst_ip")


@dataclass(frozen=True, slots=True)
class Params:
    """Base of every analytic's thresholds. Subclasses are frozen dataclasses with documented fields."""


def param(default: Any, doc: str) -> Any:
    """A documented parameter: ``threshold: int = param(20, "distinct ports per window")``."""
    if isinstance(default, list | set | dict):
        raise TypeError("use tuples/frozensets for parameter defaults")
    return dataclasses.field(default=default, metadata={"doc": doc})


def describe_params(params: Params) -> list[dict[str, Any]]:
    """Name, value, type and documentation of each parameter (for the CLI and the docs)."""
    return [
        {
            "name": f.name,
            "default": _jsonable(getattr(params, f.name)),
            "type": type(getattr(params, f.name)).__name__,
            "doc": f.metadata.get("doc", ""),
        }
        for f in dataclasses.fields(params)
    ]


def override_params(params: Params, values: dict[str, Any], location: str) -> Params:
    """A copy of ``params`` with ``values`` applied; unknown names or wrong types raise ConfigError."""
    fields = {f.name: f for f in dataclasses.fields(params)}
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name not in fields:
            raise ConfigError(f"unknown parameter {name!r} (known: {', '.join(fields) or 'none'})", location)
        current = getattr(params, name)
        changes[name] = _coerce(name, current, value, location)
    return dataclasses.replace(params, **changes)


def _coerce(name: str, current: Any, value: Any, location: str) -> Any:
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(current, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif isinstance(current, str):
        if isinstance(value, str):
            return value
    elif isinstance(current, tuple | frozenset) and isinstance(value, list | tuple):
        items = [_scalar(name, v, location) for v in value]
        if current:  # follow the default's item type: TOML [3, 10] for a tuple of "3", "10"
            kind = type(next(iter(current)))
            try:
                items = [kind(v) for v in items]
            except ValueError:
                raise ConfigError(f"parameter {name!r} expects {kind.__name__} items", location) from None
        return type(current)(items)
    raise ConfigError(f"parameter {name!r} expects {type(current).__name__}, got {value!r}", location)


def _scalar(name: str, value: Any, location: str) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    raise ConfigError(f"parameter {name!r}: list items must be strings or numbers, got {value!r}", location)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | frozenset):
        return sorted(value) if isinstance(value, frozenset) else list(value)
    return value


class Analytic(ABC):
    """Base class of every analytic; subclasses register with :func:`registry.register`."""

    id: ClassVar[str]  # stable snake_case (a bare TOML key): "vertical_port_scan"
    name: ClassVar[str]
    description: ClassVar[str]  # what it looks for and how it avoids false positives
    phases: ClassVar[tuple[str, ...]]  # Lockheed Martin phase ids (kebab case)
    techniques: ClassVar[tuple[str, ...]]
    tactics: ClassVar[tuple[str, ...]]  # ATT&CK tactic short names
    sources: ClassVar[frozenset[str]]  # event ``source`` values it reads
    columns: ClassVar[tuple[str, ...]]  # columns it reads besides BASE_COLUMNS
    #: Per source, the rows ``run`` reads: ``(column, values)``, those whose column holds one of the
    #: values (``None``: any non-null value), e.g. ``{"windows.security": ("event_code",
    #: frozenset({4624}))}``. A source left out: every row. Only the declared rows are kept for the
    #: analytic, so ``run`` must select no other row (tests/analytics/test_declared_rows.py).
    rows: ClassVar[Mapping[str, Where]] = {}
    level: ClassVar[Level] = Level.medium
    params_type: ClassVar[type[Params]] = Params

    def __init__(self, params: Params | None = None) -> None:
        self.params = params if params is not None else self.params_type()
        if not isinstance(self.params, self.params_type):
            raise TypeError(f"{self.id} expects {self.params_type.__name__}")

    def rows_of(self, source: str) -> Where | None:
        """The rows of ``source`` that ``run`` reads (see ``rows``); None: every row."""
        return self.rows.get(source)

    @abstractmethod
    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        """Findings (see the module docstring) over the whole time line of the needed sources."""

    @classmethod
    def info(cls) -> dict[str, Any]:
        """The registry entry as data (``chainbreaker analytics --format json``)."""
        return {
            "id": cls.id,
            "name": cls.name,
            "phases": list(cls.phases),
            "techniques": list(cls.techniques),
            "tactics": list(cls.tactics),
            "sources": sorted(cls.sources),
            "columns": list(cls.columns),
            "rows": {s: _jsonable_where(w) for s, w in sorted(cls.rows.items())},
            "level": cls.level.name,
            "description": cls.description,
            "parameters": describe_params(cls.params_type()),
        }


def _jsonable_where(where: Where) -> dict[str, Any]:
    column, values = where
    return {"column": column, "values": None if values is None else sorted(values, key=value_order)}


def map_phases(
    techniques: tuple[str, ...], tactics: tuple[str, ...], declared: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(kill-chain phase ids, UKC phase ids) for an alert, via chainbreaker.frameworks.phases_for.

    ``declared`` (the detector's own phase ids) is used when the mapping gives no kill-chain phase.
    """
    try:
        from chainbreaker.frameworks import phases_for
    except ImportError:  # the frameworks package predates phases_for: fall back to the declared phases
        return declared, ()
    killchain, ukc = phases_for(tuple(techniques), tuple(tactics))
    return (tuple(killchain) or declared), tuple(ukc)
