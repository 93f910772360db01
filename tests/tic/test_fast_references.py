"""Provider references on the fast path: the id index finds exactly the rows a join would."""

from __future__ import annotations

import polars as pl

from mrf_assets.tic.fast.references import MAX_LOOKUP_ID, REFERENCE_COLUMNS, latest, reference_table


def frame(*rows: tuple) -> pl.DataFrame:
    """Rows (ref, ref_key, group, organization, failure): a reference's groups share its `ref`."""
    return pl.DataFrame(rows, schema={"ref": pl.UInt32, **REFERENCE_COLUMNS}, orient="row")


REFS = frame((0, "3", "g1", "o1", None), (0, "3", "g2", "o2", None),
             (1, "10", None, None, "provider reference 10 has no groups"), (2, "4", "g1", "o1", None))


def probe(ids: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"provider_references": ids}, schema={"provider_references": pl.Int64}).with_row_index(
        "order").with_columns(pl.col("provider_references").cast(pl.String).alias("ref_key"))


def test_index_lookup_equals_the_join():
    table = reference_table(latest([REFS]))
    assert table.starts is not None  # small integer ids: indexed
    ids = probe([4, 3, 99, 10, 3, -1])
    by_index = table.look_up(ids)
    by_join = ids.join(table.frame, on="ref_key", how="left").sort("order", "seq", nulls_last=True)
    assert by_index.select(by_join.columns).equals(by_join)
    assert by_index["group_uuid"].to_list() == ["g1", "g1", "g2", None, None, "g1", "g2", None]


def test_ids_the_index_cannot_take_use_the_join():
    big = frame((0, str(MAX_LOOKUP_ID + 1), "g1", "o1", None))
    decimal = frame((0, "690.64500", "g1", "o1", None))
    padded = frame((0, "007", "g1", "o1", None))
    for refs in (big, decimal, padded):
        assert reference_table(latest([refs])).starts is None


def test_a_reference_listed_twice_keeps_its_last_listing():
    again = frame((0, "3", "g9", "o9", None))
    got = latest([REFS, again])
    assert got.filter(pl.col("ref_key") == "3")["group_uuid"].to_list() == ["g9"]
    assert got.height == 3
