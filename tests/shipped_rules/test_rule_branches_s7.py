"""Branches of the new-share rules (pass 7, h_s7a) that cases_s7.yml's one positive and one negative
per rule do not reach: each is a hand-written event through the real Sigma engine."""

from __future__ import annotations

from typing import Any

import pytest
from test_shipped_base_rules import event, fired, frame, ruleset  # noqa: F401  (fixture)

from chainbreaker.detect.sigma.engine import SigmaEngine
from chainbreaker.detect.sigma.rules import RuleSet

REGISTRY = "network_share_registry_value_set"
SECURITY = "network_share_added"
COMMAND = "network_share_created_by_command"
SCRIPT = "powershell_scriptblock_share_created"
SHARES = r"HKLM\System\CurrentControlSet\Services\LanmanServer\Shares"
SVCHOST = r"C:\Windows\system32\svchost.exe"
NET = r"C:\Windows\System32\net.exe"
NET1 = r"C:\Windows\System32\net1.exe"
POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
WMIC = r"C:\Windows\System32\wbem\WMIC.exe"

#: A function definition of the shape a loaded module's code has in a 4104 block, short enough that
#: the call pattern alone (-Name within 200 characters of the name) would match it.
MODULE_DEFINITION = """function New-SmbShare {
    param([string] ${Name}, [string] ${Path})
    $__cmdletization_objectModelWrapper.Invoke('CreateShare', -Name $Name -Path $Path)
}"""

CASES: list[tuple[str, str, dict[str, str], bool]] = [
    # A share written straight into the registry by reg.exe, through ControlSet001 -> fires.
    (
        REGISTRY,
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": r"C:\Windows\System32\reg.exe",
            "TargetObject": r"HKLM\System\ControlSet001\Services\LanmanServer\Shares\data$",
            "Details": "Binary Data",
        },
        True,
    ),
    # The share's offline-caching flags, written with it -> does not (one alert per share).
    (
        REGISTRY,
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": SVCHOST,
            "TargetObject": SHARES + r"\CSCFlags\loot",
            "Details": "DWORD",
        },
        False,
    ),
    # A default administrative share name -> does not.
    (
        REGISTRY,
        "sysmon13",
        {"EventType": "SetValue", "Image": SVCHOST, "TargetObject": SHARES + r"\C$"},
        False,
    ),
    # Another LanmanServer value -> does not.
    (
        REGISTRY,
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": SVCHOST,
            "TargetObject": r"HKLM\System\CurrentControlSet\Services\LanmanServer\Parameters\AutoShareWks",
        },
        False,
    ),
    # Sysmon 12 creating the Security key -> does not (registry_set is event 13 only).
    (
        REGISTRY,
        "sysmon12",
        {"EventType": "CreateKey", "Image": SVCHOST, "TargetObject": SHARES + r"\loot"},
        False,
    ),
    # A hidden share of the intruder's own naming -> fires.
    (
        SECURITY,
        "security",
        {"EventID": "5142", "ShareName": r"\\*\stage$", "ShareLocalPath": r"D:\tmp"},
        True,
    ),
    # IPC$ and a drive's administrative share -> does not.
    (SECURITY, "security", {"EventID": "5142", "ShareName": r"\\*\IPC$", "ShareLocalPath": ""}, False),
    (SECURITY, "security", {"EventID": "5142", "ShareName": r"\\*\d$", "ShareLocalPath": "D:\\"}, False),
    # A share deleted (5144), not added -> does not.
    (
        SECURITY,
        "security",
        {"EventID": "5144", "ShareName": r"\\*\loot", "ShareLocalPath": r"C:\loot"},
        False,
    ),
    # A share on System32 is the medium rule's (one alert per share) -> this rule does not.
    (
        SECURITY,
        "security",
        {"EventID": "5142", "ShareName": r"\\*\PRINT", "ShareLocalPath": r"c:\windows\system32"},
        False,
    ),
    # net1.exe run directly (not by net.exe), share name in quotes with a space -> fires.
    (
        COMMAND,
        "sysmon1",
        {
            "Image": NET1,
            "CommandLine": r'net1  share "Public Docs"=D:\Docs',
            "ParentImage": r"C:\Windows\cmd.exe",
        },
        True,
    ),
    # net1.exe started by net.exe with the same arguments -> does not (net.exe's event alerts).
    (
        COMMAND,
        "sysmon1",
        {"Image": NET1, "CommandLine": r"C:\Windows\system32\net1 share loot=C:\x", "ParentImage": NET},
        False,
    ),
    # Removing a share, listing them, mapping one -> does not.
    (COMMAND, "sysmon1", {"Image": NET, "CommandLine": "net share loot /delete /y"}, False),
    (COMMAND, "sysmon1", {"Image": NET, "CommandLine": r'"C:\Windows\system32\net.exe" share'}, False),
    (
        COMMAND,
        "sysmon1",
        {"Image": NET, "CommandLine": r"net use Z: \\files\share /user:CORP\svc pw=1"},
        False,
    ),
    # Security 4688 names the image NewProcessName -> fires.
    (
        COMMAND,
        "security",
        {
            "EventID": "4688",
            "NewProcessName": NET,
            "CommandLine": r'"C:\Windows\system32\net.exe" share x=C:\x',
        },
        True,
    ),
    # New-SmbShare on a PowerShell command line -> fires.
    (
        COMMAND,
        "sysmon1",
        {
            "Image": POWERSHELL,
            "CommandLine": r'powershell -c "New-SmbShare -Name x -Path C:\x -FullAccess Everyone"',
        },
        True,
    ),
    # wmic share call create -> fires; wmic share list -> does not.
    (
        COMMAND,
        "sysmon1",
        {"Image": WMIC, "CommandLine": r'wmic share call create "", "", "", "x", "", "C:\x", 0'},
        True,
    ),
    (COMMAND, "sysmon1", {"Image": WMIC, "CommandLine": "wmic share list brief"}, False),
    # Win32_Share's Create through Invoke-CimMethod -> fires; listing the class -> does not.
    (
        COMMAND,
        "sysmon1",
        {
            "Image": POWERSHELL,
            "CommandLine": "powershell Invoke-CimMethod -ClassName Win32_Share -MethodName Create",
        },
        True,
    ),
    (
        COMMAND,
        "sysmon1",
        {"Image": POWERSHELL, "CommandLine": "powershell Get-CimInstance Win32_Share"},
        False,
    ),
    # Splatted arguments and a call continued over lines with backticks -> fires.
    (SCRIPT, "ps4104", {"ScriptBlockText": "$p = @{Name='x'; Path='C:\\x'}\nNew-SmbShare @p"}, True),
    (SCRIPT, "ps4104", {"ScriptBlockText": "New-SmbShare `\n  -Path C:\\x `\n  -Name x"}, True),
    # The WMI class's Create method -> fires.
    (SCRIPT, "ps4104", {"ScriptBlockText": "([wmiclass]'Win32_Share').Create('C:\\x', 'x', 0)"}, True),
    # The module's own definition of the cmdlet -> does not.
    (SCRIPT, "ps4104", {"ScriptBlockText": MODULE_DEFINITION}, False),
    # Reading shares -> does not.
    (SCRIPT, "ps4104", {"ScriptBlockText": "Get-SmbShare -Name loot | Format-List *"}, False),
    (SCRIPT, "ps4104", {"ScriptBlockText": "Get-CimInstance Win32_Share | Select-Object Name, Path"}, False),
]


@pytest.mark.parametrize(("name", "kind", "fields", "fires"), CASES)
def test_branch(ruleset: RuleSet, name: str, kind: str, fields: dict[str, str], fires: bool) -> None:  # noqa: F811
    assert (name in fired(ruleset, frame([event(kind, fields)]))) is fires


def test_system_folder_share_gets_the_medium_rule_only(ruleset: RuleSet) -> None:  # noqa: F811
    share = {"EventID": "5142", "ShareName": r"\\*\PRINT", "ShareLocalPath": r"c:\windows\system32"}
    names = fired(ruleset, frame([event("security", share)]))
    assert "share_added_on_system_folder" in names and SECURITY not in names


def test_one_registry_alert_per_share(ruleset: RuleSet) -> None:  # noqa: F811
    """The three Sysmon events the Server service writes for one new share (the share value, the
    Security key, the share's access list) give one match, on the share value."""
    rows: list[dict[str, Any]] = [
        event("sysmon13", {"EventType": "SetValue", "Image": SVCHOST, "TargetObject": SHARES + r"\loot"}, 1),
        event(
            "sysmon12", {"EventType": "CreateKey", "Image": SVCHOST, "TargetObject": SHARES + r"\Security"}, 2
        ),
        event(
            "sysmon13",
            {"EventType": "SetValue", "Image": SVCHOST, "TargetObject": SHARES + r"\Security\loot"},
            3,
        ),
    ]
    records = [
        ref["record"]
        for match in SigmaEngine(ruleset.rules).matches(frame(rows))
        if match.rule.name == REGISTRY
        for ref in match.rows["event_ref"].to_list()
    ]
    assert records == [1]
