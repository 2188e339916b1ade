"""Webserver Sigma rules end to end: log lines written here -> the web log readers -> the Sigma engine.

Covers the ``category: webserver`` log-source mapping (cs-uri-query read from c-uri), the shipped
rules under rules/sigma/web (a positive and a near-miss negative each), SigmaHQ's rules/web
loading, and SigmaHQ's product-less ``category: dns`` mapping on Zeek-shaped DNS events.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from chainbreaker.detect.sigma.engine import SigmaEngine
from chainbreaker.detect.sigma.loader import load_rules
from chainbreaker.detect.sigma.rules import RuleSet
from chainbreaker.events import concat, conform
from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers.registry import reader_for

WEB_RULES = Path(str(resources.files("chainbreaker") / "rules" / "sigma" / "web"))

IIS_HEADER = [
    "#Software: Microsoft Internet Information Services 10.0",
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent)"
    " sc-status",
]


def _events(tmp_path: Path, name: str, lines: list[str]) -> pl.DataFrame:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    file = InputFile(path)
    reader = reader_for(file)
    assert reader is not None
    report = ReadReport()
    batch = concat(list(reader.read(file, report)))
    assert report.records == len([line for line in lines if not line.startswith("#")])
    return batch


def _fired(ruleset: RuleSet, batch: pl.DataFrame) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for match in SigmaEngine(ruleset.rules).matches(batch):
        if match.rows.height:
            records = match.rows.get_column("event_ref").struct.field("record").to_list()
            out[match.rule.name or str(match.rule.id)] = sorted(records)
    return out


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules([WEB_RULES], use_cache=False)


def test_shipped_web_rules_load(shipped: RuleSet) -> None:
    report = shipped.report()
    assert report["loaded"] == len(list(WEB_RULES.glob("*.yml"))) >= 2
    assert report["failed"] == 0 and report["unsupported"] == 0


def test_tunnel_request_positive_and_near_misses(tmp_path: Path, shipped: RuleSet) -> None:
    iis = [
        *IIS_HEADER,
        "2024-05-01 09:00:01 10.0.0.5 GET /app/relay.aspx proxy&port=3389&ip=10.1.2.3 80 - 192.0.2.10 - 200",
        "2024-05-01 09:00:02 10.0.0.5 GET /app/r.php cmd=connect&host=db01&port=445 80 - 192.0.2.10 - 200",
        # near misses: a web port; an admin port without a target; a target and port on a static file
        "2024-05-01 09:00:03 10.0.0.5 GET /app/status.aspx port=8080&host=build 80 - 192.0.2.10 - 200",
        "2024-05-01 09:00:04 10.0.0.5 GET /app/relay.aspx port=3389 80 - 192.0.2.10 - 200",
        "2024-05-01 09:00:05 10.0.0.5 GET /docs/rdp.html ip=10.1.2.3&port=3389 80 - 192.0.2.10 - 200",
        "2024-05-01 09:00:06 10.0.0.5 GET /app/a.aspx airport=3389&ip=1 80 - 192.0.2.10 - 200",
    ]
    fired = _fired(shipped, _events(tmp_path, "u_ex1.log", iis))
    assert fired == {"web_webshell_tcp_tunnel_request": [3, 4]}


def test_tomcat_deploy_positive_and_near_misses(tmp_path: Path, shipped: RuleSet) -> None:
    access = [
        '192.0.2.7 - admin [01/May/2024:09:00:00 +0000] "POST /manager/html/upload?nonce=1 HTTP/1.1" 200 193',
        '192.0.2.7 - admin [01/May/2024:09:00:01 +0000] "PUT /manager/text/deploy?path=/app HTTP/1.1" 200 40',
        # near misses: a refused upload, the manager's listing page
        '192.0.2.7 - - [01/May/2024:09:00:02 +0000] "POST /manager/html/upload?nonce=1 HTTP/1.1" 401 2550',
        '192.0.2.7 - admin [01/May/2024:09:00:03 +0000] "GET /manager/html HTTP/1.1" 200 17577',
    ]
    fired = _fired(shipped, _events(tmp_path, "access.log", access))
    assert fired == {"web_tomcat_manager_deploy": [1, 2]}


@pytest.fixture(scope="module")
def sigmahq_web(dataset: Callable[[str], Path]) -> RuleSet:
    return load_rules([dataset("sigma") / "sigma" / "rules" / "web"], use_cache=False)


def test_sigmahq_web_rules_load(sigmahq_web: RuleSet) -> None:
    report = sigmahq_web.report()
    logsources = [r.logsource for r in sigmahq_web.rules]
    webserver = [ls for ls in logsources if ls[1] == "webserver"]
    error_logs = [ls for ls in logsources if ls[2] in ("apache", "nginx")]
    assert report["failed"] == 0
    # Every webserver rule and every apache/nginx (error log) rule loads; only proxy rules do not.
    assert len(webserver) >= 13 and len(error_logs) >= 3
    assert report["loaded"] == len(webserver) + len(error_logs)
    reasons = {u["reason"] for u in report["unsupported_rules"]}
    assert reasons == {"unsupported: no source for category:proxy"}


def test_sigmahq_error_log_rules_fire(tmp_path: Path, sigmahq_web: RuleSet) -> None:
    lines = [
        "[Sun Dec 04 04:47:45 2005] [notice] child pid 1234 exit signal Segmentation fault (11)",
        "[Sun Dec 04 04:47:46 2005] [notice] child pid 1235 exit signal Terminated (15)",  # near miss
    ]
    nginx = [
        "2024/05/01 09:00:01 [alert] 1#1: worker process 99 exited on signal 6 (core dumped)",
        "2024/05/01 09:00:02 [notice] 1#1: worker process 98 exited with code 0",  # near miss
    ]
    fired = _fired(
        sigmahq_web, concat([_events(tmp_path, "error_log", lines), _events(tmp_path, "e.log", nginx)])
    )
    by_title = {r.name or str(r.id): r.title for r in sigmahq_web.rules}
    assert {by_title[k]: v for k, v in fired.items()} == {
        "Apache Segmentation Fault": [1],
        "Nginx Core Dump": [1],
    }


def test_sigmahq_webserver_rules_fire_on_access_lines(tmp_path: Path, sigmahq_web: RuleSet) -> None:
    access = [
        '192.0.2.9 - - [01/May/2024:09:00:00 +0000] "GET /index.php?page=../../../etc/passwd HTTP/1.1" 200 1',
        '192.0.2.9 - - [01/May/2024:09:00:01 +0000] "GET /static/../../../etc/shadow HTTP/1.1" 404 10',
        '192.0.2.9 - - [01/May/2024:09:00:02 +0000] "GET /item.php?id=1+union+select+1,2 HTTP/1.1" 200 10',
        '192.0.2.9 - - [01/May/2024:09:00:03 +0000] "GET /index.php?page=etc/passwd HTTP/1.1" 200 10',
    ]
    batch = _events(tmp_path, "access.log", access)
    titles = {
        m.rule.title: sorted(m.rows.get_column("event_ref").struct.field("record").to_list())
        for m in SigmaEngine(sigmahq_web.rules).matches(batch)
        if m.rows.height
    }
    # Traversal in the query and in the path (cs-uri-query is read from c-uri); line 4 is a near miss.
    assert titles["Path Traversal Exploitation Attempts"] == [1, 2]
    assert all(4 not in records for records in titles.values())


def test_sigmahq_dns_category_on_zeek_dns_events(dataset: Callable[[str], Path]) -> None:
    folder = dataset("sigma") / "sigma" / "rules" / "network" / "dns"
    ruleset = load_rules([folder / "net_dns_susp_txt_exec_strings.yml"], use_cache=False)
    assert ruleset.report()["loaded"] == 1
    rows = [
        {"qtype_name": "TXT", "query": "a.example.org", "answers": "TXT 20 powershell -c IEX $x"},
        {"qtype_name": "TXT", "query": "b.example.org", "answers": "TXT 14 v=spf1 -all"},
        {"qtype_name": "A", "query": "c.example.org", "answers": "192.0.2.1"},
    ]
    batch = conform(
        pl.DataFrame(rows).with_columns(
            pl.lit("zeek.dns").alias("source"),
            pl.lit("dns").alias("channel"),
            pl.struct(file=pl.lit("t"), record=pl.int_range(1, 4, dtype=pl.Int64)).alias("event_ref"),
        )
    )
    matches = [m for m in SigmaEngine(ruleset.rules).matches(batch) if m.rows.height]
    assert len(matches) == 1
    assert matches[0].rows.get_column("event_ref").struct.field("record").to_list() == [1]
