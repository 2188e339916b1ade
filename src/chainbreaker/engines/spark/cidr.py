"""CIDR matching without a Python UDF: IPv4 as numbers in Spark SQL, anything with a colon on the driver.

Usually a CIDR leaf never gets here: the job decides it on the field's distinct values with the
Polars back end's own code (:mod:`chainbreaker.engines.spark.decide`). This row-wise form is for
fields with more distinct values than the job collects.

The Polars back end decides each *distinct* value of a field with :mod:`ipaddress` (strip, drop a
``%zone``, IPv4-mapped IPv6 counts as IPv4). We keep that exact meaning in two parts:

* values without ``:`` can only be IPv4: a strict dotted-quad regex (decimal, no leading zeros,
  each octet <= 255, as :mod:`ipaddress` requires) and the address as a number, compared with
  each network's first and last address, all in Spark SQL;
* values with ``:`` (IPv6, mapped IPv4, zone ids) are few: the job collects their distinct values
  once per field (:func:`cidr_fields` names them) and the driver decides them with the *same* Python
  function the Polars back end uses; the column is then tested with ``IN``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.polars_backend import _in_networks

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
DOTTED_QUAD = r"^" + r"\.".join([_OCTET] * 4) + r"\z"
_TRIM = r"(?U)^\s+|\s+$"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks_of(values: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(n, strict=False) for n in values]


def cidr_fields(nodes: Iterable[ir.Node]) -> set[str]:
    """Fields that CIDR leaves test (their colon values are collected before compiling)."""
    return {leaf.field for node in nodes for leaf in ir.leaves(node) if isinstance(leaf, ir.Cidr)}


def decide_colon_values(values: Sequence[str], networks: Sequence[str]) -> list[str]:
    """The values (all containing ``:``) inside any of ``networks``, decided as Polars decides them."""
    nets = networks_of(networks)
    return [v for v in values if _in_networks(v, nets)]


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ipv4_number(text: str) -> str:
    """SQL: the IPv4 address in ``text`` (white space and a ``%zone`` removed) as a number, else null."""
    bare = f"substring_index(regexp_replace({text}, {_literal(_TRIM)}, ''), '%', 1)"
    quad = _literal(DOTTED_QUAD)
    parts = [f"CAST(regexp_extract({bare}, {quad}, {i + 1}) AS BIGINT)" for i in range(4)]
    number = f"{parts[0]} * 16777216 + {parts[1]} * 65536 + {parts[2]} * 256 + {parts[3]}"
    return f"(CASE WHEN {bare} RLIKE {quad} THEN {number} END)"


def cidr_sql(text: str, networks: Sequence[str], colon_hits: Sequence[str] = ()) -> str:
    """SQL: ``text`` lies in one of ``networks``; ``colon_hits`` are the matching values with a ``:``."""
    tests: list[str] = []
    v4 = [n for n in networks_of(networks) if n.version == 4]
    if v4:
        number = ipv4_number(text)
        ranges = " OR ".join(f"n BETWEEN {int(n.network_address)} AND {int(n.broadcast_address)}" for n in v4)
        # a lambda binds the number once instead of parsing the text once per network
        tests.append(f"(NOT contains({text}, ':') AND aggregate(array({number}), false, (a, n) -> {ranges}))")
    if colon_hits:
        tests.append(f"({text} IN ({', '.join(_literal(v) for v in colon_hits)}))")
    return "(" + " OR ".join(tests) + ")" if tests else "false"


def colon_hits_for(leaf: ir.Cidr, colon_values: Mapping[str, Sequence[str]]) -> list[str]:
    return decide_colon_values(colon_values.get(leaf.field, ()), leaf.networks)
