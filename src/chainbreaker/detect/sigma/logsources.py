"""Sigma log sources -> the partitions of a batch a rule runs on (data in data/logsources.yml).

A batch is split once by its ``(source, channel, event_code)`` normalised columns; a
:class:`Target` says which of those partitions belong to a Sigma ``product/category/service``,
which column holds each Sigma field there (Security 4688 ``NewProcessName`` is ``Image``) and,
where one event id carries several categories, which rows of the partition are the category's
own (Sysmon 12 is ``registry_add`` where ``EventType`` is ``CreateKey``): its row condition,
which :meth:`CompiledRule.compiled_for <chainbreaker.detect.sigma.rules.CompiledRule.compiled_for>`
adds to the rule's condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # pySigma is imported where rules are compiled, never in the reader workers
    from sigma.rule import SigmaLogSource

#: Key of data/logsources.yml for rules without a product (``category: webserver``...).
NO_PRODUCT = "_no_product"

#: (source, channel, event_code) of one partition of a batch.
PartitionKey = tuple[str | None, str | None, int | None]


@dataclass(frozen=True, slots=True)
class Target:
    """One kind of event a log source maps to, and its field names."""

    channels: frozenset[str] = frozenset()  # lower-cased
    event_ids: frozenset[int] = frozenset()
    source: str | None = None
    source_prefix: str | None = None
    programs: frozenset[str] = frozenset()  # lower-cased syslog programs (the channel column)
    fields: tuple[tuple[str, str], ...] = field(default=())
    #: Row condition: (column, accepted values) pairs, all of which must hold; a value is compared
    #: case-insensitively (stored lower-cased) and the column is the event's own name (not renamed).
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def matches(self, key: PartitionKey) -> bool:
        """Whether partitions with this key hold the target's events (``where`` then picks rows)."""
        source, channel, event_code = key
        if self.source is not None and source != self.source:
            return False
        if self.source_prefix is not None and not (source or "").startswith(self.source_prefix):
            return False
        if self.channels and (channel or "").lower() not in self.channels:
            return False
        if self.programs and (channel or "").lower() not in self.programs:
            return False
        return not self.event_ids or event_code in self.event_ids

    @property
    def field_map(self) -> dict[str, str]:
        return dict(self.fields)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _target(spec: dict[str, Any]) -> Target:
    return Target(
        channels=frozenset(str(c).lower() for c in _as_list(spec.get("channel"))),
        event_ids=frozenset(int(e) for e in _as_list(spec.get("event_ids"))),
        source=spec.get("source"),
        source_prefix=spec.get("source_prefix"),
        programs=frozenset(str(p).lower() for p in _as_list(spec.get("program"))),
        fields=tuple(sorted((spec.get("fields") or {}).items())),
        where=tuple(
            (str(column), tuple(sorted({str(v).lower() for v in _as_list(values)})))
            for column, values in sorted((spec.get("where") or {}).items())
        ),
    )


@cache
def _mapping() -> dict[str, Any]:
    text = resources.files("chainbreaker.detect.sigma").joinpath("data/logsources.yml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def targets_for(logsource: SigmaLogSource) -> tuple[Target, ...]:
    """The targets of a rule's log source; empty when chainbreaker reads no such events."""
    return _targets(logsource.product, logsource.category, logsource.service)


@cache
def _targets(product: str | None, category: str | None, service: str | None) -> tuple[Target, ...]:
    product_spec = _mapping().get(product or NO_PRODUCT)
    if product_spec is None:
        return ()
    if category:
        specs = (product_spec.get("category") or {}).get(category)
        return tuple(_target(s) for s in specs) if specs else ()
    if service:
        specs = (product_spec.get("service") or {}).get(service)
        if specs:
            return tuple(_target(s) for s in specs)
        from sigma.pipelines.common import windows_logsource_mapping

        if product == "windows" and service in windows_logsource_mapping:
            return (_target({"channel": windows_logsource_mapping[service]}),)
        prefix = product_spec.get("service_from_source")
        return (Target(source=prefix + service),) if prefix else ()
    return tuple(_target(s) for s in product_spec.get("product") or [])


def describe(logsource: SigmaLogSource) -> str:
    parts = [f"{k}:{v}" for k, v in (("product", logsource.product), ("category", logsource.category),
                                     ("service", logsource.service)) if v]  # fmt: skip
    return " ".join(parts) or "(empty)"
