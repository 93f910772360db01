"""A file's provider references on the fast path: the last listing of an id wins, and a file's ids turn
to text from the first batch with a decimal one."""

from __future__ import annotations

import polars as pl

from mrf_assets.tic.fast.file_references import FileReferences, latest
from tests.tic.test_fast_references import REFS, frame, ident


def test_a_reference_listed_twice_keeps_its_last_listing():
    again = frame((0, "3", "g9", "o9", None))
    got = latest([REFS, again])
    assert got.filter(pl.col("ref_key") == "3")["group_uuid"].to_list() == [ident("g9")]
    assert got.height == 3


def reference_events(*ids: str) -> list[tuple]:
    group = b'{"npi":[1234567893],"tin":{"type":"ein","value":"12-3456789"}}'
    return [("element", "provider_references", b'{"provider_group_id":%s,"provider_groups":[%s]}' % (i.encode(), group))
            for i in ids]


def test_a_file_with_decimal_ids_decodes_its_later_batches_as_text():
    """The first batch with a decimal id switches the file; later integer ids then come as the same text
    their integer decoding gives."""
    alone = FileReferences().prepare(reference_events("7", "12"))
    refs = FileReferences()
    first = refs.prepare(reference_events("690.64500", "3"))
    assert refs.ids.text_ids and first[0]["ref_key"].to_list() == ["690.64500", "3"]
    later = refs.prepare(reference_events("7", "12"))
    assert later[0].equals(alone[0])
