"""How fast could a strict JSON decoder of our own be? A lower bound, against Arrow's decoder, in one run.

    .venv/bin/pip install --no-deps numba llvmlite   # for this script only: never a project dependency
    .venv/bin/python bench/grammar_pass.py /work/bench-data/refs_500M_compact_lists1000.json.gz

The file's in_network items are cut into the fast path's batches (TopLevelScanner, BATCH_BYTES, one
item per line). Each batch is then timed twice on the calling thread:
- Arrow: the fast path's own decode (`decode_lines` with the item schema), the whole decode into columns;
- grammar pass: one pass compiled by numba that checks the JSON grammar strictly (strings, escapes,
  control bytes, numbers, literals, nesting) and records where each key, string and number lies,
  building no column at all. Any decoder of our own would do at least this much.
A decoder of our own can only be as fast as the second number allows; bench/RESULTS.md (session 14)
sets it against what the rest of the fast path costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mrf_assets.tic.fast.decode import ITEM_SCHEMA, decode_lines  # noqa: E402
from mrf_assets.tic.fast.runs import Batches, lines  # noqa: E402
from mrf_assets.tic.fast.scan import BLOCK, TopLevelScanner  # noqa: E402
from mrf_assets.tic.fast.stream import BATCH_BYTES  # noqa: E402
from mrf_assets.tic.sources import open_json  # noqa: E402

try:
    from numba import njit
except ImportError:
    sys.exit("numba is not installed: see this script's docstring")


@njit(nogil=True, cache=True)
def _spaces(buf, i, n):
    while i < n and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
        i += 1
    return i


@njit(nogil=True, cache=True)
def _string(buf, i, n):
    """End of the string whose opening quote is at i (the closing quote's index), or -1 if invalid."""
    j = i + 1
    while j < n:
        d = buf[j]
        if d == 34:
            return j
        if d == 92:
            if j + 1 >= n:
                return -1
            e = buf[j + 1]
            if e == 117:
                if j + 5 >= n:
                    return -1
                for k in range(j + 2, j + 6):
                    h = buf[k]
                    if not ((48 <= h <= 57) or (65 <= h <= 70) or (97 <= h <= 102)):
                        return -1
                j += 6
                continue
            if not (e == 34 or e == 92 or e == 47 or e == 98 or e == 102 or e == 110 or e == 114 or e == 116):
                return -1
            j += 2
            continue
        if d < 32:
            return -1
        j += 1
    return -1


@njit(nogil=True, cache=True)
def _number(buf, i, n):
    """End of the number starting at i (one past its last byte), or -1 if invalid."""
    j = i
    if buf[j] == 45:
        j += 1
    if j < n and buf[j] == 48:
        j += 1
    elif j < n and 49 <= buf[j] <= 57:
        while j < n and 48 <= buf[j] <= 57:
            j += 1
    else:
        return -1
    if j < n and buf[j] == 46:
        j += 1
        if not (j < n and 48 <= buf[j] <= 57):
            return -1
        while j < n and 48 <= buf[j] <= 57:
            j += 1
    if j < n and (buf[j] == 101 or buf[j] == 69):
        j += 1
        if j < n and (buf[j] == 43 or buf[j] == 45):
            j += 1
        if not (j < n and 48 <= buf[j] <= 57):
            return -1
        while j < n and 48 <= buf[j] <= 57:
            j += 1
    return j


@njit(nogil=True, cache=True)
def grammar_pass(buf, spans):
    """Checks a run of JSON values (one per line) and records each token's span; the number of spans,
    or -(position + 1) of the first error."""
    n = buf.shape[0]
    stack = np.empty(1024, np.uint8)  # 1: object, 2: array
    depth, ns, i = 0, 0, 0
    # 0: a value is expected, 1: after a value, 2: a key (or "}") is expected, 3: a colon is expected
    state = 0
    while True:
        i = _spaces(buf, i, n)
        if i >= n:
            return ns if depth == 0 and state == 0 else -(n + 1)
        c = buf[i]
        if state == 0:
            if c == 123 or c == 91:
                if depth == stack.shape[0]:
                    return -(i + 1)
                stack[depth] = 1 if c == 123 else 2
                depth += 1
                i += 1
                j = _spaces(buf, i, n)
                if j < n and buf[j] == (125 if c == 123 else 93):  # empty
                    depth -= 1
                    i = j + 1
                    state = 1
                elif c == 123:
                    state = 2
                continue
            if c == 34:
                j = _string(buf, i, n)
                if j < 0:
                    return -(i + 1)
                spans[ns, 0], spans[ns, 1] = i + 1, j
                ns += 1
                i = j + 1
            elif c == 45 or 48 <= c <= 57:
                j = _number(buf, i, n)
                if j < 0:
                    return -(i + 1)
                spans[ns, 0], spans[ns, 1] = i, j
                ns += 1
                i = j
            elif c == 116 and i + 3 < n and buf[i + 1] == 114 and buf[i + 2] == 117 and buf[i + 3] == 101:
                i += 4
            elif c == 102 and i + 4 < n and buf[i + 1] == 97 and buf[i + 2] == 108 and buf[i + 3] == 115 \
                    and buf[i + 4] == 101:
                i += 5
            elif c == 110 and i + 3 < n and buf[i + 1] == 117 and buf[i + 2] == 108 and buf[i + 3] == 108:
                i += 4
            else:
                return -(i + 1)
            state = 1 if depth else 0
        elif state == 1:
            top = stack[depth - 1]
            if c == 44:
                state = 2 if top == 1 else 0
                i += 1
            elif (c == 125 and top == 1) or (c == 93 and top == 2):
                depth -= 1
                i += 1
                state = 1 if depth else 0
            else:
                return -(i + 1)
        elif state == 2:
            # a key is read as a string value is, written out again: a shared helper made the pass a third
            # slower (numba does not inline it), and this pass is meant as the lower bound
            if c != 34:
                return -(i + 1)
            j = _string(buf, i, n)
            if j < 0:
                return -(i + 1)
            spans[ns, 0], spans[ns, 1] = i + 1, j
            ns += 1
            i = j + 1
            state = 3
        else:
            if c != 58:
                return -(i + 1)
            i += 1
            state = 0
    return ns


def item_batches(path: Path, limit: int) -> list[bytes]:
    """The first `limit` bytes' worth of in_network items, as the fast path's batches (one item a line)."""
    batches, out, total = Batches(BATCH_BYTES), [], 0
    scanner = TopLevelScanner()
    with open_json(path) as stream:
        while total < limit and (block := stream.read(BLOCK)):
            for event in scanner.feed(block):
                if event[1] == "in_network" and event[0] in ("element", "elements"):
                    for pieces, _ in batches.add(event[2]):
                        data = bytes(lines(pieces))
                        out.append(data)
                        total += len(data)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path, help="in-network .json or .json.gz")
    ap.add_argument("--mb", type=int, default=200, help="MB of items to time (default 200)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    batches = item_batches(args.file, args.mb * 10**6)
    if not batches:
        sys.exit(f"{args.file}: no in_network items")
    mb = sum(map(len, batches)) / 1e6
    spans = np.empty((max(map(len, batches)) // 2 + 1, 2), np.int64)
    for data in batches[:1]:  # compile, and check that the pass takes the batches
        assert grammar_pass(np.frombuffer(data, np.uint8), spans) > 0, "the grammar pass refused a batch"
    arrow, grammar = [], []
    for _ in range(args.repeat):
        t = time.thread_time()
        for data in batches:
            decode_lines([data], ITEM_SCHEMA)
        arrow.append(time.thread_time() - t)
        t = time.thread_time()
        tokens = sum(grammar_pass(np.frombuffer(data, np.uint8), spans) for data in batches)
        grammar.append(time.thread_time() - t)
    a, g = statistics.median(arrow), statistics.median(grammar)
    print(f"{args.file.name}: {len(batches)} batches, {mb:.0f} MB of items, {tokens:,} tokens; CPU, median of "
          f"{args.repeat}:")
    print(f"  Arrow decode (the fast path's)  {1000 * a / mb:5.2f} ms/MB  {mb / a:6.0f} MB/s")
    print(f"  grammar pass only (numba)       {1000 * g / mb:5.2f} ms/MB  {mb / g:6.0f} MB/s  ({a / g:.1f}x Arrow's speed)")


if __name__ == "__main__":
    main()
