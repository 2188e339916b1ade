"""Credential access: brute force, password spraying, Kerberoasting, LSASS memory access, DCSync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Params, param
from chainbreaker.detect.analytics.common import SelectorAnalytic, as_hex, col_or_null, event_codes, null_if
from chainbreaker.detect.analytics.registry import register
from chainbreaker.detect.interest import Where

AUTH_SOURCES = frozenset({"windows.security", "linux.auth"})
AUTH_COLUMNS = (
    "event_code", "host", "user", "src_ip", "TargetUserName", "IpAddress", "WorkstationName", "Workstation",
    "Status", "outcome", "program",
)  # fmt: skip
#: The rows :func:`failed_logons` selects from: the failure events of Windows, syslog failures.
AUTH_ROWS: Mapping[str, Where] = {
    **event_codes({"windows.security": (4625, 4771, 4768, 4776)}),
    "linux.auth": ("outcome", frozenset({"failure"})),
}


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return null_if(expr, ("-", "", "::1", "127.0.0.1"))


def failed_logons(events: pl.DataFrame) -> pl.DataFrame:
    """Failed authentications with uniform ``user`` (the target account) and ``src_ip`` (the origin):
    Windows 4625 (logon), 4771 (Kerberos pre-auth), 4768/4776 (TGT request / NTLM validation with a
    non-zero status, e.g. 0x6 unknown account) and
    syslog authentication failures (sshd and others, ``outcome = failure``)."""
    windows = pl.col("source") == "windows.security"
    code = pl.col("event_code")
    failed = (
        windows
        & (code.is_in([4625, 4771]) | (code.is_in([4768, 4776]) & (as_hex("Status").fill_null(0) != 0)))
    ) | ((pl.col("source") == "linux.auth") & (col_or_null(events, "outcome") == "failure"))
    origin = pl.coalesce(
        _blank_to_null(col_or_null(events, "IpAddress").str.replace(r"^::ffff:", "")),
        _blank_to_null(pl.col("src_ip")),
        _blank_to_null(col_or_null(events, "WorkstationName")),
        _blank_to_null(col_or_null(events, "Workstation")),
    )
    target = pl.coalesce(_blank_to_null(col_or_null(events, "TargetUserName")), pl.col("user"))
    return events.filter(failed.fill_null(False)).with_columns(
        origin.alias("src_ip"), target.str.to_lowercase().alias("user")
    )


@dataclass(frozen=True, slots=True)
class BruteForceParams(Params):
    window: str = param("1h", "time bucket (Polars duration)")
    min_failures: int = param(10, "failed logons for one account from one origin per bucket")


class FailedLogonAnalytic(SelectorAnalytic):
    """Thresholds over :func:`failed_logons` (brute force, spraying): one evidence set, read two ways."""

    phases = ("exploitation",)
    tactics = ("credential-access",)
    sources = AUTH_SOURCES
    columns = AUTH_COLUMNS
    rows = AUTH_ROWS

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return failed_logons(events)


@register
class BruteForce(FailedLogonAnalytic):
    id = "brute_force"
    name = "Password brute force"
    techniques = ("T1110.001",)
    level = Level.medium
    params_type = BruteForceParams
    group_by = ("src_ip", "user")
    description = (
        "Many failed logons for one account from one origin within a window: Windows 4625/4771/4776 and "
        "syslog (sshd) authentication failures."
    )

    def selector(self) -> pl.Expr:
        return pl.lit(True)

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("host").n_unique().alias("_hosts"), pl.col("timestamp").max().alias("_last")]

    def having(self) -> pl.Expr:
        assert isinstance(self.params, BruteForceParams)
        return pl.col("count") >= self.params.min_failures

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} failed logons for account {} from {} on {} host(s) in {} s",
            pl.col("count"),
            pl.col("user").fill_null("?"),
            pl.col("src_ip").fill_null("an unknown origin"),
            pl.col("_hosts"),
            (pl.col("_last") - pl.col("time")).dt.total_seconds(),
        )


@dataclass(frozen=True, slots=True)
class SprayParams(Params):
    window: str = param("1h", "time bucket (Polars duration)")
    min_accounts: int = param(10, "distinct accounts failing from one origin per bucket")
    max_failures_per_account: float = param(5.0, "mean failures per account at most (spraying tries few)")


@register
class PasswordSpray(FailedLogonAnalytic):
    id = "password_spray"
    name = "Password spraying"
    techniques = ("T1110.003",)
    level = Level.high
    params_type = SprayParams
    group_by = ("src_ip",)
    description = (
        "Failed logons for many distinct accounts from one origin, each tried only a few times: one "
        "password against many accounts (Windows 4625/4771/4776, syslog)."
    )

    def selector(self) -> pl.Expr:
        return pl.col("user").is_not_null()

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("user").n_unique().alias("_accounts")]

    def having(self) -> pl.Expr:
        assert isinstance(self.params, SprayParams)
        p = self.params
        return (pl.col("_accounts") >= p.min_accounts) & (
            pl.col("count") / pl.col("_accounts") <= p.max_failures_per_account
        )

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} failed logons across {} distinct accounts from {}",
            pl.col("count"),
            pl.col("_accounts"),
            pl.col("src_ip").fill_null("an unknown origin"),
        )


@dataclass(frozen=True, slots=True)
class KerberoastParams(Params):
    window: str = param("1h", "time bucket (Polars duration)")
    min_services: int = param(1, "distinct service accounts requested with RC4/DES per account and bucket")
    weak_types: tuple[int, ...] = param((0x17, 0x18, 0x1, 0x3), "weak ticket encryption types (RC4, DES)")


@register
class Kerberoasting(SelectorAnalytic):
    id = "kerberoasting"
    name = "Kerberoasting (service tickets with weak encryption)"
    phases = ("exploitation",)
    techniques = ("T1558.003",)
    tactics = ("credential-access",)
    sources = frozenset({"windows.security"})
    columns = ("event_code", "host", "user", "src_ip", "TargetUserName", "ServiceName", "IpAddress",
               "TicketEncryptionType", "Status")  # fmt: skip
    rows = event_codes({"windows.security": (4769,)})
    level = Level.high
    params_type = KerberoastParams
    group_by = ("user", "src_ip")
    description = (
        "Security 4769 service tickets requested with RC4/DES encryption for user service accounts (not "
        "krbtgt, not computer accounts ending in $): crackable offline. Raise min_services where legacy "
        "RC4 services are normal."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return events.filter(pl.col("event_code") == 4769).with_columns(
            pl.coalesce(col_or_null(events, "TargetUserName"), pl.col("user"))
            .str.to_lowercase()
            .alias("user"),
            pl.coalesce(
                col_or_null(events, "IpAddress").str.replace(r"^::ffff:", ""), pl.col("src_ip")
            ).alias("src_ip"),
            col_or_null(events, "ServiceName").str.to_lowercase().alias("_service"),
        )

    def selector(self) -> pl.Expr:
        assert isinstance(self.params, KerberoastParams)
        return (
            as_hex("TicketEncryptionType").is_in(list(self.params.weak_types))
            & ~pl.col("_service").str.ends_with("$")
            & ~pl.col("_service").str.starts_with("krbtgt")
            & (as_hex("Status").fill_null(0) == 0)
        )

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("_service").unique().sort().alias("_services")]

    def having(self) -> pl.Expr:
        assert isinstance(self.params, KerberoastParams)
        return pl.col("_services").list.len() >= self.params.min_services

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} requested {} RC4/DES service ticket(s) for {} service account(s): {}",
            pl.col("user").fill_null("?"),
            pl.col("count"),
            pl.col("_services").list.len(),
            pl.col("_services").list.head(10).list.join(", "),
        )
