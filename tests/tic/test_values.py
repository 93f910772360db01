"""The value rules both parsers share: what a payer's JSON value becomes in the lake."""

from __future__ import annotations

import math
from decimal import Decimal

from mrf_assets.tic.values import coerce_npi, id_text, normalize_tin, number, place_of_service, record_json, text


def test_provider_group_ids_keep_their_token_text():
    assert [id_text(v) for v in (Decimal("690.64500"), 12, "A-7", None, True)] == ["690.64500", "12", "A-7", None, None]


def test_numbers_from_json_and_from_text():
    assert [number(v) for v in (12, Decimal("80.50"), " 1,250.00 ", "n/a", True, None)] == \
        [12.0, 80.5, 1250.0, None, None, None]
    assert number(10 ** 400) == math.inf and number(-(10 ** 400)) == -math.inf  # beyond a double, as 1e400 reads


def test_npis_are_integers_a_64_bit_column_holds():
    assert [coerce_npi(v) for v in (1730666900, Decimal("1730666900"), " 1730666900 ", Decimal("1.5"), "NA", False)] == \
        [1730666900] * 3 + [None] * 3
    assert coerce_npi(1 << 63) is None and coerce_npi((1 << 63) - 1) == (1 << 63) - 1


def test_tins_and_service_codes():
    assert normalize_tin("ein", " 12-3456789 ") == "123456789"
    assert normalize_tin("npi", "12-3456789") == "12-3456789" and normalize_tin("ein", None) is None
    assert place_of_service(["1", " 11", "A1", None]) == ["01", "11", "A1"] and place_of_service("2") == ["02"]
    assert place_of_service(None) is None and text(7) == "7"


def test_a_rejected_record_is_kept_as_json_up_to_a_limit():
    assert record_json({"a": Decimal("1.5")}) == '{"a":"1.5"}'
    assert record_json({"a": "x" * 50}, limit=20).endswith("...(truncated)")
