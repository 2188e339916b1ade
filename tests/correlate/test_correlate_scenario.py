"""A small multi-host, multi-source intrusion built here, correlated end to end.

Phishing (Sysmon, WKS-05) -> C2 beacon seen only by Zeek on 10.0.0.5 -> credential theft on WKS-05
-> lateral movement to FS-01 by the same account -> encryption on FS-01. A logon batch teaches that
10.0.0.5 is WKS-05. Unrelated low alerts on another host must not open an incident.
"""

from __future__ import annotations

import random
from datetime import timedelta

import polars as pl
from store_scenario import T0, make_alert

from chainbreaker.alerts import Alert, Level
from chainbreaker.correlate import EntityLearner, EntityLinks, build_incidents
from chainbreaker.events import conform


def scenario_alerts() -> list[Alert]:
    alerts = [
        make_alert(
            "phish-attachment",
            Level.medium,
            0,
            ["attack.initial-access", "attack.t1566.001"],
            host="WKS-05.corp.example",
            user="CORP\\alice",
            process_guid="{AAAA-1}",
        ),
        make_alert(
            "c2-beacon",
            Level.high,
            10,
            ["attack.command-and-control", "attack.t1071.001"],
            detector="analytic",
            src_ip="10.0.0.5",
            dst_ip="203.0.113.50",
            matched=(("server_name", "update.evil-c2.example"),),
            file="conn.log",
        ),
        make_alert(
            "lsass-access",
            Level.critical,
            40,
            ["attack.credential-access", "attack.t1003.001"],
            host="wks-05",
            user="alice@corp.example",
            process_guid="{AAAA-2}",
            parent_process_guid="{AAAA-1}",
        ),
        make_alert(
            "smb-admin-share",
            Level.high,
            55,
            ["attack.lateral-movement", "attack.t1021.002"],
            host="FS-01",
            user="CORP\\alice",
        ),
        make_alert(
            "ransom-encrypt",
            Level.critical,
            120,
            ["attack.impact", "attack.t1486"],
            host="FS-01",
            user="CORP\\alice",
        ),
        # The same credential rule hitting again within minutes: one finding, count 3.
        make_alert(
            "lsass-access",
            Level.critical,
            42,
            ["attack.credential-access", "attack.t1003.001"],
            host="WKS-05",
            user="CORP\\alice",
        ),
        make_alert(
            "lsass-access",
            Level.critical,
            45,
            ["attack.credential-access", "attack.t1003.001"],
            host="WKS-05",
            user="CORP\\alice",
        ),
        # A low alert on WKS-05 joins the incident; it opens nothing by itself.
        make_alert(
            "whoami", Level.low, 30, ["attack.discovery", "attack.t1033"], host="WKS-05", user="CORP\\alice"
        ),
        # Unrelated low noise on another host, another account: no incident.
        make_alert(
            "noisy-low", Level.low, 20, ["attack.discovery", "attack.t1082"], host="KIOSK-9", user="CORP\\bob"
        ),
        make_alert(
            "noisy-low", Level.informational, 25, ["attack.discovery"], host="KIOSK-9", user="CORP\\bob"
        ),
    ]
    return alerts


def logon_batch() -> pl.DataFrame:
    """Security 4624 on FS-01: a network logon from WKS-05 at 10.0.0.5 (plus a loopback logon)."""
    rows = {
        "timestamp": [T0 + timedelta(minutes=54), T0 + timedelta(minutes=50)],
        "source": ["windows.security", "windows.security"],
        "host": ["FS-01.corp.example", "FS-01.corp.example"],
        "event_code": [4624, 4624],
        "IpAddress": ["10.0.0.5", "127.0.0.1"],
        "WorkstationName": ["WKS-05", "FS-01"],
        "user": ["alice", "SYSTEM"],
    }
    return conform(pl.DataFrame(rows))


def learnt_links() -> EntityLinks:
    learner = EntityLearner()
    learner.observe(logon_batch())
    return learner.links


def test_scenario_is_one_incident_across_two_hosts() -> None:
    incidents = build_incidents(scenario_alerts(), learnt_links(), {})
    assert len(incidents) == 1
    inc = incidents[0]
    assert sorted(inc.hosts) == ["FS-01", "WKS-05"]
    assert inc.users == ("CORP\\alice",)
    assert inc.killchain_phases == ("delivery", "command-and-control", "actions-on-objectives")
    assert inc.progression.killchain.path == ("delivery", "command-and-control", "actions-on-objectives")
    assert inc.progression.killchain.furthest == "actions-on-objectives"
    assert inc.progression.attack.path == (
        "initial-access",
        "command-and-control",
        "discovery",
        "credential-access",
        "lateral-movement",
        "impact",
    )
    assert inc.progression.ukc.path[:2] == ("delivery", "social-engineering")
    assert inc.progression.ukc.path[-1] in {"impact", "objectives"}
    assert inc.dwell_seconds == 120 * 60
    assert inc.progression.seconds_to_first_high == 10 * 60
    assert inc.break_at == "delivery"
    assert inc.first_seen == T0 and inc.last_seen == T0 + timedelta(minutes=120)
    noisy = {a.id for a in scenario_alerts() if a.rule_id == "noisy-low"}
    assert noisy.isdisjoint(inc.alert_ids)
    assert len(inc.alert_ids) == 8


def test_repeated_hits_fold_into_one_finding() -> None:
    inc = build_incidents(scenario_alerts(), learnt_links(), {})[0]
    lsass = [f for f in inc.findings if f.rule_id == "lsass-access"]
    assert len(lsass) == 1
    assert lsass[0].count == 3
    assert lsass[0].first_seen == T0 + timedelta(minutes=40)
    assert lsass[0].last_seen == T0 + timedelta(minutes=45)
    assert lsass[0].entity == "host:wks-05"
    # With a short finding window the third hit (3 minutes after the second) still folds, but a
    # one-minute window splits them.
    split = build_incidents(scenario_alerts(), learnt_links(), {"correlate": {"finding_window": "1m"}})[0]
    assert len([f for f in split.findings if f.rule_id == "lsass-access"]) == 3


def test_c2_alert_joins_only_through_learnt_address() -> None:
    without = build_incidents(scenario_alerts(), EntityLinks(), {})
    c2 = next(a for a in scenario_alerts() if a.rule_id == "c2-beacon")
    assert len(without) == 2  # the beacon on 10.0.0.5 stands alone without the logon batch
    alone = next(i for i in without if c2.id in i.alert_ids)
    assert alone.hosts == () and alone.addresses == ("10.0.0.5", "203.0.113.50")
    assert alone.containment.hosts == ("10.0.0.5",)
    joined = build_incidents(scenario_alerts(), learnt_links(), {})[0]
    assert c2.id in joined.alert_ids


def test_ids_are_stable_and_order_independent() -> None:
    first = [i.as_dict() for i in build_incidents(scenario_alerts(), learnt_links(), {})]
    shuffled = scenario_alerts()
    random.Random(7).shuffle(shuffled)
    second = [i.as_dict() for i in build_incidents(shuffled, learnt_links(), {})]
    assert first == second
    assert first[0]["id"].startswith("INC-")


def test_low_alerts_open_an_incident_when_min_level_allows() -> None:
    incidents = build_incidents(
        scenario_alerts(), learnt_links(), {"correlate": {"min_level": "informational"}}
    )
    assert len(incidents) == 2
    kiosk = next(i for i in incidents if i.hosts == ("KIOSK-9",))
    assert kiosk.score < incidents[0].score
    assert len(kiosk.findings) == 1 and kiosk.findings[0].count == 2


def test_window_splits_distant_activity() -> None:
    # With a 20-minute window the FS-01 encryption (65 minutes after the lateral movement) splits off.
    incidents = build_incidents(scenario_alerts(), learnt_links(), {"correlate": {"window": "20m"}})
    assert len(incidents) == 2
    assert {i.hosts for i in incidents} == {("WKS-05", "FS-01"), ("FS-01",)}


def test_containment_and_countermeasures() -> None:
    inc = build_incidents(scenario_alerts(), learnt_links(), {})[0]
    assert inc.containment.hosts == ("FS-01", "WKS-05")
    assert inc.containment.accounts == ("CORP\\alice",)
    assert inc.containment.addresses == ("203.0.113.50",)
    assert inc.containment.domains == ("update.evil-c2.example",)
    assert [c.phase for c in inc.countermeasures] == list(inc.killchain_phases)
    assert all(c.countermeasures for c in inc.countermeasures)


def test_score_is_explained_and_crown_jewels_count() -> None:
    inc = build_incidents(scenario_alerts(), learnt_links(), {})[0]
    assert inc.score == round(sum(t.points for t in inc.score_explanation))
    terms = {t.term: t.points for t in inc.score_explanation}
    assert terms["severity"] == 30 and terms["phases"] == 12 and "crown_jewels" not in terms
    jewel = build_incidents(scenario_alerts(), learnt_links(), {"assets": {"crown_jewels": ["fs-*"]}})[0]
    assert jewel.score == min(100, inc.score + 15)
    assert any(t.term == "crown_jewels" and "FS-01" in t.detail for t in jewel.score_explanation)


def test_as_dict_has_the_documented_keys() -> None:
    doc = build_incidents(scenario_alerts(), learnt_links(), {})[0].as_dict()
    for key in (
        "id",
        "score",
        "hosts",
        "users",
        "addresses",
        "killchain_phases",
        "ukc_phases",
        "tactics",
        "first_seen",
        "last_seen",
        "dwell_seconds",
        "alert_ids",
        "break_at",
        "findings",
        "progression",
        "score_explanation",
        "countermeasures",
        "containment",
    ):
        assert key in doc
    assert doc["first_seen"] == "2026-03-02T08:00:00Z"


def test_pipeline_hooks_learn_from_batches_and_fill_incidents() -> None:
    from types import SimpleNamespace

    from chainbreaker.correlate.hooks import LinkLearner, correlation_step

    learner = LinkLearner()
    assert learner.observe(logon_batch()) == []  # learns, raises nothing
    result = SimpleNamespace(alerts=scenario_alerts(), incidents=[])
    correlation_step(learner, {"correlate": {"window": "12h"}})(result)
    assert len(result.incidents) == 1
    assert sorted(result.incidents[0]["hosts"]) == ["FS-01", "WKS-05"]


def test_summary_renders_bars_and_findings() -> None:
    from rich.console import Console

    from chainbreaker.correlate import killchain_bar, render_incidents

    assert killchain_bar(["delivery", "actions-on-objectives"]) == "□□■□□□■"
    incidents = build_incidents(scenario_alerts(), learnt_links(), {})
    console = Console(width=200, record=True)
    console.print(render_incidents(incidents))
    text = console.export_text()
    assert "□□■□□■■" in text and "lsass-access (wks-05) x3" in text and incidents[0].id in text
    console.print(render_incidents([i.as_dict() for i in incidents]))
    assert console.export_text() == text  # dicts from a result document render the same


def test_process_tree_links_parent_and_child_but_not_siblings() -> None:
    def on_host(rule: str, minutes: float, guid: str, parent: str) -> Alert:
        return make_alert(
            rule, Level.high, minutes, ["attack.execution", "attack.t1059.001"],
            host="SRV-9", process_guid=guid, parent_process_guid=parent,
        )  # fmt: skip

    day = 24 * 60
    parent = on_host("service-spawned-shell", 0, "{P-1}", "{SERVICES}")
    child = on_host("encoded-powershell", 2 * day, "{C-1}", "{P-1}")  # days later, same process tree
    sibling = on_host("other-service-shell", 2.5 * day, "{S-2}", "{SERVICES}")  # shares only the parent
    reverted = on_host("snapshot-again", 60 * day, "{P-1}", "{SERVICES}")  # the guid again, 2 months on
    zero = on_host("zero-guid", 2.6 * day, "{00000000-0000-0000-0000-000000000000}", "{C-9}")
    alerts = [parent, child, sibling, reverted, zero]
    incidents = build_incidents(alerts, EntityLinks(), {"correlate": {"window": "1h"}})
    groups = sorted(sorted(i.alert_ids) for i in incidents)
    expected = [sorted([parent.id, child.id]), [sibling.id], [reverted.id], [zero.id]]
    assert groups == sorted(expected)
    off = build_incidents(
        [parent, child], EntityLinks(), {"correlate": {"window": "1h", "process_trees": False}}
    )
    assert len(off) == 2


def test_ignored_addresses_do_not_link_hosts() -> None:
    def dns_alert(host: str, minutes: float) -> Alert:
        return make_alert(
            "dns-tunnel", Level.high, minutes, ["attack.command-and-control", "attack.t1071.004"],
            host=host, dst_ip="10.0.0.2",
        )  # fmt: skip

    alerts = [dns_alert("WKS-1", 0), dns_alert("WKS-2", 5)]
    assert len(build_incidents(alerts, EntityLinks(), {})) == 1  # the resolver address links them
    ignored = build_incidents(alerts, EntityLinks(), {"correlate": {"ignore_addresses": ["10.0.0.2/32"]}})
    assert len(ignored) == 2
    assert all(i.addresses == ("10.0.0.2",) for i in ignored)


def test_loopback_addresses_never_link_hosts() -> None:
    def rdp(host: str, minutes: float) -> Alert:
        return make_alert(
            "rdp-from-localhost", Level.high, minutes, ["attack.lateral-movement", "attack.t1021.001"],
            host=host, src_ip="127.0.0.1",
        )  # fmt: skip

    incidents = build_incidents([rdp("PC-1", 0), rdp("PC-2", 1)], EntityLinks(), {})
    assert len(incidents) == 2 and all(i.addresses == () for i in incidents)


def test_local_accounts_are_named_with_their_host() -> None:
    alerts = [
        make_alert("admin-share", Level.high, 0, ["attack.t1021.002"], host="PC-1.corp.example",
                   user="Administrator", src_ip="10.9.0.2"),
        make_alert("admin-share", Level.high, 5, ["attack.t1021.002"], host="PC-2", user="Administrator",
                   src_ip="10.9.0.2"),
    ]  # fmt: skip
    (incident,) = build_incidents(alerts, EntityLinks(), {})  # linked by the shared source address
    assert incident.users == ("PC-1\\Administrator", "PC-2\\Administrator")
    assert incident.containment.accounts == ("PC-1\\Administrator", "PC-2\\Administrator")


def test_settings_from_the_config_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from chainbreaker.config import load_config

    path = tmp_path / "chainbreaker.toml"
    path.write_text(
        '[correlate]\nwindow = "20m"\nmin_level = "medium"\n\n[assets]\ncrown_jewels = ["fs-*"]\n'
    )
    config = load_config(path)
    incidents = build_incidents(scenario_alerts(), learnt_links(), config.data)
    assert len(incidents) == 2  # as with the same window given as a dict
    assert any(t.term == "crown_jewels" for i in incidents for t in i.score_explanation)
