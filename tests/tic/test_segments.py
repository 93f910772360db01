"""Index arithmetic over runs: what hashing and the flatteners build their gathers and sums on."""

from __future__ import annotations

import numpy as np

from mrf_assets.tic.segments import ranges, run_starts, run_sums


def test_ranges_lists_each_run_of_positions_one_after_another():
    assert ranges(np.array([10, 0, 5]), np.array([2, 0, 3])).tolist() == [10, 11, 5, 6, 7]
    assert ranges(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == []


def test_run_starts_finds_where_equal_keys_begin():
    assert run_starts(np.array([4, 4, 1, 1, 1, 4])).tolist() == [0, 2, 5]
    assert run_starts(np.array([])).tolist() == []


def test_run_sums_adds_each_run_empty_runs_included_and_wraps_like_hash_lanes():
    values = np.array([1, 2, 3, 4, 5], dtype=np.int64)
    assert run_sums(values, [2, 0, 3, 0]).tolist() == [3, 0, 12, 0]
    lanes = np.array([[1, 2, 3], [10, 20, 30]], dtype=np.uint64)
    assert run_sums(lanes, [1, 2]).tolist() == [[1, 5], [10, 50]]
    top = np.array([2**64 - 1, 2], dtype=np.uint64)
    with np.errstate(over="ignore"):
        assert run_sums(top, [2]).tolist() == [1]
