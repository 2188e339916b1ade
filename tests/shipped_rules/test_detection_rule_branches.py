"""Branches of the shipped rules added for docs/DETECTION.md that cases.yml's one positive and one
negative per rule do not reach: each is a hand-written event through the real Sigma engine."""

from __future__ import annotations

import pytest
from test_shipped_base_rules import event, fired, frame, ruleset  # noqa: F401  (fixture)

from chainbreaker.detect.sigma.rules import RuleSet

PSLOCKDOWN = r"HKLM\System\CurrentControlSet\Control\SESSION MANAGER\Environment\__PSLockdownPolicy"
POLICY = r"HKLM\SOFTWARE\Microsoft\PowerShell\1\ShellIds\Microsoft.PowerShell\ExecutionPolicy"
POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
MACHINE_CLSID = r"HKLM\SOFTWARE\Classes\CLSID\{00000000-1111-2222-3333-444444444444}"

CASES = [
    # Constrained Language Mode removed (value deleted: Sysmon 12, no Details) -> fires.
    (
        "powershell_policy_weakened",
        "sysmon12",
        {"EventType": "DeleteValue", "Image": POWERSHELL, "TargetObject": PSLOCKDOWN},
        True,
    ),
    # ... set to 4 (enforce CLM) -> does not.
    (
        "powershell_policy_weakened",
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": POWERSHELL,
            "TargetObject": PSLOCKDOWN,
            "Details": "DWORD (0x00000004)",
        },
        False,
    ),
    # Bypass written by the Group Policy service host -> does not.
    (
        "powershell_policy_weakened",
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": r"C:\Windows\system32\svchost.exe",
            "TargetObject": POLICY,
            "Details": "Bypass",
        },
        False,
    ),
    # BITS download from a bare IP address -> fires; from a named host -> does not (cases.yml).
    ("bits_local_or_ip_transfer", "bits", {"EventID": "59", "url": "http://198.51.100.23:8080/p.exe"}, True),
    ("bits_local_or_ip_transfer", "bits", {"EventID": "60", "url": r"C:\Windows\System32\cmd.exe"}, False),
    # 4798 (a user's groups) counts too; a share other than IPC$ does not for the pipe rule.
    (
        "local_group_enum_net",
        "security",
        {"EventID": "4798", "CallerProcessName": r"C:\Windows\System32\net.exe"},
        True,
    ),
    (
        "ipc_rpc_enumeration_pipes",
        "security",
        {"EventID": "5145", "SubjectUserName": "jdoe", "ShareName": r"\\*\C$", "RelativeTargetName": "samr"},
        False,
    ),
    (
        "ipc_rpc_enumeration_pipes",
        "security",
        {
            "EventID": "5145",
            "SubjectUserName": "jdoe",
            "ShareName": r"\\*\IPC$",
            "RelativeTargetName": "lsarpc",
        },
        False,
    ),
]


VOLATILE = r"HKU\S-1-5-21-1-2-3-1001\Volatile Environment"
MORE = [
    # Full access includes VM_READ; an installed program reading it does not count.
    (
        "remote_access_tool_memory_read",
        "sysmon10",
        {
            "SourceImage": r"C:\Users\Public\x.exe",
            "TargetImage": r"C:\Tools\KeePass.exe",
            "GrantedAccess": "0x1fffff",
        },
        True,
    ),
    (
        "remote_access_tool_memory_read",
        "sysmon10",
        {
            "SourceImage": r"C:\Program Files\Backup\agent.exe",
            "TargetImage": r"C:\Tools\KeePass.exe",
            "GrantedAccess": "0x1fffff",
        },
        False,
    ),
    # Inbound from loopback is local COM plumbing, not lateral movement.
    (
        "inbound_dcom_host_connection",
        "sysmon3",
        {"Image": r"C:\Windows\System32\mshta.exe", "Initiated": "false", "SourceIp": "127.0.0.1"},
        False,
    ),
    # 4703 without a process path (some exports drop it) does not fire.
    (
        "debug_privilege_user_folder",
        "security",
        {"EventID": "4703", "EnabledPrivilegeList": "SeDebugPrivilege"},
        False,
    ),
    # UAC bypass via the user's environment: SYSTEMROOT redirected -> fires; HKLM's own -> not.
    (
        "uac_bypass_user_class_or_env",
        "sysmon13",
        {"TargetObject": VOLATILE + r"\SYSTEMROOT", "Details": r"C:\Users\bob\AppData\Local\Temp"},
        True,
    ),
    (
        "uac_bypass_user_class_or_env",
        "sysmon13",
        {
            "TargetObject": r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment\windir",
            "Details": "%SystemRoot%",
        },
        False,
    ),
    # Kernel debugging alone counts as a weakened boot.
    (
        "boot_test_signing_kernel_debug",
        "security",
        {"EventID": "4826", "KernelDebug": "%%1842", "TestSigning": "%%1843"},
        True,
    ),
    # Administrators alias rewritten by LSASS -> fires; another alias -> not.
    (
        "sam_account_created",
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": r"C:\Windows\system32\lsass.exe",
            "TargetObject": r"HKLM\SAM\SAM\Domains\Builtin\Aliases\00000220\C",
        },
        True,
    ),
    (
        "sam_account_created",
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": r"C:\Windows\system32\lsass.exe",
            "TargetObject": r"HKLM\SAM\SAM\Domains\Builtin\Aliases\00000221\C",
        },
        False,
    ),
    # Pass 3. BITS payload rule: a thumbnail URL with a query string -> does not; a script from a
    # vendor CDN -> does not.
    (
        "bits_payload_download",
        "bits",
        {"EventID": "59", "url": "https://img.example-cdn.net/tenant/BB1a.img?w=100&h=100"},
        False,
    ),
    (
        "bits_payload_download",
        "bits",
        {"EventID": "59", "url": "https://oneclient.sfx.ms/Win/Prod/21.0/OneDriveSetup.exe"},
        False,
    ),
    # Web worker LogonUser network logon (4624 type 3, Advapi) -> fires; type 8 from IIS -> not.
    (
        "webserver_explicit_credential_logon",
        "security",
        {
            "EventID": "4624",
            "LogonType": "3",
            "LogonProcessName": "Advapi  ",
            "ProcessName": r"C:\Windows\System32\inetsrv\w3wp.exe",
        },
        True,
    ),
    (
        "webserver_explicit_credential_logon",
        "security",
        {
            "EventID": "4624",
            "LogonType": "8",
            "LogonProcessName": "Advapi  ",
            "ProcessName": r"C:\Windows\System32\inetsrv\w3wp.exe",
        },
        False,
    ),
    # Event Log crash: the shared (unsplit) service group -> fires; a crash of explorer -> not.
    (
        "eventlog_service_crash_report",
        "sysmon1",
        {
            "Image": r"C:\Windows\System32\WerFault.exe",
            "ParentImage": r"C:\Windows\System32\svchost.exe",
            "ParentCommandLine": r"C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted",
        },
        True,
    ),
    # Share of a whole drive -> fires.
    ("share_added_on_system_folder", "security", {"EventID": "5142", "ShareLocalPath": "C:\\"}, True),
    # ... but not the default administrative share of that drive.
    (
        "share_added_on_system_folder",
        "security",
        {"EventID": "5142", "ShareName": "\\\\*\\C$", "ShareLocalPath": "C:\\"},
        False,
    ),
    # Machine-wide COM registration pointing to ProgramData -> not the per-user hijack.
    (
        "com_server_user_hive_staging_path",
        "sysmon13",
        {
            "EventType": "SetValue",
            "TargetObject": MACHINE_CLSID + r"\InprocServer32\(Default)",
            "Details": r"C:\ProgramData\helper.dll",
        },
        False,
    ),
]


@pytest.mark.parametrize(("name", "kind", "fields", "expected"), CASES + MORE)
def test_rule_branch(ruleset: RuleSet, name: str, kind: str, fields: dict[str, str], expected: bool) -> None:  # noqa: F811
    assert (name in fired(ruleset, frame([event(kind, fields)]))) is expected
