"""Decoding batches of items: decimal provider ids are quoted in the bytes only where their text survives
as is, and text that is not UTF-8 is refused as the reference path refuses it."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from mrf_assets.tic.fast.decode import (ITEM_SCHEMA, TEXT_ID_ITEM_SCHEMA, IdDecoder, check_utf8, item_decoder,
                                        quote_group_ids, quote_reference_ids)


@pytest.mark.parametrize("raw, expected", [
    (b'{"provider_references":[690.64500, 12 ,0.5]}', {"provider_references": ["690.64500", "12", "0.5"]}),
    (b'{"provider_references" :\n [\n  1,\n  2\n ]}', {"provider_references": ["1", "2"]}),
    (b'{"provider_references":[]}', {"provider_references": []}),
    (b'{"provider_references":[1, null]}', {"provider_references": ["1", None]}),
    (b'{"provider_references":["7"]}', {"provider_references": ["7"]}),
    # Python writes these differently (1E+5, 0, 1E-7): left as numbers, so the batch cannot decode as text
    (b'{"provider_references":[1e5,-0,0.0000001,2]}', {"provider_references": [1e5, 0, 1e-7, "2"]}),
    # the key inside a string is not a key
    (b'{"d":"\\"provider_references\\":[1]","provider_references":[2]}',
     {"d": '"provider_references":[1]', "provider_references": ["2"]}),
])
def test_reference_ids_are_quoted_when_their_text_is_exact(raw, expected):
    assert json.loads(quote_reference_ids(raw)) == expected


def test_a_list_with_an_inexact_id_keeps_its_other_ids_quoted():
    quoted = quote_reference_ids(b'{"provider_references":[1,01]}\n{"provider_references":[690.500]}')
    assert quoted == b'{"provider_references":["1",01]}\n{"provider_references":["690.500"]}'


def test_several_lists_in_one_buffer_keep_their_own_ids():
    lines = [json.dumps({"negotiated_rates": [{"provider_references": [i, i + 0.5]} for i in range(n)]}).encode()
             for n in range(4)]
    got = [json.loads(line) for line in quote_reference_ids(b"\n".join(lines)).split(b"\n")]
    assert got == [{"negotiated_rates": [{"provider_references": [str(i), f"{i}.5"]} for i in range(n)]}
                   for n in range(4)]


@pytest.mark.parametrize("raw, quoted", [
    (b'{"provider_group_id": 690.64500, "x": 1}', b'{"provider_group_id": "690.64500", "x": 1}'),
    (b'{"provider_group_id":7}', b'{"provider_group_id":"7"}'),
    (b'{"provider_group_id":1e5}', b'{"provider_group_id":1e5}'),
    (b'{"provider_group_id":"A1"}', b'{"provider_group_id":"A1"}'),
])
def test_group_ids_are_quoted_when_their_text_is_exact(raw, quoted):
    assert quote_group_ids(raw) == quoted


def test_a_file_stays_on_text_ids_once_a_batch_needed_them():
    items = item_decoder()
    item = b'{"billing_code":"1","negotiated_rates":[{"provider_references":[%s],"negotiated_prices":[]}]}'
    assert items.decode([item % b"7"]).schema == ITEM_SCHEMA and not items.text_ids
    decimal = items.decode([item % b"690.64500"])
    assert items.text_ids and decimal["negotiated_rates"][0][0]["provider_references"].as_py() == ["690.64500"]
    later = items.decode([item % b"7"])  # integers as the same text, no failed integer decode first
    assert later.schema == TEXT_ID_ITEM_SCHEMA and later["negotiated_rates"][0][0]["provider_references"].as_py() == ["7"]


@pytest.mark.parametrize("value, quoted", [(b'"12.5"', False), (b"12.5", True)])
def test_ids_are_quoted_only_when_an_id_can_be_what_failed(value, quoted):
    """A quoted rate fails whatever the ids are: the batch is not quoted and decoded again for nothing."""
    passes = []
    items = IdDecoder(ITEM_SCHEMA, TEXT_ID_ITEM_SCHEMA, lambda data: passes.append(1) or quote_reference_ids(data))
    item = (b'{"negotiated_rates":[{"provider_references":[1.5],'
            b'"negotiated_prices":[{"negotiated_rate":%s}]}]}' % value)
    if quoted:
        assert items.decode([item])["negotiated_rates"][0][0]["provider_references"].as_py() == ["1.5"]
    else:
        with pytest.raises(pa.ArrowInvalid, match=r"negotiated_rate\) changed from number to string in row 0"):
            items.decode([item])
    assert len(passes) == quoted and items.text_ids == quoted


@pytest.mark.parametrize("text", [b"", b'{"name":"plain"}', '{"name":"Clínica Niño 😀"}'.encode()])
def test_utf8_text_passes_the_check(text):
    check_utf8(text)
    check_utf8(bytearray(text))


@pytest.mark.parametrize("text, position", [
    (b'{"name":"\xff"}', 9),                                # not a start byte, in otherwise ASCII text
    ('{"name":"Niño'.encode() + b'\xed\xa0\x80"}', 14),     # an encoded surrogate, after valid non-ASCII text
    ('"é"'.encode() + b'\xc3', 4),                           # a character cut short at the end
])
def test_text_that_is_not_utf8_fails_naming_its_first_bad_byte(text, position):
    with pytest.raises(UnicodeDecodeError) as failed:
        check_utf8(bytearray(text))
    assert failed.value.start == position
