"""The event model: conform() puts any batch into the shared schema."""

from __future__ import annotations

import polars as pl

from chainbreaker.events import NORMALISED_COLUMNS, NORMALISED_SCHEMA, conform


def test_conform_adds_casts_and_orders():
    raw = pl.DataFrame({"query": ["a", "b"], "dst_port": ["53", "x"], "count": [1, 2], "host": ["h", None]})
    out = conform(raw)
    assert out.columns == [*NORMALISED_COLUMNS, "query", "count"]
    assert out.schema["dst_port"] == pl.Int32 and out["dst_port"].to_list() == [53, None]
    assert out.schema["count"] == pl.String and out["count"].to_list() == ["1", "2"]
    assert out["host"].to_list() == ["h", None] and out["timestamp"].null_count() == 2
    assert dict(list(out.schema.items())[: len(NORMALISED_SCHEMA)]) == NORMALISED_SCHEMA


def test_a_conformed_batch_comes_back_equal_and_separate():
    once = conform(pl.DataFrame({"query": ["a"], "src_port": [1]}))
    twice = conform(once)
    assert twice.equals(once) and twice.schema == once.schema
    assert twice is not once
    twice.insert_column(0, pl.Series("x", ["y"]))  # the caller's copy: the first stays as it was
    assert once.columns[0] == "timestamp"
    # not conformed: a non-string original column, or normalised columns out of order
    cast = conform(once.with_columns(pl.lit(5).alias("extra")))
    assert cast.schema["extra"] == pl.String and cast["extra"].to_list() == ["5"]
    moved = conform(once.select("source", pl.exclude("source")))
    assert moved.columns == once.columns and moved.equals(once)
