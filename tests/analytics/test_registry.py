"""The analytics registry, parameters, config overrides and the detector's bookkeeping."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import polars as pl
import pytest
from analytics_events import at, batch, run

import chainbreaker.detect.analytics as package
from chainbreaker.config import load_config
from chainbreaker.detect.analytics import (
    AnalyticsDetector,
    analytic_class,
    build_analytics,
    registered_analytics,
)
from chainbreaker.errors import ConfigError, UnknownIdError
from chainbreaker.frameworks import KILLCHAIN_PHASES, canonical_tactic

PHASES = {p.id for p in KILLCHAIN_PHASES}


def test_every_module_registers_and_every_entry_is_complete() -> None:
    modules = {p.stem for p in Path(package.__file__).parent.glob("*.py")} - {
        "__init__",
        "base",
        "common",
        "detector",
        "registry",
        "host",
        "network",
    }
    registered = registered_analytics()
    assert modules == {cls.__module__.rsplit(".", 1)[1] for cls in registered}
    assert len(registered) >= 25
    covered = set()
    for cls in registered:
        info = cls.info()
        assert re.fullmatch(r"[a-z][a-z0-9_]+", cls.id), cls.id
        assert set(info["phases"]) <= PHASES and info["phases"], cls.id
        assert all(re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in info["techniques"]), cls.id
        assert all(canonical_tactic(t) == t for t in info["tactics"]), cls.id
        assert info["sources"] and info["description"] and info["name"]
        for param in info["parameters"]:
            assert param["doc"], f"{cls.id}.{param['name']} is undocumented"
        assert dataclasses.is_dataclass(cls.params_type) and cls.params_type.__dataclass_params__.frozen  # type: ignore[attr-defined]
        covered.update(info["phases"])
    assert covered == PHASES - {"weaponization"}


def test_config_overrides_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "chainbreaker.toml"
    path.write_text(
        '[analytics.brute_force]\nmin_failures = 3\nwindow = "10m"\n[analytics.dcsync]\nenabled = false\n'
        "[analytics.logon_fan_out]\nlogon_types = [3, 10, 7]\n"
        '[analytics.beaconing]\nallow_destinations = ["192.0.2.0/24"]\n[correlate]\nwindow = "2h"\n'
    )
    config = load_config(path)
    assert config.section("correlate") == {"window": "2h"} and config.section("assets") == {}
    analytics = {a.id: a for a in build_analytics(config)}
    assert "dcsync" not in analytics
    assert analytics["brute_force"].params.min_failures == 3  # type: ignore[attr-defined]
    assert analytics["beaconing"].params.allow_destinations == ("192.0.2.0/24",)  # type: ignore[attr-defined]
    assert analytics["logon_fan_out"].params.logon_types == ("3", "10", "7")  # type: ignore[attr-defined]
    rows = [
        {
            "timestamp": at(i),
            "source": "linux.auth",
            "user": "root",
            "src_ip": "198.51.100.7",
            "outcome": "failure",
        }
        for i in range(3)
    ]
    detector = AnalyticsDetector([analytics["brute_force"]])
    detector.observe(batch(rows))
    assert [a.count for a in detector.finish()] == [3]
    assert run("brute_force", batch(rows)) == []  # default threshold 10
    for text, message in [
        ("[analytics.brute_force]\nmin_failure = 3\n", "unknown parameter 'min_failure'"),
        ('[analytics.brute_force]\nmin_failures = "3"\n', "expects int"),
        ("[analytics.brute_forse]\n", "unknown analytic 'brute_forse'; did you mean brute_force"),
        ("[analytic]\n", "unknown section"),
        ("[analytics\n", "invalid TOML"),
    ]:
        path.write_text(text)
        with pytest.raises((ConfigError, UnknownIdError), match=re.escape(message)):
            build_analytics(load_config(path))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_detector_skips_missing_sources_and_keeps_only_needed_data() -> None:
    detector = AnalyticsDetector()
    detector.observe(
        batch(
            [
                {"source": "windows.sysmon", "event_code": 1, "process_image": "a.exe", "Unused": "x"},
                {"source": "zeek.weird", "name": "x"},
            ]
        )
    )
    assert set(detector._kept) == {"windows.sysmon"}
    assert "Unused" not in detector._kept["windows.sysmon"][0].columns
    assert detector.finish() == []
    reasons = detector.skipped_reasons()
    assert "beaconing: no suricata.flow / zeek.conn data" in reasons
    assert not any(r.startswith("discovery_burst") for r in reasons)


def test_docs_list_every_analytic() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "ANALYTICS.md").read_text()
    missing = [cls.id for cls in registered_analytics() if f"| `{cls.id}` |" not in docs]
    assert missing == []


def test_a_failing_analytic_does_not_stop_the_others() -> None:
    class Broken(analytic_class("log_cleared")):  # type: ignore[misc,valid-type]
        id = "broken_example"

        def run(self, events: pl.DataFrame) -> pl.DataFrame:
            return events.select(pl.col("no_such_column"))

    detector = AnalyticsDetector([Broken(), analytic_class("log_cleared")()])
    detector.observe(batch([{"source": "windows.security", "event_code": 1102, "host": "ws1"}]))
    assert [a.rule_id for a in detector.finish()] == ["log_cleared"]
    reasons = detector.skipped_reasons()
    assert any(r.startswith("broken_example: failed (ColumnNotFoundError") for r in reasons)
