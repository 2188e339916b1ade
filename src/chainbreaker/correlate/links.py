"""Which address belongs to which host, learnt from the events themselves.

A Zeek or Suricata alert knows an address (10.0.0.5), the Sysmon alerts of the same machine know
its name (WKS-05). :class:`EntityLearner` watches event batches for records that state both:

* Windows logons (4624, 4625): ``IpAddress`` is the address of ``WorkstationName``, the client;
  only for internal addresses, since the client names itself: a name an internet address claims
  (an attacker's ``kali``, or one of our own hosts' names) must not become one of our hosts;
* Sysmon network connections (event 3): the logging host owns ``SourceIp`` when it initiated the
  connection, ``DestinationIp`` otherwise;
* Zeek ``dhcp.log`` (``assigned_addr`` + ``host_name``/``client_fqdn``) and ``ntlm.log``
  (``hostname`` of the client at ``id.orig_h``, internal addresses only, as for logons).

It keeps, per (address, host) pair, how many records said so and when (first/last), so that an
address reused by DHCP resolves to the host that held it at the time of the alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from chainbreaker.correlate.entities import normalise_address, normalise_host
from chainbreaker.detect.analytics.common import is_private

#: Slack around a pair's observed first/last time within which it still counts as current.
LEASE_SLACK = timedelta(hours=24)


@dataclass
class Sighting:
    count: int
    first: datetime | None
    last: datetime | None

    def covers(self, at: datetime) -> bool:
        if self.first is None or self.last is None:
            return True
        return self.first - LEASE_SLACK <= at <= self.last + LEASE_SLACK


class EntityLinks:
    """Address -> host knowledge with counts; also the display spelling of each host key."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], Sighting] = {}
        self._by_address: dict[str, list[str]] = {}  # address -> host keys, for O(1) lookups
        self._display: dict[str, str] = {}
        self._declared: dict[str, str] = {}  # address -> host key from [assets] addresses

    def add(
        self,
        address: str | None,
        host: str | None,
        count: int = 1,
        first: datetime | None = None,
        last: datetime | None = None,
    ) -> bool:
        """Record that ``address`` belonged to ``host``; False when either is not usable."""
        ip, key = normalise_address(address), normalise_host(host)
        if ip is None or key is None or ip.startswith("127.") or ip == "::1":
            return False
        self._display.setdefault(key, str(host).strip().split(".", 1)[0])
        seen = self._pairs.get((ip, key))
        if seen is None:
            self._pairs[(ip, key)] = Sighting(count, first, last)
            self._by_address.setdefault(ip, []).append(key)
            return True
        seen.count += count
        if first is not None:
            seen.first = first if seen.first is None else min(seen.first, first)
        if last is not None:
            seen.last = last if seen.last is None else max(seen.last, last)
        return True

    def declare(self, address: str, host: str) -> bool:
        """A known pair (``[assets] addresses``): it wins over anything learnt, at any time."""
        ip, key = normalise_address(address), normalise_host(host)
        if ip is None or key is None:
            return False
        self._declared[ip] = key
        self._display.setdefault(key, host.strip().split(".", 1)[0])
        return True

    def host_for(self, address: str | None, at: datetime | None = None) -> str | None:
        """Host key that held ``address``: a declared pair, else among the pairs seen within
        LEASE_SLACK of ``at`` (every pair when ``at`` is None) the one with most sightings, then by name."""
        ip = normalise_address(address)
        if ip is None:
            return None
        if ip in self._declared:
            return self._declared[ip]
        candidates = [(host, self._pairs[(ip, host)]) for host in self._by_address.get(ip, ())]
        if at is not None:  # a pair seen months away from the alert says nothing about it (DHCP reuse)
            candidates = [(h, s) for h, s in candidates if s.covers(at)]
        if not candidates:
            return None
        return min(candidates, key=lambda hs: (-hs[1].count, hs[0]))[0]

    def addresses_of(self, host: str) -> tuple[str, ...]:
        key = normalise_host(host) or host
        return tuple(sorted(a for a, h in self._pairs if h == key))

    def display(self, host_key: str) -> str:
        return self._display.get(host_key, host_key.upper())

    def pairs(self) -> list[tuple[str, str, int]]:
        """(address, host key, count), sorted."""
        return sorted((a, h, s.count) for (a, h), s in self._pairs.items())

    def __len__(self) -> int:
        return len(self._pairs)


def _col(batch: pl.DataFrame, *names: str) -> pl.Expr | None:
    """The first of ``names`` present in the batch, as a string expression."""
    for name in names:
        if name in batch.columns:
            return pl.col(name).cast(pl.String, strict=False)
    return None


def _ts(batch: pl.DataFrame) -> pl.Expr:
    return (
        pl.col("timestamp") if "timestamp" in batch.columns else pl.lit(None, dtype=pl.Datetime("ns", "UTC"))
    )


def _pairs_from(batch: pl.DataFrame) -> list[pl.DataFrame]:
    """Per learning source, a frame of (host, ip, timestamp) rows; sources absent from the batch skip."""
    frames: list[pl.DataFrame] = []
    code = pl.col("event_code") if "event_code" in batch.columns else pl.lit(None, dtype=pl.Int32)
    ts = _ts(batch)
    workstation, logon_ip = _col(batch, "WorkstationName"), _col(batch, "IpAddress", "src_ip")
    if workstation is not None and logon_ip is not None:
        frames.append(
            batch.filter(code.is_in([4624, 4625]))
            .select(workstation.alias("host"), logon_ip.alias("ip"), ts.alias("ts"))
            .filter(is_private("ip"))
        )
    src, dst = _col(batch, "SourceIp", "src_ip"), _col(batch, "DestinationIp", "dst_ip")
    if src is not None and dst is not None and "host" in batch.columns:
        sysmon = pl.col("source") == "windows.sysmon" if "source" in batch.columns else pl.lit(False)
        if "provider" in batch.columns:
            sysmon = sysmon | pl.col("provider").str.contains("(?i)sysmon")
        initiated = _col(batch, "Initiated")
        outgoing = initiated.str.to_lowercase() == "true" if initiated is not None else pl.lit(True)
        frames.append(
            batch.filter(sysmon & (code == 3)).select(
                pl.col("host"),
                pl.when(outgoing).then(src).otherwise(dst).alias("ip"),
                ts.alias("ts"),
            )
        )
    dhcp_name, dhcp_ip = _col(batch, "host_name", "client_fqdn"), _col(batch, "assigned_addr")
    if dhcp_name is not None and dhcp_ip is not None:
        frames.append(batch.select(dhcp_name.alias("host"), dhcp_ip.alias("ip"), ts.alias("ts")))
    ntlm_host, orig = _col(batch, "hostname"), _col(batch, "id.orig_h", "src_ip")
    if ntlm_host is not None and orig is not None and "source" in batch.columns:
        frames.append(
            batch.filter(pl.col("source") == "zeek.ntlm")
            .select(ntlm_host.alias("host"), orig.alias("ip"), ts.alias("ts"))
            .filter(is_private("ip"))
        )
    return frames


class EntityLearner:
    """Learns address -> host pairs from event batches (call :meth:`observe` per batch)."""

    def __init__(self, links: EntityLinks | None = None) -> None:
        self.links = links if links is not None else EntityLinks()
        self.rows_used = 0

    def observe(self, batch: pl.DataFrame) -> int:
        """Learn from one batch; returns how many records stated an (address, host) pair."""
        frames = [f for f in _pairs_from(batch) if f.height]
        if not frames:
            return 0
        grouped = (
            pl.concat(frames, how="vertical_relaxed")
            .drop_nulls(["host", "ip"])
            .group_by("host", "ip")
            .agg(pl.len().alias("n"), pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"))
        )
        used = 0
        for host, ip, n, first, last in grouped.iter_rows():
            if self.links.add(ip, host, int(n), first, last):
                used += int(n)
        self.rows_used += used
        return used

    def observe_all(self, batches: Iterable[pl.DataFrame]) -> EntityLinks:
        for batch in batches:
            self.observe(batch)
        return self.links
