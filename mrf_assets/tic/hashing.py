"""The 64-bit mixing that row ids are built from: splitmix64 over numpy arrays and over one Python int, and
the two-lane hash of a text value, computed for a whole column at once or for one value.

A text's hash is defined on its UTF-8 bytes read as little-endian 64-bit words (the last one zero-padded):
each word is mixed with a salt of its position, the mixes are summed (modulo 2**64), and the sum is mixed
with the byte length. Summing keeps a column's hashes one pass of vectorized arithmetic over all of its
words, however long its values; two texts of at most 8 bytes (most codes) and of one length never
collide. The definition uses no library's hash, so ids never change with a library version.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mrf_assets.tic.segments import ranges, run_sums

_GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1  # a Python int's lanes wrap as numpy's uint64 do
_TEXT_SEEDS = (0x452821E638D01377, 0xBE5466CF34E90C6C)  # one per lane, so the lanes are independent
_FEW = 24  # up to this many values, hashing each in Python costs less than the arrays' set-up


def splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64 of every value, in place (callers pass a fresh array): a batch holds millions of
    hashes, and every new array of them is memory this VM touches slowly the first time."""
    x += np.uint64(_GOLDEN)
    shifted = x >> np.uint64(30)
    x ^= shifted
    x *= np.uint64(0xBF58476D1CE4E5B9)
    np.right_shift(x, np.uint64(27), out=shifted)
    x ^= shifted
    x *= np.uint64(0x94D049BB133111EB)
    np.right_shift(x, np.uint64(31), out=shifted)
    x ^= shifted
    return x


def mix(x: int) -> int:
    """splitmix on one Python int."""
    x = (x + _GOLDEN) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def text_lanes(strings: pa.Array) -> np.ndarray:
    """(2, n) uint64: text_hash of every value of a string or binary array. A null's lanes mean nothing:
    callers hash distinct values (a dictionary has no nulls) and give nulls their own hash."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    n = len(strings)
    if n <= _FEW:  # an empty column too
        return np.array([_bytes_hash(value) for value in strings.cast(pa.binary()).to_pylist()],
                        dtype=np.uint64).reshape(n, 2).T
    offsets, text = text_bytes(strings)
    lengths = np.diff(offsets)
    padded = np.concatenate([text, np.zeros(8, dtype=np.uint8)])  # the last word may read past the text
    words_at = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))  # a word at every byte
    counts = (lengths + 7) >> 3
    position = ranges(np.zeros(n, dtype=np.int64), counts)
    byte = np.repeat(offsets[:-1], counts) + 8 * position
    left = np.repeat(lengths, counts) - 8 * position  # bytes of the value from this word on
    words = words_at[byte].astype(np.uint64)
    short = left < 8
    words[short] &= (np.uint64(1) << (np.uint64(8) * left[short].astype(np.uint64))) - np.uint64(1)
    with np.errstate(over="ignore"):
        words ^= splitmix(np.arange(1, counts.max(initial=0) + 1, dtype=np.uint64))[position]
        lanes, sizes = np.empty((2, n), dtype=np.uint64), lengths.astype(np.uint64)
        single = len(words) == n and not (counts - 1).any()  # one word per value, as codes are: nothing to sum
        for lane, seed in enumerate(_TEXT_SEEDS):
            mixed = splitmix(words ^ np.uint64(seed))
            total = mixed if single else run_sums(mixed, counts)
            lanes[lane] = splitmix(total ^ sizes ^ np.uint64(seed))
    return lanes


def text_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string or binary array's values as (offsets counted from the first value's start, int64; their
    bytes one after another, uint8), without copying the bytes."""
    if len(strings) == 0:
        return np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.uint8)
    wide = pa.types.is_large_string(strings.type) or pa.types.is_large_binary(strings.type)
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64 if wide else np.int32,
                            count=strings.offset + len(strings) + 1)[strings.offset:].astype(np.int64)
    data = strings.buffers()[2]
    text = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]] if data is not None else np.empty(0, np.uint8)
    return offsets - offsets[0], text


def text_hash(value: str) -> tuple[int, int]:
    """The two lanes of one text (text_lanes of a one-value column)."""
    return _bytes_hash(value.encode())


def _bytes_hash(data: bytes | None) -> tuple[int, int]:
    """text_hash of UTF-8 bytes (None as empty)."""
    data = data or b""
    totals = [0, 0]
    for start in range(0, len(data), 8):
        word = int.from_bytes(data[start:start + 8], "little")
        salted = word ^ mix(start // 8 + 1)
        for lane in (0, 1):
            totals[lane] = (totals[lane] + mix(salted ^ _TEXT_SEEDS[lane])) & MASK64
    return mix(totals[0] ^ len(data) ^ _TEXT_SEEDS[0]), mix(totals[1] ^ len(data) ^ _TEXT_SEEDS[1])
