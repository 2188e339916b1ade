"""Indicator loading (STIX 2.1 via stix2-patterns, MISP, CSV, text) and vectorised matching."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import stix2

from chainbreaker.detect.intel import IntelDetector, load_indicators
from chainbreaker.errors import ConfigError
from chainbreaker.events import conform

T = datetime(2024, 5, 1, tzinfo=UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def stix_bundle() -> str:
    """A bundle made with the stix2 library itself, so the loader reads what real producers write."""
    phase = stix2.KillChainPhase(kill_chain_name="lockheed-martin-cyber-kill-chain", phase_name="delivery")
    objects = [
        stix2.Indicator(
            name="payload",
            pattern=f"[file:hashes.'SHA-256' = '{SHA}']",
            pattern_type="stix",
            confidence=85,
            kill_chain_phases=[phase],
        ),
        stix2.Indicator(
            name="c2",
            pattern="[domain-name:value = 'evil.example'] OR [ipv4-addr:value = '198.51.100.0/24']",
            pattern_type="stix",
        ),
        stix2.Indicator(name="drop", pattern="[url:value = 'http://dl.example/a.exe']", pattern_type="stix"),
        stix2.Indicator(name="yara", pattern="rule x { condition: true }", pattern_type="yara"),
    ]
    return stix2.Bundle(objects=objects).serialize()


def misp_event() -> dict:
    return {
        "Event": {
            "info": "campaign",
            "threat_level_id": "1",
            "Orgc": {"name": "CERT-X"},
            "Attribute": [
                {"type": "ip-dst|port", "value": "203.0.113.9|443", "category": "Network activity"},
                {"type": "ja3-fingerprint-md5", "value": "E7D705A3286E19EA42F587B344EE6865"},
            ],
            "Object": [
                {
                    "Attribute": [
                        {
                            "type": "filename|sha1",
                            "category": "Payload installation",
                            "value": "Dropper.EXE|da39a3ee5e6b4b0d3255bfef95601890afd80709",
                        }
                    ]
                }
            ],
        }
    }


@pytest.fixture
def feeds(tmp_path: Path) -> list[Path]:
    (tmp_path / "bundle.json").write_text(stix_bundle())
    (tmp_path / "misp.json").write_text(json.dumps(misp_event()))
    (tmp_path / "feed.csv").write_text(
        "type,value,confidence,source\nip-src,192.0.2.66,20,honeypot\nhostname,Bad-Host.example,70,partner\n"
    )
    (tmp_path / "list.txt").write_text("# blocklist\n10.66.0.0/16\nmalicious.example  # old\n\n")
    return sorted(tmp_path.iterdir())


def test_loaders_read_every_format(feeds: list[Path]) -> None:
    table = load_indicators(feeds)
    got = {(r["kind"], r["value"]): r for r in table.iter_rows(named=True)}
    assert set(got) == {
        ("sha256", SHA),
        ("domain", "evil.example"),
        ("cidr", "198.51.100.0/24"),
        ("url", "dl.example/a.exe"),
        ("ip", "203.0.113.9"),
        ("ja3", "e7d705a3286e19ea42f587b344ee6865"),
        ("filename", "dropper.exe"),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("ip", "192.0.2.66"),
        ("domain", "bad-host.example"),
        ("cidr", "10.66.0.0/16"),
        ("domain", "malicious.example"),
    }
    assert got[("sha256", SHA)]["confidence"] == 85 and got[("sha256", SHA)]["phase"] == "delivery"
    assert (
        got[("ip", "203.0.113.9")]["source"] == "MISP CERT-X"
        and got[("ip", "203.0.113.9")]["confidence"] == 90
    )
    assert got[("filename", "dropper.exe")]["phase"] == "installation"
    assert got[("ip", "192.0.2.66")]["source"] == "honeypot" and got[("ip", "192.0.2.66")]["confidence"] == 20


def test_bad_feeds_raise_with_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    indicator = {"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = ]"}
    bad.write_text(json.dumps({"type": "bundle", "objects": [indicator]}))
    with pytest.raises(ConfigError, match=r"bad STIX pattern.*bad\.json"):
        load_indicators([bad])
    bad.write_text('{"hello": 1}')
    with pytest.raises(ConfigError, match=r"neither a STIX 2\.1 bundle nor a MISP"):
        load_indicators([bad])


def events() -> pl.DataFrame:
    rows = [
        {"source": "zeek.dns", "src_ip": "10.1.1.1", "dst_ip": "10.1.1.53", "query": "a.b.Evil.Example."},
        {"source": "zeek.dns", "src_ip": "10.1.1.1", "dst_ip": "10.1.1.53", "query": "notevil.example"},
        {"source": "zeek.conn", "src_ip": "10.66.3.4", "dst_ip": "198.51.100.77"},
        {"source": "zeek.conn", "src_ip": "10.67.3.4", "dst_ip": "198.51.101.77"},
        {
            "source": "zeek.http",
            "src_ip": "10.1.1.2",
            "dst_ip": "192.0.2.1",
            "raw.host": "dl.example",
            "uri": "/a.exe",
        },
        {
            "source": "zeek.ssl",
            "src_ip": "10.1.1.2",
            "dst_ip": "192.0.2.1",
            "ja3": "e7d705a3286e19ea42f587b344ee6865",
        },
        {
            "source": "windows.sysmon",
            "host": "ws1",
            "process_image": r"C:\Users\x\DROPPER.exe",
            "Hashes": f"MD5=00000000000000000000000000000000,SHA256={SHA.upper()},IMPHASH=00",
        },
    ]
    return conform(
        pl.DataFrame(
            [{**r, "timestamp": T, "event_ref": {"file": "f", "record": i}} for i, r in enumerate(rows)]
        )
    )


def test_matching_every_kind(feeds: list[Path]) -> None:
    detector = IntelDetector(load_indicators(feeds))
    alerts = detector.observe(events())
    found = sorted((a.rule_id, a.matched[0][0], a.matched[0][1], a.event_refs[0].record) for a in alerts)
    assert found == [
        ("intel.cidr", "dst_ip", "198.51.100.77", 2),
        ("intel.cidr", "src_ip", "10.66.3.4", 2),
        ("intel.domain", "query", "a.b.evil.example", 0),
        ("intel.filename", "process_image", "dropper.exe", 6),
        ("intel.ja3", "ja3", "e7d705a3286e19ea42f587b344ee6865", 5),
        ("intel.sha256", "Hashes", SHA, 6),
        ("intel.url", "url", "dl.example/a.exe", 4),
    ]
    sha = next(a for a in alerts if a.rule_id == "intel.sha256")
    assert sha.detector == "intel" and sha.level.name == "high" and sha.killchain_phases == ("delivery",)
    assert sha.extra["source"] == "bundle.json" and sha.extra["confidence"] == 85 and sha.host == "ws1"
    assert next(a for a in alerts if a.rule_id == "intel.domain").killchain_phases == ("command-and-control",)


def test_one_million_indicators(tmp_path: Path) -> None:
    """A million generated indicators load and match (timing: bench/bench_intel.py)."""
    n = 1_000_000
    values = pl.select(pl.int_range(0, n, eager=True).alias("i")).with_columns(
        pl.when(pl.col("i") % 2 == 0)
        .then(
            pl.format(
                "10.{}.{}.{}", (pl.col("i") // 65536) % 256, (pl.col("i") // 256) % 256, pl.col("i") % 256
            )
        )
        .otherwise(pl.format("host{}.bad-example.net", pl.col("i")))
        .alias("value")
    )
    path = tmp_path / "million.txt"
    values.select("value").write_csv(path, include_header=False)
    table = load_indicators([path])
    assert table.height == n and set(table.get_column("kind").unique()) == {"ip", "domain"}
    detector = IntelDetector(table)
    batch = conform(
        pl.DataFrame(
            [
                {
                    "timestamp": T,
                    "source": "zeek.conn",
                    "src_ip": "10.0.1.2",
                    "dst_ip": "10.3.2.2",
                    "event_ref": {"file": "c", "record": 1},
                },
                {
                    "timestamp": T,
                    "source": "zeek.dns",
                    "src_ip": "10.0.1.3",
                    "query": "x.host7.bad-example.net",
                    "event_ref": {"file": "d", "record": 2},
                },
                {
                    "timestamp": T,
                    "source": "zeek.dns",
                    "src_ip": "10.0.1.3",
                    "query": "host8.bad-example.net",
                    "event_ref": {"file": "d", "record": 3},
                },
            ]
        )
    )
    hits = sorted(a.matched[0][1] for a in detector.observe(batch))
    assert hits == ["10.0.1.2", "10.3.2.2", "x.host7.bad-example.net"]
