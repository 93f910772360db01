"""Split the top-level arrays of a huge JSON object into the exact bytes of each element, block by block.

Blocks are classified with columnar operations (polars over a zero-copy view of the bytes), so
Python runs per top-level member and per array element, never per byte or per token.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor

import polars as pl
import pyarrow as pa

_WS = b" \t\n\r"
_WS_RUN = re.compile(r"[ \t\n\r]*")
_BOM = b"\xef\xbb\xbf"
_DECODER = json.JSONDecoder()
_WINDOW = 4 << 20  # big blocks are cut into windows: cache-sized, and classified two at a time
_ARANGE = pl.arange(0, _WINDOW, dtype=pl.UInt32, eager=True)
_POOL = ThreadPoolExecutor(2, thread_name_prefix="json-scan")  # polars releases the GIL while it computes
os.register_at_fork(after_in_child=lambda: globals().update(_POOL=ThreadPoolExecutor(2)))  # threads die in a fork
_NOTHING = (None, (), None, 0, 0)


class ScanError(ValueError):
    """Not one complete JSON object: truncated, unbalanced, not an object at top level, or trailing data."""


def _classify(win, carry: int = 0, parities=(0, 1)) -> tuple:
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


class TopLevelScanner:
    """Feed blocks of one JSON document, get ("scalar"|"element"|"big_element"|"array_end"|"skipped", ...)."""

    def __init__(self, arrays=("in_network", "provider_references"), max_element_bytes=64 << 20, spill_dir=None):
        self.arrays, self.max_element_bytes, self.spill_dir = frozenset(arrays), max_element_bytes, spill_dir
        self._head = b""  # a BOM may arrive split over tiny blocks; None once decided
        self._phase, self._base = 0, 0  # phase 0 before "{", 1 inside, 2 after "}"; base = offset of the block
        self._depth, self._instr, self._bs = 0, 0, 0  # carried nesting, in-string parity, trailing backslashes
        # Text between containers at level 1 (members) or in a wanted array (scalar elements).
        self._gap, self._gap_from, self._gap_limit, self._need_sep, self._last_comma = [], None, 1 << 20, False, False
        self._key, self._kind, self._open, self._start, self._count = None, None, 0, 0, 0
        self._elem_from, self._elem_open, self._pieces, self._size, self._spill = None, 0, [], 0, None

    def feed(self, block: bytes) -> list[tuple]:
        out: list[tuple] = []
        blk = block if isinstance(block, bytes) else memoryview(block).cast("B")  # bytes we keep are copied
        if len(blk) and self._phase == 2 and bytes(blk).strip(_WS):
            raise ScanError(f"non-whitespace data after the top-level object at byte {self._base}")
        if len(blk) and self._phase == 0:
            blk = self._skip_head(blk)
        if len(blk) and self._phase == 1:
            self._scan(blk, out)
        self._base += len(blk)
        return out

    def close(self) -> list[tuple]:
        if self._phase != 2:
            if self._spill is not None:
                self._spill.close()
                os.unlink(self._spill_path)
            raise ScanError(f"truncated document: it ends at byte {self._base} inside the top-level object")
        return []

    def _skip_head(self, blk) -> bytes:
        blk = bytes(blk)
        if self._head is not None:
            h = self._head + blk
            if len(h) < 3 and _BOM.startswith(h):
                self._head = h
                return b""
            self._head, self._base = None, (3 if h.startswith(_BOM) else 0)
            blk = h[self._base :]
        rest = blk.lstrip(_WS)
        self._base += len(blk) - len(rest)
        if rest and rest[0] != 0x7B:
            raise ScanError(f"the document is not a JSON object: byte {self._base} is {rest[:1]!r}")
        self._phase = 1 if rest else 0
        return rest

    def _events(self, blk):
        """Structural brackets at nesting level <= 2 as (position, byte, level), in order."""
        offsets = range(0, len(blk), _WINDOW)
        wins = [memoryview(blk)[o : o + _WINDOW] for o in offsets]
        # While the pool classifies later windows, this thread handles the events of earlier ones.
        parts = _POOL.map(_classify, wins) if len(wins) > 1 else [_classify(wins[0], self._bs, (self._instr,))]
        for o, win, (first, quotes, trailing, candidates) in zip(offsets, wins, parts):
            if len(wins) > 1 and self._bs and first in (34, 92):  # the pool assumed no backslashes led in
                first, quotes, trailing, candidates = _classify(win, self._bs)
            where, ch, level, low, change = candidates[self._instr]
            self._instr, self._bs = self._instr ^ (quotes & 1), trailing
            if not len(ch):
                continue
            if low + self._depth < 0:
                at = self._base + o + where[int((level + self._depth < 0).arg_true()[0])]
                raise ScanError(f"unbalanced brackets near byte {at}")
            sel = level <= 2 - self._depth
            yield from zip((where.filter(sel) + o).to_list(), ch.filter(sel).to_list(), (level.filter(sel) + self._depth).to_list())
            self._depth += change

    def _scan(self, blk, out: list) -> None:
        for p, c, lvl in self._events(blk):
            if lvl == 2 and self._kind == "want":
                # Elements run one after another: the usual one (a comma before it, all of it in this
                # block) takes no method call, as a payer's file has millions of small items.
                if c & 2:  # an element that is an object or an array opens
                    if not self._gap and self._need_sep and bytes(blk[self._gap_from : p]).strip(_WS) == b",":
                        self._gap_from, self._need_sep, self._last_comma = None, False, True
                    else:
                        self._take_gap(blk, p, out, final=False)
                    self._elem_from, self._elem_open = p, c
                else:
                    self._check_pair(self._elem_open, c, p)
                    if not self._pieces and self._spill is None and p + 1 - self._elem_from <= self.max_element_bytes:
                        out.append(("element", self._key, bytes(blk[self._elem_from : p + 1])))
                        self._count += 1
                        self._elem_from = None
                    else:
                        self._keep(memoryview(blk)[self._elem_from : p + 1], out)
                    self._gap_from, self._need_sep, self._last_comma = p + 1, True, False
            elif lvl == 1 and c & 2:  # a top-level member's value is a container
                key = self._take_gap(blk, p, out, final=False)
                self._key, self._open, self._start, self._count = key, c, self._base + p, 0
                self._kind = "want" if c == 91 and key in self.arrays else "skip"
                if self._kind == "want":
                    self._gap_from, self._need_sep, self._last_comma = p + 1, False, False
            elif lvl == 1:
                self._check_pair(self._open, c, p)
                if self._kind == "want":
                    self._take_gap(blk, p, out, final=True)
                    out.append(("array_end", self._key, self._count))
                else:
                    out.append(("skipped", self._key, self._base + p + 1 - self._start))
                self._kind = None
                self._gap_from, self._need_sep, self._last_comma = p + 1, True, False
            elif lvl == 0 and c & 2:  # the top-level opening brace
                self._gap_from = p + 1
            elif lvl == 0:
                self._check_pair(123, c, p)
                self._take_gap(blk, p, out, final=True)
                self._phase = 2
                if bytes(blk[p + 1 :]).strip(_WS):
                    raise ScanError(f"non-whitespace data after the top-level object at byte {self._base + p + 1}")
                return
        if self._elem_from is not None:
            self._keep(memoryview(blk)[self._elem_from :])
            self._elem_from = 0
        if self._gap_from is not None:
            self._gap.append(bytes(blk[self._gap_from :]))
            self._gap_from = 0
            if self._kind == "want" and sum(map(len, self._gap)) > self._gap_limit:
                self._take_gap(b"", 0, out, final=False, partial=True)  # bounds a long run of scalar elements
                self._gap_from = 0

    def _check_pair(self, opener: int, closer: int, p: int) -> None:
        if closer != opener + 2:  # [ ] and { } are two apart in ASCII
            raise ScanError(f"{chr(opener)!r} closed by {chr(closer)!r} at byte {self._base + p}")

    def _take_gap(self, blk, p: int, out: list, final: bool, partial: bool = False):
        """Parse the scalars before a container or closer; returns the key of a top-level container."""
        piece = bytes(blk[self._gap_from : p]) if self._gap_from is not None else b""
        text = b"".join([*self._gap, piece]) if self._gap else piece
        self._gap, self._gap_from = [], None
        if not partial and not (self._kind is None and not final):  # between containers: "," or nothing
            t = text.strip(_WS)
            if not t and not (self._last_comma if final else self._need_sep):
                return None
            if t == b"," and self._need_sep and not final:
                self._need_sep, self._last_comma = False, True
                return None
        return self._parse_gap(text, out, final, partial, f"before byte {self._base + p}")

    def _parse_gap(self, text: bytes, out: list, final: bool, partial: bool, where: str):
        keyed = self._kind is None  # top-level members, else elements of a wanted array
        s = text.decode("utf-8", "surrogateescape")  # an element's bytes may be cut mid-character
        i, key = 0, None
        try:
            while (j := _WS_RUN.match(s, i).end()) < len(s):
                i = j
                if self._need_sep:
                    if s[i] != ",":
                        raise ScanError(f"expected ',' {where}")
                    i, self._need_sep, self._last_comma = i + 1, False, True
                    continue
                if keyed:
                    key, i = _DECODER.raw_decode(s, i)
                    i = _WS_RUN.match(s, i).end()
                    if not isinstance(key, str) or s[i : i + 1] != ":":
                        raise ScanError(f"expected a string key and ':' {where}")
                    i = _WS_RUN.match(s, i + 1).end()
                    if i == len(s) and not final:
                        return key  # its value is the container that follows
                k = _DECODER.raw_decode(s, i)[1]
                if partial and _WS_RUN.match(s, k).end() == len(s):
                    i = j  # a number at the end of the text may go on in the next block
                    break
                raw = s[i:k].encode("utf-8", "surrogateescape")
                if keyed:
                    out.append(("scalar", key, raw))
                else:
                    self._keep(raw, out)
                i, self._need_sep, self._last_comma = k, True, False
        except json.JSONDecodeError as e:
            if not partial:
                raise ScanError(f"invalid JSON {where}: {e}") from None
            i = j
        if partial:
            rest = s[i:].encode("utf-8", "surrogateescape")
            self._gap, self._gap_limit = [rest], 2 * len(rest) + (1 << 20)
        elif keyed and not final:
            raise ScanError(f"a top-level value has no key {where}")
        elif (self._need_sep and not final) or (self._last_comma and final):
            raise ScanError(f"misplaced or missing comma {where}")
        return None

    def _keep(self, piece, out: list | None = None) -> None:
        """Add bytes to the current element, spilling it once it outgrows the limit; `out` ends it."""
        self._size += len(piece)
        if self._spill is None and self._size > self.max_element_bytes:
            fd, self._spill_path = tempfile.mkstemp(prefix="element-", suffix=".json", dir=self.spill_dir)
            self._spill = os.fdopen(fd, "wb")
            self._spill.writelines(self._pieces)
            self._pieces = []
        if self._spill is not None:
            self._spill.write(piece)
        else:
            self._pieces.append(bytes(piece))
        if out is None:
            return
        if self._spill is not None:
            self._spill.close()
            out.append(("big_element", self._key, self._spill_path, self._size))
        else:  # most elements sit within one block: a single piece, nothing to join
            out.append(("element", self._key, self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)))
        self._count += 1
        self._elem_from, self._pieces, self._size, self._spill = None, [], 0, None
