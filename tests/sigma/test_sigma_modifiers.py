"""Every Sigma 2.1 modifier and condition form, on small frames these tests build themselves.

Each case is a real rule parsed by pySigma and compiled by our compiler, evaluated by the Polars
back end; the expected rows are the ones the Sigma specification says must match.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chainbreaker.detect.sigma import compile_yaml, ir, match_frame
from chainbreaker.detect.sigma.polars_backend import PolarsBackend
from chainbreaker.events import conform

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def frame(rows: list[dict[str, Any]], channel: str = SYSMON, event_code: int = 1) -> pl.DataFrame:
    """A conformed batch of process-creation-like events; ``idx`` numbers the rows."""
    data = [{"idx": str(i), **row} for i, row in enumerate(rows)]
    df = pl.DataFrame(data, infer_schema_length=None)
    return conform(
        df.with_columns(
            pl.lit("windows.sysmon").alias("source"),
            pl.lit(channel).alias("channel"),
            pl.lit(event_code).alias("event_code"),
        )
    )


def matched(
    detection: str, rows: list[dict[str, Any]], logsource: str = "category: process_creation", **kw: Any
) -> list[int]:
    text = f"""
title: unit
id: 5f0f0d55-1a0e-4a43-9d0e-000000000001
status: test
level: high
logsource:
  product: windows
  {logsource}
detection:
{detection}
"""
    ruleset = compile_yaml(text, kw.get("placeholders"))
    assert not ruleset.problems, ruleset.problems
    assert len(ruleset.rules) == 1
    found = match_frame(ruleset.rules, kw.get("batch", frame(rows)))
    if not found:
        return []
    return sorted(int(i) for i in next(iter(found.values()))["idx"].to_list())


CMD = [
    {
        "CommandLine": "powershell.exe -NoP -Enc SQBFAFgA",
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    },
    {"CommandLine": "cmd.exe /c whoami /all", "Image": "C:\\Windows\\System32\\cmd.exe"},
    {"CommandLine": "notepad.exe readme.txt", "Image": "C:\\Windows\\notepad.exe"},
    {"CommandLine": None, "Image": "C:\\Tools\\x*y.exe"},
]


def test_plain_value_is_case_insensitive_exact_match() -> None:
    assert matched("  sel: {Image: 'c:\\windows\\notepad.exe'}\n  condition: sel", CMD) == [2]


def test_contains_startswith_endswith() -> None:
    assert matched("  sel: {CommandLine|contains: 'WHOAMI'}\n  condition: sel", CMD) == [1]
    assert matched("  sel: {CommandLine|startswith: 'Powershell'}\n  condition: sel", CMD) == [0]
    assert matched("  sel: {Image|endswith: '\\CMD.exe'}\n  condition: sel", CMD) == [1]


def test_value_lists_are_or_and_all_makes_them_and() -> None:
    assert matched("  sel: {CommandLine|contains: [whoami, notepad]}\n  condition: sel", CMD) == [1, 2]
    assert matched("  sel: {CommandLine|contains|all: [cmd, whoami]}\n  condition: sel", CMD) == [1]
    assert matched("  sel: {CommandLine|contains|all: [cmd, notepad]}\n  condition: sel", CMD) == []


def test_many_prefixes_and_suffixes() -> None:
    suffixes = "['\\cmd.exe', '\\notepad.exe', '\\other.exe', 'x.exe']"
    assert matched(f"  sel: {{Image|endswith: {suffixes}}}\n  condition: sel", CMD) == [1, 2]
    assert matched("  sel: {CommandLine|startswith: [cmd, note, zzz]}\n  condition: sel", CMD) == [1, 2]


def test_wildcards_and_escapes() -> None:
    assert matched("  sel: {CommandLine: 'cmd.exe /? whoami*'}\n  condition: sel", CMD) == [1]
    assert matched("  sel: {Image: '*\\x\\*y.exe'}\n  condition: sel", CMD) == [3]  # escaped star
    assert matched("  sel: {Image: '*\\x?y.exe'}\n  condition: sel", CMD) == [3]


def test_cased_modifier() -> None:
    assert matched("  sel: {CommandLine|contains|cased: 'Enc'}\n  condition: sel", CMD) == [0]
    assert matched("  sel: {CommandLine|contains|cased: 'ENC'}\n  condition: sel", CMD) == []


def test_null_and_exists() -> None:
    assert matched("  sel: {CommandLine: null}\n  condition: sel", CMD) == [3]
    assert matched("  sel: {CommandLine|exists: true}\n  condition: sel", CMD) == [0, 1, 2]
    assert matched("  sel: {CommandLine|exists: false}\n  condition: sel", CMD) == [3]
    assert matched("  sel: {Missing|exists: false}\n  condition: sel", CMD) == [0, 1, 2, 3]


def test_not_matches_events_without_the_field() -> None:
    detection = (
        "  sel: {Image|endswith: '.exe'}\n  f: {CommandLine|contains: whoami}\n  condition: sel and not f"
    )
    assert matched(detection, CMD) == [0, 2, 3]


def test_neq() -> None:
    assert matched(
        "  sel: {Image|endswith: '.exe'}\n"
        "  n: {CommandLine|neq: 'notepad.exe readme.txt'}\n"
        "  condition: sel and n",
        CMD,
    ) == [0, 1, 3]


def test_keywords_search_every_string_field() -> None:
    assert matched("  keywords: [WHOAMI]\n  condition: keywords", CMD) == [1]
    assert matched("  keywords: ['notepad*.txt']\n  condition: keywords", CMD) == [2]
    assert matched("  keywords: ['*x\\*y.exe']\n  condition: keywords", CMD) == [3]
    assert matched("  keywords: {'|contains|all': [cmd, all]}\n  condition: keywords", CMD) == [1]


def test_condition_forms() -> None:
    base = (
        "  sel_a: {CommandLine|contains: cmd}\n"
        "  sel_b: {CommandLine|contains: whoami}\n"
        "  other: {Image|endswith: notepad.exe}\n"
    )
    assert matched(base + "  condition: 1 of sel_*", CMD) == [1]
    assert matched(base + "  condition: all of sel_*", CMD) == [1]
    assert matched(base + "  condition: 1 of them", CMD) == [1, 2]
    assert matched(base + "  condition: all of them", CMD) == []
    assert matched(base + "  condition: (sel_a or other) and not sel_b", CMD) == [2]
    assert matched(base + "  condition: not 1 of sel_*", CMD) == [0, 2, 3]


def test_list_of_maps_is_or() -> None:
    detection = (
        "  sel:\n    - {CommandLine|contains: whoami}\n    - {Image|endswith: notepad.exe}\n  condition: sel"
    )
    assert matched(detection, CMD) == [1, 2]


def test_windash() -> None:
    rows = [{"CommandLine": c} for c in ("x -enc a", "x /enc a", "x \u2013enc a", "x enc a")]
    assert matched("  sel: {CommandLine|contains|windash: ' -enc '}\n  condition: sel", rows) == [0, 1, 2]


def test_regex_and_flags() -> None:
    rows = [{"CommandLine": c} for c in ("Invoke-Mimikatz", "invoke-mimikatz", "a\nInvoke-X")]
    assert matched("  sel: {CommandLine|re: 'Invoke-M.*'}\n  condition: sel", rows) == [0]
    assert matched("  sel: {CommandLine|re|i: 'invoke-m.*'}\n  condition: sel", rows) == [0, 1]
    assert matched("  sel: {CommandLine|re|m: '^Invoke-X$'}\n  condition: sel", rows) == [2]
    assert matched("  sel: {CommandLine|re|s: 'a.Invoke'}\n  condition: sel", rows) == [2]


def test_regex_outside_rust_syntax_runs_on_distinct_values() -> None:
    batch = pl.DataFrame({"CommandLine": ["Invoke-Mimikatz", "Mimikatz", None]})
    backend = PolarsBackend(batch)
    mask = batch.select(backend.expr(ir.Regex("CommandLine", "(?<=Invoke-)Mimi")))
    assert mask.to_series().to_list() == [True, False, False]
    assert backend.data_dependent


def test_base64_and_base64offset() -> None:
    payload = "IEX (New-Object Net.WebClient).DownloadString"
    encoded = base64.b64encode(b"xx" + payload.encode()).decode()
    rows = [
        {"CommandLine": f"powershell -e {encoded}"},
        {"CommandLine": base64.b64encode(b"http://a").decode()},
    ]
    assert matched(
        "  sel: {CommandLine|base64offset|contains: 'New-Object Net.WebClient'}\n  condition: sel", rows
    ) == [0]
    assert matched("  sel: {CommandLine|base64: 'http://a'}\n  condition: sel", rows) == [1]


@pytest.mark.parametrize(
    ("modifier", "codec"),
    [("utf16le", "utf-16-le"), ("wide", "utf-16-le"), ("utf16be", "utf-16-be"), ("utf16", "utf-16")],
)
def test_utf16_encodings(modifier: str, codec: str) -> None:
    encoded = base64.b64encode("Get-Process".encode(codec)).decode()
    rows = [{"CommandLine": f"powershell -enc {encoded}"}, {"CommandLine": "powershell -enc AAAA"}]
    detection = f"  sel: {{CommandLine|{modifier}|base64offset|contains: 'Get-Process'}}\n  condition: sel"
    assert matched(detection, rows) == [0]


def test_numeric_comparisons_cast_string_columns() -> None:
    rows = [{"Size": v} for v in ("10", "200", "0x20", None, " 300 ")]
    assert matched("  sel: {Size|gt: 100}\n  condition: sel", rows) == [1, 4]
    assert matched("  sel: {Size|gte: 200}\n  condition: sel", rows) == [1, 4]
    assert matched("  sel: {Size|lt: 11}\n  condition: sel", rows) == [0]
    assert matched("  sel: {Size|lte: 10}\n  condition: sel", rows) == [0]


def test_numbers_match_the_text_of_string_columns() -> None:
    rows = [{"LogonType": "10"}, {"LogonType": "3"}]
    assert matched("  sel: {LogonType: 10}\n  condition: sel", rows) == [0]
    assert matched("  sel: {LogonType: [3, 10]}\n  condition: sel", rows) == [0, 1]


def test_cidr_ipv4_and_ipv6() -> None:
    rows = [
        {"DestinationIp": ip}
        for ip in ("10.1.2.3", "192.168.1.1", "fe80::1", "2001:db8::5", "::ffff:10.9.9.9", "junk")
    ]
    assert matched("  sel: {DestinationIp|cidr: 10.0.0.0/8}\n  condition: sel", rows) == [0, 4]
    assert matched("  sel: {DestinationIp|cidr: ['fe80::/10', '2001:db8::/32']}\n  condition: sel", rows) == [
        2,
        3,
    ]


def test_expand_placeholders(tmp_path: Path) -> None:
    rows = [{"Computer": "ADM-WKS-01"}, {"Computer": "LAPTOP-7"}]
    detection = "  sel: {Computer|expand: '%admin_hosts%'}\n  condition: sel"
    assert matched(detection, rows, placeholders={"admin_hosts": ["adm-wks-*", "jump01"]}) == [0]
    missing = compile_yaml(
        f"title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{detection}\n"
    )
    assert not missing.rules
    assert "admin_hosts" in missing.problems[0].reason


def test_fieldref() -> None:
    rows = [
        {"Image": "C:\\a.exe", "ParentImage": "c:\\A.exe"},
        {"Image": "C:\\a.exe", "ParentImage": "C:\\b.exe"},
        {"Image": "C:\\dir\\a.exe", "ParentImage": "C:\\dir"},
    ]
    assert matched("  sel: {Image|fieldref: ParentImage}\n  condition: sel", rows) == [0]
    assert matched("  sel: {Image|fieldref|startswith: ParentImage}\n  condition: sel", rows) == [0, 2]


def test_time_modifiers() -> None:
    rows = [{"UtcTime": "2024-03-05 03:15:00"}, {"UtcTime": "2024-03-05 14:45:00"}]
    assert matched("  sel: {UtcTime|hour: 3}\n  condition: sel", rows) == [0]
    assert matched("  sel: {UtcTime|minute: 45}\n  condition: sel", rows) == [1]
    assert matched("  sel: {UtcTime|month: 3}\n  condition: sel", rows) == [0, 1]
    assert matched("  sel: {UtcTime|year: 2023}\n  condition: sel", rows) == []


def test_logsource_restricts_rows_and_security_4688_maps_field_names() -> None:
    detection = "  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel"
    sysmon = frame([{"Image": "C:\\Windows\\System32\\whoami.exe"}])
    security = frame([{"NewProcessName": "C:\\Windows\\System32\\whoami.exe"}], "Security", 4688)
    wrong_event = frame([{"Image": "C:\\Windows\\System32\\whoami.exe"}], SYSMON, 11)
    assert matched(detection, [], batch=sysmon) == [0]
    assert matched(detection, [], batch=security) == [0]
    assert matched(detection, [], batch=wrong_event) == []


def test_field_names_with_spaces_match_sigma_names() -> None:
    batch = frame(
        [{"Threat Name": "Tool:Win32/EICAR_Test_File"}],
        "Microsoft-Windows-Windows Defender/Operational",
        1116,
    )
    detection = "  sel: {ThreatName|contains: eicar}\n  condition: sel"
    assert matched(detection, [], logsource="service: windefend", batch=batch) == [0]
