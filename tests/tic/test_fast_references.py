"""Provider references on the fast path: the id index finds exactly the rows a join would."""

from __future__ import annotations

import dataclasses

import polars as pl

from mrf_assets.tic.fast.file_references import latest
from mrf_assets.tic.fast.references import MAX_LOOKUP_ID, REFERENCE_COLUMNS, reference_table, with_member_states


def ident(short: str | None) -> bytes | None:
    return None if short is None else short.encode().ljust(16, b"_")  # a readable 16-byte id


def frame(*rows: tuple) -> pl.DataFrame:
    """Rows (ref, ref_key, group, organization, failure): a reference's groups share its `ref`."""
    rows = [(ref, key, ident(group), ident(org), failure) for ref, key, group, org, failure in rows]
    refs = pl.DataFrame(rows, schema={"ref": pl.UInt32, **REFERENCE_COLUMNS}, orient="row")
    return with_member_states(refs, "ref_key")


REFS = frame((0, "3", "g1", "o1", None), (0, "3", "g2", "o2", None),
             (1, "10", None, None, "provider reference 10 has no groups"), (2, "4", "g1", "o1", None))


def probe(ids: list[int]) -> pl.Series:
    return pl.Series("provider_references", ids, dtype=pl.Int64)


def test_index_lookup_equals_the_join():
    table = reference_table(latest([REFS]))
    assert table.starts is not None  # small integer ids: indexed
    ids = probe([4, 3, 99, 10, 3, -1])
    at, rows = table.find(ids)
    joined = dataclasses.replace(table, starts=None, lengths=None).find(ids)
    assert (at == joined[0]).all() and (rows == joined[1]).all()
    assert at.tolist() == [0, 1, 1, 2, 3, 4, 4, 5]
    column = table.members["provider_group_uuid"].combine_chunks().storage  # the 16 bytes of each id
    groups = [column[r].as_py() if r >= 0 else None for r in rows]
    assert groups == [ident(g) for g in ("g1", "g1", "g2", None, None, "g1", "g2", None)]
    assert table.failed[rows[4]] and rows[3] == rows[7] == -1  # 10 has a failure; 99 and -1 are undefined


def test_ids_the_index_cannot_take_use_the_join():
    big = frame((0, str(MAX_LOOKUP_ID + 1), "g1", "o1", None))
    decimal = frame((0, "690.64500", "g1", "o1", None))
    padded = frame((0, "007", "g1", "o1", None))
    for refs in (big, decimal, padded):
        assert reference_table(latest([refs])).starts is None
