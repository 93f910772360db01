"""Split the top-level arrays of a huge JSON object into the exact bytes of each element, block by block
(a block's run of complete elements at once, as an ElementRun).

Blocks are classified with columnar operations (brackets.classify), so Python runs per top-level member
and per run of array elements, never per byte or per token.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from mrf_assets.tic.fast.brackets import WINDOW, classify
from mrf_assets.tic.fast.runs import ElementRun
from mrf_assets.tic.segments import ranges

BLOCK = 8 << 20  # the bytes a scanner is fed at a time (a file's read size)
_WS = b" \t\n\r"
_WS_RUN = re.compile(r"[ \t\n\r]*")
_GAP = np.zeros(256, dtype=bool)  # what may lie between two elements (with one comma), by byte value
_GAP[np.frombuffer(b" \t\n\r,", np.uint8)] = True
_BOM = b"\xef\xbb\xbf"
_DECODER = json.JSONDecoder()
_scan_pool = partial(ThreadPoolExecutor, 2, thread_name_prefix="json-scan")  # polars releases the GIL
_POOL = _scan_pool()
os.register_at_fork(after_in_child=lambda: globals().update(_POOL=_scan_pool()))  # threads die in a fork


class ScanError(ValueError):
    """Not one complete JSON object: truncated, unbalanced, not an object at top level, or trailing data."""


class TopLevelScanner:
    """Feed blocks of one JSON document, get ("scalar"|"element"|"elements"|"big_element"|"array_end"|"skipped", ...):
    "elements" carries an ElementRun of complete elements that one block holds."""

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
        """Per window, the structural brackets at nesting level <= 2: positions, bytes and levels (numpy)."""
        offsets = range(0, len(blk), WINDOW)
        wins = [memoryview(blk)[o : o + WINDOW] for o in offsets]
        # While the pool classifies later windows, this thread handles the events of earlier ones.
        parts = _POOL.map(classify, wins) if len(wins) > 1 else [classify(wins[0], self._bs, (self._instr,))]
        for o, win, (first, quotes, trailing, candidates) in zip(offsets, wins, parts):
            if len(wins) > 1 and self._bs and first in (34, 92):  # the pool assumed no backslashes led in
                first, quotes, trailing, candidates = classify(win, self._bs)
            where, ch, level, low, change = candidates[self._instr]
            self._instr, self._bs = self._instr ^ (quotes & 1), trailing
            if not len(ch):
                continue
            if low + self._depth < 0:
                at = self._base + o + where[int((level + self._depth < 0).arg_true()[0])]
                raise ScanError(f"unbalanced brackets near byte {at}")
            sel = level <= 2 - self._depth
            yield (where.filter(sel) + o).to_numpy(), ch.filter(sel).to_numpy(), (level.filter(sel) + self._depth).to_numpy()
            self._depth += change

    def _scan(self, blk, out: list) -> None:
        for positions, chars, levels in self._events(blk):
            # One by one up to the window's run of elements (past the element the window starts inside, or
            # the opening of an array and its first element); a skipped value goes as a list, below.
            i = 0
            while i < len(positions) and self._kind != "skip" and not self._cuttable():
                if self._event(blk, int(positions[i]), int(chars[i]), int(levels[i]), out):
                    return
                i += 1
            if i < len(positions) and self._cuttable():
                i = self._cut_elements(blk, positions, chars, levels, i, out)
            for p, c, lvl in zip(positions[i:].tolist(), chars[i:].tolist(), levels[i:].tolist()):
                if self._event(blk, p, c, lvl, out):
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

    def _cuttable(self) -> bool:
        """Between two elements of a wanted array, the gap since the last one in this block."""
        return (self._kind == "want" and self._need_sep and self._elem_from is None and not self._gap
                and self._gap_from is not None)

    def _cut_elements(self, blk, positions, chars, levels, i: int, out: list) -> int:
        """Cut the complete elements of a window from event i on at once, when each has a comma before it
        and fits in memory (the usual run of a payer's items); returns the event to go on from."""
        not_elements = np.flatnonzero(levels[i:] != 2)
        pairs = (not_elements[0] if len(not_elements) else len(levels) - i) // 2
        if pairs < 2:
            return i
        opens, closes = positions[i : i + 2 * pairs : 2], positions[i + 1 : i + 2 * pairs : 2]
        opened, closed = chars[i : i + 2 * pairs : 2], chars[i + 1 : i + 2 * pairs : 2]
        gap_from = np.concatenate([[self._gap_from], closes[:-1] + 1])
        sizes = opens - gap_from
        if not ((opened & 2).all() and (closed == opened + 2).all() and sizes.min() > 0
                and (closes - opens).max() < self.max_element_bytes):
            return i  # element by element, which says what is wrong
        where = ranges(gap_from, sizes)
        gaps = np.frombuffer(blk, np.uint8)[where]
        if not ((np.add.reduceat(gaps == 44, np.cumsum(sizes) - sizes) == 1).all() and _GAP[gaps].all()):
            return i
        self._count += pairs
        self._gap_from, self._need_sep, self._last_comma = int(closes[-1]) + 1, True, False
        between = where[int(sizes[0]):]  # the first gap comes before the run
        if not isinstance(blk, bytes):  # a run keeps its block, which must not change under it
            blk, base = bytes(blk[opens[0] : closes[-1] + 1]), opens[0]
            opens, closes, between = opens - base, closes - base, between - base
        out.append(("elements", self._key, ElementRun(blk, opens, closes, between)))
        return i + 2 * pairs

    def _event(self, blk, p: int, c: int, lvl: int, out: list) -> bool:
        """One structural bracket; True at the end of the document."""
        if lvl == 2 and self._kind == "want":
            if c & 2:  # an element that is an object or an array opens
                self._take_gap(blk, p, out, final=False)
                self._elem_from, self._elem_open = p, c
            else:
                self._check_pair(self._elem_open, c, p)
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
            return True
        return False

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
