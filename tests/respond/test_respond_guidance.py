from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chainbreaker.alerts import Alert, Level
from chainbreaker.correlate.settings import CorrelateSettings
from chainbreaker.events import EventRef
from chainbreaker.frameworks import KILLCHAIN_PHASES
from chainbreaker.incidents import ModelProgression, PhaseSpan
from chainbreaker.respond import break_at, containment, domains_of, guidance

T0 = datetime(2026, 2, 1, tzinfo=UTC)


def _alert(**kw: object) -> Alert:
    return Alert(
        rule_id=str(kw.pop("rule_id", "r")),
        title="t",
        level=Level.high,
        detector="sigma",
        time=T0,
        event_refs=(EventRef("f", 1),),
        **kw,  # type: ignore[arg-type]
    )


def _progression(*phases: str) -> ModelProgression:
    spans = tuple(
        PhaseSpan(p, T0 + timedelta(minutes=i), T0 + timedelta(minutes=i), 1) for i, p in enumerate(phases)
    )
    return ModelProgression("killchain", spans, phases[-1] if phases else None, phases, 7)


def test_break_at_is_the_earliest_phase_in_chain_order() -> None:
    assert break_at(_progression("exploitation", "command-and-control")) == "exploitation"
    assert break_at(_progression()) is None


def test_guidance_uses_the_frameworks_table() -> None:
    table = {p.id: p.countermeasures for p in KILLCHAIN_PHASES}
    out = guidance(_progression("delivery", "actions-on-objectives"))
    assert [g.phase for g in out] == ["delivery", "actions-on-objectives"]
    assert out[0].countermeasures == table["delivery"]
    assert out[1].first_seen == T0 + timedelta(minutes=1)


def test_domains_come_from_matched_fields_and_intel() -> None:
    alerts = [
        _alert(matched=(("QueryName", "Bad.Example.COM."), ("Image", "c:\\x.exe"))),
        _alert(matched=(("query", "fileserver.corp.local"),)),  # internal suffix: not blocked
        _alert(matched=(("query", "<script>.example"),)),  # not a domain name
        _alert(extra={"indicator": "evil.example.net", "indicator_type": "domain"}),
    ]
    assert domains_of(alerts) == ("bad.example.com", "evil.example.net")


def test_containment_blocks_only_external_addresses() -> None:
    settings = CorrelateSettings.from_mapping(
        {"correlate": {"internal_networks": ["10.0.0.0/8", "198.51.100.0/24"]}}
    )
    out = containment(
        [_alert()],
        ["WKS-1"],
        ["CORP\\bob"],
        ["10.0.0.5", "198.51.100.7", "203.0.113.9"],
        settings,
        ["10.0.0.99"],
    )
    assert out.addresses == ("203.0.113.9",)
    assert out.hosts == ("10.0.0.99", "WKS-1")
    assert out.accounts == ("CORP\\bob",)
