"""Correlation settings: the ``[correlate]`` and ``[assets]`` config sections as a frozen value.

Callers pass a plain mapping (``{"correlate": {...}, "assets": {...}}`` or the ``[correlate]``
section alone); unknown keys and bad values raise ConfigError at construction, never mid-run.
Every default is documented in docs/CORRELATION.md.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainbreaker.alerts import Level
from chainbreaker.durations import duration_seconds
from chainbreaker.errors import ConfigError

#: Alerts of one entity further apart than this (seconds) do not join the same incident.
DEFAULT_WINDOW = 12 * 3600
#: Alerts on one process (or a parent and its child) this far apart (seconds) still join: an implant
#: lives for days, but a process guid seen again months later is a reverted lab snapshot, not a link.
DEFAULT_PROCESS_WINDOW = 3 * 86400
#: Repeated hits of one rule on one entity within this gap (seconds) fold into one finding.
DEFAULT_FINDING_WINDOW = 3600
#: Alerts below this level never open an incident; they join one they share an entity with.
DEFAULT_MIN_LEVEL = Level.medium
#: Address ranges counted as internal (their owners are hosts, not block-list entries).
DEFAULT_INTERNAL_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
)
#: Host name patterns of crown jewels (fnmatch, case-insensitive): domain controllers by default.
DEFAULT_CROWN_JEWELS = ("dc*", "*-dc*", "*dc0*")

_CORRELATE_KEYS = {
    "window",
    "process_window",
    "finding_window",
    "min_level",
    "link_users",
    "link_addresses",
    "process_trees",
    "internal_networks",
    "ignore_users",
    "ignore_addresses",
}
_ASSET_KEYS = {"crown_jewels", "crown_jewel_points", "addresses"}


def parse_duration(value: Any, key: str) -> int:
    """Seconds from an int or a string such as ``"90s"``, ``"30m"``, ``"1h30m"``, ``"2d"``
    (:mod:`chainbreaker.durations`)."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a duration, got {value!r}", "config section correlate")
    if isinstance(value, int | float):
        seconds = int(value)
    else:
        parsed = duration_seconds(str(value))
        if parsed is None:
            raise ConfigError(
                f"{key}: expected a duration such as 30m or 12h, got {value!r}", "config section correlate"
            )
        seconds = int(parsed)
    if seconds <= 0:
        raise ConfigError(f"{key}: duration must be positive, got {value!r}", "config section correlate")
    return seconds


@dataclass(frozen=True, slots=True)
class CorrelateSettings:
    window: int = DEFAULT_WINDOW
    process_window: int = DEFAULT_PROCESS_WINDOW
    finding_window: int = DEFAULT_FINDING_WINDOW
    min_level: Level = DEFAULT_MIN_LEVEL
    link_users: bool = True  # shared accounts link hosts (lateral movement, credential reuse)
    link_addresses: bool = True  # shared addresses link alerts (C2 destination, scanner source)
    process_trees: bool = True  # same process, parent -> child: link within process_window
    internal_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
        ipaddress.ip_network(n) for n in DEFAULT_INTERNAL_NETWORKS
    )
    ignore_users: tuple[str, ...] = ()  # extra account names never used to link (lower case)
    # Shared infrastructure every host talks to (resolvers, proxies, your own scanners): never links.
    ignore_addresses: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    crown_jewels: tuple[str, ...] = DEFAULT_CROWN_JEWELS
    crown_jewel_points: int = 15
    asset_addresses: tuple[tuple[str, str], ...] = ()  # declared (address, host) pairs from [assets]

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None) -> CorrelateSettings:
        """Build from a whole configuration (``{"correlate": {...}, "assets": {...}, ...}``, other
        sections ignored) or a bare ``[correlate]`` section."""
        if config is None:
            return cls()
        if config and set(config) <= _CORRELATE_KEYS:  # the bare [correlate] section
            correlate, assets = dict(config), {}
        else:  # a whole configuration: other sections ([analytics], [intel]...) are not ours
            correlate = dict(config.get("correlate") or {})
            assets = dict(config.get("assets") or {})
        unknown = (set(correlate) - _CORRELATE_KEYS) | {f"assets.{k}" for k in set(assets) - _ASSET_KEYS}
        if unknown:
            raise ConfigError(
                f"unknown correlation settings: {', '.join(sorted(unknown))}", "config section correlate"
            )
        kwargs: dict[str, Any] = {}
        for key in ("window", "process_window", "finding_window"):
            if key in correlate:
                kwargs[key] = parse_duration(correlate[key], key)
        if "min_level" in correlate:
            try:
                kwargs["min_level"] = Level.parse(correlate["min_level"])
            except ValueError as exc:
                raise ConfigError(f"min_level: {exc}", "config section correlate") from None
        for key in ("link_users", "link_addresses", "process_trees"):
            if key in correlate:
                if not isinstance(correlate[key], bool):
                    raise ConfigError(f"{key}: expected true or false", "config section correlate")
                kwargs[key] = correlate[key]
        for key in ("internal_networks", "ignore_addresses"):
            if key in correlate:
                try:
                    kwargs[key] = tuple(ipaddress.ip_network(str(n), strict=False) for n in correlate[key])
                except ValueError as exc:
                    raise ConfigError(f"{key}: {exc}", "config section correlate") from None
        if "ignore_users" in correlate:
            kwargs["ignore_users"] = tuple(str(u).lower() for u in correlate["ignore_users"])
        if "crown_jewels" in assets:
            kwargs["crown_jewels"] = tuple(str(p).lower() for p in assets["crown_jewels"])
        if "crown_jewel_points" in assets:
            kwargs["crown_jewel_points"] = int(assets["crown_jewel_points"])
        if "addresses" in assets:
            pairs = assets["addresses"]
            if not isinstance(pairs, Mapping):
                raise ConfigError(
                    "assets.addresses: expected a table of address = host", "config section assets"
                )
            kwargs["asset_addresses"] = tuple((str(a), str(h)) for a, h in sorted(pairs.items()))
        return cls(**kwargs)

    def is_internal(self, address: str) -> bool:
        return _in_any(address, self.internal_networks)

    def is_ignored_address(self, address: str) -> bool:
        return _in_any(address, self.ignore_addresses)


def _in_any(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
