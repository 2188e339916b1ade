"""Fields from Linux authentication messages (sshd, sudo, su, PAM, useradd/usermod/groupadd, cron, login).

Shared by the syslog and journald readers. Every pattern runs vectorised over a batch's
``message`` column with Polars (``str.contains`` + ``str.extract_groups``); a message takes its fields
from the first pattern, in table order, that gives them. Written here because no maintained Python
library parses these messages into columns; the patterns describe OpenSSH, sudo, shadow-utils,
util-linux and Linux-PAM message formats.

Fields produced (strings, null when not known): ``outcome`` (success|failure), ``auth_method``,
``target_user``, ``command``, ``tty``, ``pwd``, ``rhost``, ``group``, ``repeat_count``, and the
normalised ``user``, ``src_ip``, ``src_port``. "message repeated N times: [ ... ]" is parsed as the
inner message, with ``repeat_count`` = N.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

SSHD = ("sshd", "sshd-session", "sshd-auth")

#: Programs whose messages are authentication records (source linux.auth); others are linux.syslog.
AUTH_PROGRAMS = frozenset(
    {
        *SSHD,
        "sudo",
        "su",
        "login",
        "passwd",
        "chpasswd",
        "chage",
        "useradd",
        "usermod",
        "userdel",
        "groupadd",
        "groupmod",
        "groupdel",
        "gpasswd",
        "newusers",
        "systemd-logind",
        "polkitd",
        "pkexec",
        "unix_chkpwd",
        "gdm-password",
        "lightdm",
        "doas",
    }
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One message pattern with named groups; ``outcome`` applies when it matches (an ``error`` group
    that matched turns it into ``failure``)."""

    pattern: str
    outcome: str | None = None
    programs: tuple[str, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule(
        r"^Failed (?P<auth_method>\S+) for (?:invalid user )?(?P<user>.*?) "
        r"from (?P<src_ip>\S+) port (?P<src_port>\d+)",
        "failure",
        SSHD,
    ),
    Rule(
        r"^Accepted (?P<auth_method>\S+) for (?P<user>\S+) from (?P<src_ip>\S+) port (?P<src_port>\d+)",
        "success",
        SSHD,
    ),
    Rule(
        r"^Invalid user (?P<user>.*?) from (?P<src_ip>\S+?)(?: port (?P<src_port>\d+))?\s*$", "failure", SSHD
    ),
    Rule(
        r"^error: maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+) "
        r"from (?P<src_ip>\S+) port (?P<src_port>\d+)",
        "failure",
        SSHD,
    ),
    Rule(r"^input_userauth_request: invalid user (?P<user>\S*)", None, SSHD),
    Rule(
        r"^(?:Disconnected from|Connection closed by|Received disconnect from|Connection reset by)"
        r"(?: (?:authenticating|invalid) user (?P<user>\S+))? (?P<src_ip>[^\s]+?):?"
        r"(?: port (?P<src_port>\d+))?"
        r"(?::| |$)",
        None,
        SSHD,
    ),
    Rule(r"^reverse mapping checking getaddrinfo for \S+ \[(?P<src_ip>[^\]]+)\] failed", None, SSHD),
    Rule(
        r"^Did not receive identification string from (?P<src_ip>\S+?)(?: port (?P<src_port>\d+))?$",
        None,
        SSHD,
    ),
    Rule(
        r"^(?:pam_unix\([^)]*\): )?authentication failure;.*?\btty=(?P<tty>\S*).*?\brhost=(?P<rhost>\S*)"
        r"(?:\s+user=(?P<user>\S+))?",
        "failure",
    ),
    Rule(
        r"^PAM \d+ more authentication failures?;.*?\brhost=(?P<rhost>\S*)(?:\s+user=(?P<user>\S+))?",
        "failure",
    ),
    Rule(
        r"^(?:pam_unix\([^)]*\): )?session (?:opened|closed) for user (?P<session_user>[^\s(]+)"
        r"(?:\(uid=\d+\))?(?: by (?P<by_user>[^\s(]*)(?:\(uid=\d+\))?)?",
    ),
    Rule(
        r"^\s*(?P<user>\S+) : (?:(?P<error>[^;]*?) ; )?TTY=(?P<tty>\S+) ; PWD=(?P<pwd>.*?) ; "
        r"USER=(?P<target_user>[^\s;]+)(?: ; GROUP=\S+)?(?: ; ENV=.*?)? ; COMMAND=(?P<command>.*)$",
        "success",
        ("sudo",),
    ),
    Rule(r"^Successful su for (?P<target_user>\S+) by (?P<user>\S+)", "success", ("su",)),
    Rule(
        r"^FAILED (?:su|SU) (?:\(to (?P<to>\S+)\) )?for (?P<target_user>\S+) by (?P<user>\S+)",
        "failure",
        ("su",),
    ),
    Rule(r"^(?:\+ )?\(to (?P<target_user>\S+)\) (?P<user>\S+) on (?P<tty>\S+)", "success", ("su",)),
    Rule(r"^new user: name=(?P<target_user>[^,\s]+)", "success"),
    Rule(r"^new group: name=(?P<group>[^,\s]+)", "success"),
    Rule(r"^group added to /etc/(?:g?shadow|group): name=(?P<group>[^,\s]+)", "success"),
    Rule(r"^add '(?P<target_user>[^']+)' to (?:shadow )?group '(?P<group>[^']+)'", "success"),
    Rule(r"^change user '(?P<target_user>[^']+)' password", "success"),
    Rule(r"^delete user '(?P<target_user>[^']+)'", "success"),
    Rule(r"^pam_unix\(passwd:chauthtok\): password changed for (?P<target_user>\S+)", "success"),
    Rule(r"^\((?P<user>[^)]+)\) CMD \((?P<command>.*)\)\s*$", None, ("cron", "CRON", "crond")),
    Rule(r"^FAILED LOGIN \(\d+\) on '?(?P<tty>[^' ,]+)'? FOR '?(?P<user>[^',]+)'?", "failure", ("login",)),
    Rule(r"^LOGIN ON (?P<tty>\S+) BY (?P<user>\S+)", "success", ("login",)),
    Rule(r"^New session (?P<session>\S+) of user (?P<user>[^\s.]+)", "success", ("systemd-logind",)),
)

_REPEATED = r"^message repeated (\d+) times: \[\s?(.*?)\s?\]$"
_IP = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:%\S+)?)$"


def program_base(program: pl.Expr) -> pl.Expr:
    """``sshd(pam_unix)`` -> ``sshd``; ``/usr/sbin/cron`` -> ``cron``."""
    return program.str.replace(r"\(.*\)$", "").str.replace(r"^.*/", "")


def auth_source(program: pl.Expr, message: pl.Expr) -> pl.Expr:
    """``linux.auth`` for authentication programs and PAM messages, ``linux.syslog`` otherwise."""
    base = program_base(program)
    is_auth = base.is_in(list(AUTH_PROGRAMS)) | message.str.contains(r"^pam_\w+\(").fill_null(False)
    return pl.when(is_auth.fill_null(False)).then(pl.lit("linux.auth")).otherwise(pl.lit("linux.syslog"))


def parse_messages(frame: pl.DataFrame, program: str = "program", message: str = "message") -> pl.DataFrame:
    """Add the authentication fields to a frame with ``program`` and ``message`` string columns."""
    text = pl.coalesce(pl.col(message).str.extract(_REPEATED, 2), pl.col(message))
    work = frame.with_columns(
        text.alias("__text"),
        program_base(pl.col(program)).alias("__program"),
        pl.col(message).str.extract(_REPEATED, 1).alias("repeat_count"),
    )
    found: dict[str, list[pl.Expr]] = {}
    structs: list[pl.Expr] = []
    for index, rule in enumerate(RULES):
        matched = pl.col("__text").str.contains(rule.pattern)
        if rule.programs:
            matched = matched & pl.col("__program").is_in(list(rule.programs))
        name = f"__rule{index}"
        groups_of = pl.col("__text").str.extract_groups(rule.pattern).alias("g")
        structs.append(pl.struct(matched.fill_null(False).alias("m"), groups_of).alias(name))
        groups = _group_names(rule.pattern)
        hit = pl.col(name).struct.field("m")
        for group in groups:
            value = pl.col(name).struct.field("g").struct.field(group)
            found.setdefault(group, []).append(pl.when(hit & (value != "")).then(value))
        if rule.outcome is not None:
            outcome = pl.lit(rule.outcome)
            if "error" in groups:
                error = pl.col(name).struct.field("g").struct.field("error")
                outcome = pl.when(error.is_not_null()).then(pl.lit("failure")).otherwise(outcome)
            found.setdefault("outcome", []).append(pl.when(hit).then(outcome))
    work = work.with_columns(structs)

    def first(group: str) -> pl.Expr:
        options = found.get(group, [])
        return pl.coalesce(options) if options else pl.lit(None, dtype=pl.String)

    by_user, session_user = first("by_user"), first("session_user")
    work = work.with_columns(
        first("outcome").alias("outcome"),
        first("auth_method").alias("auth_method"),
        pl.coalesce(first("target_user"), pl.when(by_user.is_not_null()).then(session_user)).alias(
            "target_user"
        ),
        first("command").alias("command"),
        first("tty").alias("tty"),
        first("pwd").alias("pwd"),
        first("rhost").alias("rhost"),
        first("group").alias("group"),
        pl.coalesce(first("user"), by_user, session_user).alias("user"),
        pl.coalesce(first("src_ip"), first("rhost")).alias("__ip"),
        first("src_port").alias("src_port"),
    )
    work = work.with_columns(pl.when(pl.col("__ip").str.contains(_IP)).then(pl.col("__ip")).alias("src_ip"))
    return work.drop("__text", "__program", "__ip", *(f"__rule{i}" for i in range(len(RULES))))


def _group_names(pattern: str) -> list[str]:
    return list(re.compile(pattern).groupindex)
