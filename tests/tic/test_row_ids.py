"""rate_uuid's hashing: stable values, and list fields hashed from their elements."""

from __future__ import annotations

import pyarrow as pa

from mrf_assets.tic import row_ids
from mrf_assets.tic.ids import stable_uuid
from mrf_assets.tic.tables import RATES

LISTS = [None, [], [""], ["a\x1eb"], ["a", "b"], ["b", "a"], ["11"], ["11", None]]


def _hashes(column) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in pair) for pair in row_ids._value_hashes(column).T]


def test_lists_that_once_joined_to_the_same_text_differ():
    hashes = _hashes(pa.array(LISTS, pa.list_(pa.string())))
    assert len(set(hashes[:-1])) == len(LISTS) - 1  # null, [], [""], a separator inside a code, order
    assert hashes[0] == row_ids._NULL


def test_list_hashes_ignore_arrow_layout():
    plain = _hashes(pa.array(LISTS, pa.list_(pa.string())))
    assert _hashes(pa.array(LISTS, pa.large_list(pa.large_string()))) == plain
    assert _hashes(pa.array(LISTS * 2, pa.list_(pa.string())).slice(3, len(LISTS))) == plain[3:] + plain[:3]


def test_rate_uuid_is_a_stable_value():
    row = {name: None for name in RATES.names}
    row.update(payer="p", file_id="f", billing_code_type="CPT", billing_code="99213", negotiated_type="negotiated",
               negotiated_rate=101.5, expiration_date="9999-12-31", billing_class="professional",
               service_code=["01", "11"], billing_code_modifier=[],
               provider_set_uuid=stable_uuid("set"))
    table = pa.Table.from_pylist([row], schema=pa.schema([f for f in RATES if f.name != "rate_uuid"]))
    assert str(row_ids.rate_uuids(table)[0]) == "f8a4cf05-3cc4-8827-ab02-25e004ee5409"


def test_repeated_lists_hashed_once_give_the_element_wise_hashes():
    plain = [None, [], [""], ["a", "b"], ["b", "a"], ["11"], [], ["11"], ["a", "b"], None, [""]]
    for values in (plain, plain + [["a\x1eb"]], plain + [["11", None]],  # these two cannot take the shortcut
                   [[], None, []], [[], []]):  # lists without elements take another
        column = pa.array(values, pa.list_(pa.string()))
        assert _hashes(column) == [tuple(int(v) for v in p) for p in row_ids._element_list_hashes(column).T]
    hashes = _hashes(pa.array(plain, pa.list_(pa.string())))
    assert hashes[1] == hashes[6] != hashes[2] == hashes[10] and hashes[3] == hashes[8] != hashes[4]


def test_a_string_column_hashes_as_the_reference_parser_hashes_each_value():
    values = ["11", "", "é", "11", None, "a" * 300]
    expected = [row_ids._NULL if v is None else row_ids._string_hash(v) for v in values]
    assert _hashes(pa.array(values)) == expected
