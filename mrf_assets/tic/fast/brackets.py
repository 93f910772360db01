"""Where a window of JSON bytes has its structural brackets, with columnar operations (polars over a
zero-copy view of the bytes): no Python per byte or per token. A window is classified without the state
of the ones before it, so a pool can classify several at once; the scanner picks the in-string parity."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

WINDOW = 4 << 20  # big blocks are cut into windows: cache-sized, and classified two at a time
_ARANGE = pl.arange(0, WINDOW, dtype=pl.UInt32, eager=True)
_NOTHING = (None, (), None, 0, 0)


def classify(win, carry: int = 0, parities=(0, 1)) -> tuple:
    """What one window tells without state from earlier ones (so the pool can compute it): (first byte,
    real quotes, trailing backslashes, candidates). candidates[p] = (positions, bytes, level from the
    window start, lowest level, depth change) of brackets with p real quotes (mod 2) before them in the
    window; the in-string state at its start picks the set. `carry`: backslashes just before it."""
    first = win[0] if len(win) else -1
    s = pl.from_arrow(pa.Array.from_buffers(pa.uint8(), len(win), [None, pa.py_buffer(win)]))
    mask = (s == 34) | (((s | 32) - 123) < 3)  # [ \ ] { | } are the bytes whose value|0x20 is 123..125
    pos, ch = _ARANGE.slice(0, len(win)).filter(mask), s.filter(mask)
    if not len(ch):
        return first, 0, 0, {0: _NOTHING, 1: _NOTHING}
    isq, trailing = _unescape(s, pos, ch == 34, pos.filter(ch == 92), carry)
    # Real quotes before the i-th non-quote entry = its index among all entries minus i: two
    # filters give every bracket's parity, where a cumulative sum would cost more.
    other = ~isq
    idx, och = _ARANGE.slice(0, len(isq)).filter(other), ch.filter(other)
    br = ((och | 32) & 0xF9) == 0x79  # { } [ ] but not \ or |
    parity = ((idx - _ARANGE.slice(0, len(idx))) & 1).filter(br)
    bpos, bch = pos.filter(other).filter(br), och.filter(br)
    candidates = {}
    for p in parities:
        where, c = bpos.filter(parity == p), bch.filter(parity == p)
        opener = ((c & 2) > 0).cast(pl.Int32)  # [ and { have bit 1 set, ] and } do not
        depth = (opener * 2 - 1).cum_sum()
        level = depth - opener
        candidates[p] = (where, c, level, level.min() if len(c) else 0, depth[-1] if len(c) else 0)
    return first, len(isq) - len(idx), trailing, candidates


def _unescape(s, pos, isq, bsl, carry: int):
    """Unmark quotes after an odd run of backslashes; also return the run that ends the window."""
    n, esc, trailing = len(s), [], 0
    if carry & 1 and s[0] == 34:
        esc.append(pl.Series([0], dtype=pl.UInt32))
    if len(bsl):
        # Runs of adjacent backslashes have one start and one end each, so starts and ends pair up.
        gap = (bsl.slice(1) - bsl.slice(0, len(bsl) - 1)) != 1
        start = bsl.filter(pl.concat([pl.Series([True]), gap]))
        end = bsl.filter(pl.concat([gap, pl.Series([True])]))
        length = (end - start).cast(pl.Int64) + 1
        if start[0] == 0:
            length = length + pl.Series([carry] + [0] * (len(length) - 1))
        trailing = length[-1] if end[-1] == n - 1 else 0
        after = (end + 1).filter((length % 2 == 1) & (end + 1 < n))
        esc.append(after.filter(s.gather(after) == 34))
    esc = pl.concat(esc) if esc else ()
    return (isq.scatter(pos.search_sorted(esc), False) if len(esc) else isq), trailing
