"""Keyword (field-less) values with one wildcard are substring searches of any field, like the
other keyword forms: 'mimikatz*' must find "C:\\tools\\mimikatz.exe" whatever field holds it and
wherever that field sits among the event's columns."""

from __future__ import annotations

from test_sigma_modifiers import frame, matched

ROWS = [
    {"ParentImage": r"C:\Windows\explorer.exe", "CommandLine": r"C:\tools\mimikatz.exe privilege::debug"},
    {"ParentImage": r"C:\Windows\explorer.exe", "CommandLine": "notepad.exe notes.txt"},
    {"ParentImage": r"C:\Windows\explorer.exe", "CommandLine": "run dump.DMP"},
]


def test_keyword_with_trailing_wildcard_finds_the_value_in_any_field() -> None:
    assert matched("  keywords: ['mimikatz*']\n  condition: keywords", ROWS) == [0]


def test_keyword_with_leading_wildcard_finds_the_value_in_any_field() -> None:
    assert matched("  keywords: ['*.dmp']\n  condition: keywords", ROWS) == [2]


def test_keyword_affix_in_a_middle_column() -> None:
    """The value sits neither in the first nor in the last string column of the batch."""
    rows = [{"A": "x", "B": "y mimikatz z", "C": "w"}, {"A": "x", "B": "y", "C": "w"}]
    assert matched("  keywords: ['mimikatz*']\n  condition: keywords", rows, batch=frame(rows)) == [0]
