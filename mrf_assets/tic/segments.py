"""Index arithmetic over runs of rows (a list's elements, a set's members, a key's rows), vectorized."""

from __future__ import annotations

import numpy as np


def run_starts(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal consecutive keys starts."""
    if len(keys) == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """starts[k], starts[k] + 1, ..., starts[k] + lengths[k] - 1 for every k, one run after another."""
    lengths = np.asarray(lengths, dtype=np.int64)
    before = np.cumsum(lengths) - lengths
    return np.repeat(np.asarray(starts, dtype=np.int64) - before, lengths) + np.arange(lengths.sum())


def run_sums(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sum of each run of values along the last axis, run k being lengths[k] long (an empty run sums
    to 0); uint64 sums wrap modulo 2**64, as hash lanes do."""
    lengths = np.asarray(lengths, dtype=np.int64)
    sums = np.zeros((*values.shape[:-1], values.shape[-1] + 1), dtype=values.dtype)
    np.cumsum(values, axis=-1, out=sums[..., 1:])
    ends = np.cumsum(lengths)
    return sums[..., ends] - sums[..., ends - lengths]
