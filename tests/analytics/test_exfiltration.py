"""large_outbound_transfer (detect/analytics/impact.py): the host's baseline leaves the tested pair out."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from pathlib import Path

import polars as pl
from analytics_events import at, batch, run

from chainbreaker.detect.analytics.common import conform_columns, is_private
from chainbreaker.detect.analytics.impact import with_median_of_others
from chainbreaker.detect.analytics.network import CONN_COLUMNS, CONN_SOURCES, connections
from chainbreaker.readers import read_paths
from chainbreaker.readers.base import ReadReport

Dataset = Callable[[str], Path]
HOST = "10.0.0.4"


def zeek(t: float, dst: str, out: int, back: int = 2_000, src: str = HOST) -> dict:
    return {"timestamp": at(t), "source": "zeek.conn", "src_ip": src, "dst_ip": dst, "dst_port": 443,
            "proto": "tcp", "conn_state": "SF", "orig_bytes": out, "resp_bytes": back}  # fmt: skip


def suricata(t: float, dst: str, out: int, back: int = 2_000, src: str = HOST) -> dict:
    return {"timestamp": at(t), "source": "suricata.flow", "src_ip": src, "dst_ip": dst, "dst_port": 443,
            "proto": "TCP", "flow.bytes_toserver": out, "flow.bytes_toclient": back,
            "flow.pkts_toclient": 10}  # fmt: skip


def pairs(rows: list[dict], **params: object) -> list[tuple[str | None, str | None, str]]:
    alerts = run("large_outbound_transfer", batch(rows), **params)
    return [(a.src_ip, a.dst_ip, a.description) for a in alerts]


def test_one_big_upload_beside_one_small_destination() -> None:
    # With the pair in its own baseline the median of {1 kB, 700 MB} is 350 MB and the ratio 2: missed.
    rows = [zeek(0, "198.51.100.7", 1_000), zeek(60, "203.0.113.50", 700_000_000, back=80_000)]
    ((src, dst, text),) = pairs(rows)
    assert (src, dst) == (HOST, "203.0.113.50")
    assert text == (
        "10.0.0.4 sent 700.0 MB to 203.0.113.50 (700000.0x its median of 1.0 kB over its 1 other "
        "external destination(s); 80.0 kB received)"
    )


def test_similar_transfers_and_internal_destinations_are_not_reported() -> None:
    # A backup host sending ~150 MB to each of five offsite stores: each is ~1x the median of the others.
    similar = [zeek(i, f"198.51.100.{i}", 150_000_000 + i * 1_000_000) for i in range(1, 6)]
    assert pairs(similar) == []
    # The same 700 MB upload to an internal file server, beside a small external destination.
    internal = [zeek(0, "198.51.100.7", 1_000), zeek(60, "10.0.5.20", 700_000_000)]
    assert pairs(internal) == []
    # Just under the size floor, far above the baseline.
    small = [zeek(0, "198.51.100.7", 1_000), zeek(60, "203.0.113.50", 99_000_000)]
    assert pairs(small) == []
    assert [dst for _, dst, _ in pairs(small, min_bytes=90_000_000)] == ["203.0.113.50"]


def test_download_from_one_big_cdn_is_not_an_upload() -> None:
    # A host streaming 2 GB from a CDN: few bytes out, so no finding, alone or beside other traffic.
    cdn = [zeek(i, "192.0.2.80", 400_000, back=200_000_000) for i in range(10)]
    assert pairs(cdn) == []
    assert pairs([*cdn, zeek(0, "198.51.100.7", 1_000), zeek(1, "198.51.100.8", 3_000)]) == []


def test_a_host_with_no_other_external_destination_meets_the_size_floor_only() -> None:
    # No baseline to compare with: an upload-heavy transfer above min_bytes is reported on its size.
    ((_, dst, text),) = pairs([zeek(0, "203.0.113.50", 700_000_000)])
    assert dst == "203.0.113.50"
    assert "its only external destination in the data: no baseline, size floor only" in text
    assert pairs([zeek(0, "203.0.113.50", 60_000_000)]) == []


def test_two_equal_big_destinations() -> None:
    # Alone, each is the other's baseline: a host that always sends 700 MB at a time (ratio 1).
    two = [zeek(0, "203.0.113.50", 700_000_000), zeek(1, "203.0.113.51", 700_000_000)]
    assert pairs(two) == []
    # Beside the host's ordinary small traffic the median of the others stays small: both reported.
    usual = [zeek(10 + i, f"198.51.100.{i}", 20_000, back=300_000) for i in range(1, 6)]
    assert sorted(str(dst) for _, dst, _ in pairs(two + usual)) == ["203.0.113.50", "203.0.113.51"]


def test_two_sensors_seeing_one_transfer_count_it_once() -> None:
    # Zeek and Suricata both log the upload: one finding with the bytes of one view, not their sum,
    # citing both records (rows 2 and 4 of the batch; Suricata's, which counted more, first).
    rows = [zeek(0, "198.51.100.7", 1_000), zeek(60, "203.0.113.50", 700_000_000)]
    rows += [suricata(0, "198.51.100.7", 1_100), suricata(60, "203.0.113.50", 700_000_600)]
    (alert,) = run("large_outbound_transfer", batch(rows))
    assert alert.dst_ip == "203.0.113.50" and "sent 700.0 MB" in alert.description
    assert [r.record for r in alert.event_refs] == [4, 2]
    # 60 MB seen twice is still 60 MB, under the 100 MB floor.
    twice = [zeek(0, "198.51.100.7", 1_000), zeek(60, "203.0.113.50", 60_000_000)]
    twice += [suricata(0, "198.51.100.7", 1_000), suricata(60, "203.0.113.50", 60_000_000)]
    assert pairs(twice) == []


def brute_median_of_others(frame: pl.DataFrame, keys: tuple[str, ...], value: str) -> list[float | None]:
    """The definition, one row at a time (quadratic): the median of the group's other rows."""
    rows = frame.to_dicts()
    answer: list[float | None] = []
    for i, row in enumerate(rows):
        others = [r[value] for j, r in enumerate(rows) if j != i and all(r[k] == row[k] for k in keys)]
        answer.append(float(statistics.median(others)) if others else None)
    return answer


def test_median_of_others_matches_its_definition() -> None:
    rnd = random.Random(5)
    rows = [
        {"host": f"h{h}", "dst": d, "v": rnd.choice([0, 7, 7, rnd.randint(0, 10**9)])}
        for h in range(60)
        for d in range(rnd.randint(1, 8))
    ]
    frame = pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=2)  # groups interleaved
    got = with_median_of_others(frame, "v", ("host",))
    assert got.height == frame.height
    assert got["_baseline"].to_list() == brute_median_of_others(got, ("host",), "v")
    assert got["_others"].to_list() == got.select(pl.len().over("host") - 1).to_series().to_list()


def external_pairs(folder: Path) -> pl.DataFrame:
    frames = [
        connections(conform_columns(b.filter(pl.col("source").is_in(list(CONN_SOURCES))), CONN_COLUMNS))
        for b in read_paths([folder], ReadReport(), workers=1)
    ]
    conns = pl.concat([f for f in frames if f.height], how="vertical_relaxed")
    return (
        conns.filter(is_private("src_ip") & ~is_private("dst_ip"))
        .group_by("source", "src_ip", "dst_ip")
        .agg(pl.col("out_bytes").sum())
    )


def test_real_zeek_traffic(dataset: Dataset) -> None:
    """Ordinary hosts of the corpora (a proxy with 402 external destinations, web and mail clients)."""
    folders = [
        dataset("zeek-edge-cases") / "rita-test-data" / "test_data" / "proxy_rolling",
        dataset("slips") / "slips-dataset" / "dataset" / "test9-mixed-zeek-dir",
    ]
    for folder in folders:
        real = external_pairs(folder)
        largest = real.get_column("out_bytes").max()
        assert real.height > 100 and isinstance(largest, int) and largest < 1_000_000  # none near the floor
        got = with_median_of_others(real, "out_bytes", ("source", "src_ip"))
        assert got["_baseline"].to_list() == brute_median_of_others(got, ("source", "src_ip"), "out_bytes")
        alerts = run("large_outbound_transfer", *read_paths([folder], ReadReport(), workers=1))
        assert alerts == []
