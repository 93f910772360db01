"""A giant item read back from its spill file as chunks of its negotiated rates."""

from __future__ import annotations

import json

import pytest

from mrf_assets.tic.fast import giant
from mrf_assets.tic.fast.giant import rate_chunks
from mrf_assets.tic.sources import SourceError

ITEM = {"billing_code": "27447", "name": "knee ключ", "severity_of_illness": None, "negotiated_rates": [
    {"provider_references": [n], "negotiated_prices": [{"negotiated_rate": n + 0.25, "service_code": ["11"]}]}
    for n in range(200)]}


def spilled(tmp_path, item: dict, indent) -> str:
    path = tmp_path / "element.json"
    path.write_text(json.dumps(item, indent=indent, ensure_ascii=False))
    return str(path)


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("chunk_bytes", [1, 500, 1 << 20])
def test_chunks_hold_the_items_fields_and_its_rates_in_order(tmp_path, indent, chunk_bytes):
    chunks = list(rate_chunks(spilled(tmp_path, ITEM, indent), 7, chunk_bytes))
    rates, offsets = [], []
    for blob, offset in chunks:
        item = json.loads(blob)
        assert {k: v for k, v in item.items() if k != "negotiated_rates"} == \
            {k: v for k, v in ITEM.items() if k != "negotiated_rates"}
        offsets.append(offset)
        assert offset == len(rates)
        rates += item["negotiated_rates"]
    assert rates == ITEM["negotiated_rates"]
    if chunk_bytes == 1:
        assert len(chunks) == len(rates)
    elif chunk_bytes == 500:
        assert 1 < len(chunks) < len(rates) and all(len(blob) > 500 for blob, _ in chunks[:-1])
    else:
        assert offsets == [0]


def test_an_item_without_rates_is_one_chunk(tmp_path):
    item = {"billing_code": "x", "negotiated_rates": []}
    assert [(json.loads(b), o) for b, o in rate_chunks(spilled(tmp_path, item, None), 0, 100)] == [(item, 0)]


def test_a_rate_too_big_to_decode_fails_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(giant, "GIANT_RATE", 100)
    path = spilled(tmp_path, ITEM | {"negotiated_rates": [{"x": "y" * 200}]}, None)
    with pytest.raises(SourceError, match=r"in_network\[7\] has a single negotiated rate over 100 bytes"):
        list(rate_chunks(path, 7, 1000))
    assert len(list(tmp_path.iterdir())) == 2  # the rate's spill file lies beside the item's
