"""Installation through accounts: new local/domain accounts and additions to administrator groups."""

from __future__ import annotations

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.common import SelectorAnalytic, event_codes
from chainbreaker.detect.analytics.registry import register


@register
class NewAccount(SelectorAnalytic):
    id = "new_account"
    name = "User account created"
    phases = ("installation",)
    techniques = ("T1136.001", "T1136.002")
    tactics = ("persistence",)
    sources = frozenset({"windows.security"})
    columns = ("event_code", "host", "user", "TargetUserName", "SubjectUserName")
    rows = event_codes({"windows.security": (4720,)})
    level = Level.low
    group_by = ("host", "TargetUserName")
    description = "Security 4720: a user account was created (names ending in $ hide from net user)."

    def selector(self) -> pl.Expr:
        return pl.col("event_code") == 4720

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("SubjectUserName").drop_nulls().first().alias("_by")]

    def explain(self) -> pl.Expr:
        return pl.format(
            "account {} created on {} by {}",
            pl.col("TargetUserName"),
            pl.col("host"),
            pl.col("_by").fill_null("?"),
        )


#: Well-known SIDs of privileged groups: Administrators, Domain/Enterprise/Schema Admins.
ADMIN_SIDS = r"^S-1-5-32-544$|-(512|518|519)$"


@register
class NewAdminMember(SelectorAnalytic):
    id = "new_admin_member"
    name = "Account added to an administrators group"
    phases = ("installation",)
    techniques = ("T1098",)
    tactics = ("persistence", "privilege-escalation")
    sources = frozenset({"windows.security"})
    columns = ("event_code", "host", "user", "TargetSid", "TargetUserName", "MemberName", "MemberSid",
               "SubjectUserName")  # fmt: skip
    rows = event_codes({"windows.security": (4728, 4732, 4756)})
    level = Level.high
    group_by = ("host", "TargetUserName")
    description = (
        "Security 4728/4732/4756: a member was added to Administrators, Domain Admins, Enterprise Admins "
        "or Schema Admins."
    )

    def selector(self) -> pl.Expr:
        group = pl.col("TargetSid").str.contains(ADMIN_SIDS) | pl.col("TargetUserName").str.contains(
            r"(?i)^(administrators|administrateurs|administradores|domain admins|enterprise admins)$"
        )
        return pl.col("event_code").is_in([4728, 4732, 4756]) & group

    def aggs(self) -> list[pl.Expr]:
        member = pl.coalesce(pl.col("MemberName").replace("-", None), pl.col("MemberSid"))
        return [member.drop_nulls().unique().alias("_members")]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} added to {} on {}",
            pl.col("_members").list.join(", "),
            pl.col("TargetUserName"),
            pl.col("host"),
        )
