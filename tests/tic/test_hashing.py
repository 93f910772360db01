"""Text hashes: a column's lanes equal each value's own hash, whatever the Arrow layout (columns longer
than hashing._FEW take the vectorized path, shorter ones the scalar one)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from mrf_assets.tic.hashing import _FEW, mix, splitmix, text_hash, text_lanes

EDGES = ["", "\x00", "a", "a\x00", "1234567", "12345678", "123456789", "x" * 16, "x" * 17, "é", "ü" * 40]
MANY = EDGES + [f"{n:05d}" for n in range(_FEW)]  # enough values to be hashed as arrays


def _lanes(column) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in pair) for pair in text_lanes(column).T]


def test_a_column_hashes_as_each_of_its_values():
    assert _lanes(pa.array(MANY)) == [text_hash(v) for v in MANY]
    assert _lanes(pa.array(EDGES)) == [text_hash(v) for v in EDGES]


@given(st.lists(st.text(max_size=40), max_size=2 * _FEW))
def test_any_text_hashes_alike_in_a_column_and_alone(values):
    assert _lanes(pa.array(values, pa.string())) == [text_hash(v) for v in values]


@given(st.lists(st.sampled_from(["", "ab", "12345678", "é" * 5]), min_size=_FEW + 1, max_size=3 * _FEW))
def test_a_column_of_one_word_values_hashes_alike_in_a_column_and_alone(values):
    assert _lanes(pa.array(values, pa.string())) == [text_hash(v) for v in values]


def test_the_arrow_layout_does_not_change_a_hash():
    for values in (MANY, EDGES):
        plain = _lanes(pa.array(values))
        assert _lanes(pa.array(values, pa.large_string())) == plain
        assert _lanes(pa.array([v.encode() for v in values], pa.binary())) == plain
        assert _lanes(pa.array(values * 2).slice(3, len(values))) == plain[3:] + plain[:3]
        assert _lanes(pa.chunked_array([values[:4], values[4:]])) == plain
    assert text_lanes(pa.array([], pa.string())).shape == (2, 0)
    assert _lanes(pa.array([""] * 2 * _FEW)) == [text_hash("")] * 2 * _FEW  # no text bytes at all


def test_texts_that_differ_only_in_length_or_trailing_zeros_differ():
    assert len(set(_lanes(pa.array(MANY)))) == len(MANY)


def test_a_hundred_thousand_codes_hash_apart_in_each_lane():
    codes = pa.array([f"{n:05d}" for n in range(100_000)] + [f"J{n:04d}" for n in range(10_000)])
    lanes = text_lanes(codes)
    assert len(np.unique(lanes[0])) == len(np.unique(lanes[1])) == len(codes)


def test_the_definition_is_pinned():
    # Ids in every lake are built from these; a change to them re-keys every rate and provider set.
    assert text_hash("99213") == (0xFDA17C58A3DFB192, 0xDE2FFF6913A2754F)
    assert mix(0) == int(splitmix(np.zeros(1, dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF
