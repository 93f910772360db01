"""Throughput of TopLevelScanner against ijson (yajl2_c) on the same decompressed bytes, in one run.

    .venv/bin/python bench/scan_speed.py /work/bench-data/refs_500M.json.gz --block 4M 16M 64M

The file is decompressed into memory first, so only splitting is timed. The scanner is fed
zero-copy memoryview slices of that buffer; ijson reads the same bytes through a BytesIO and
builds every in_network item as Python objects.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import time
from pathlib import Path

import ijson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mrf_assets.tic.fast.runs import count  # noqa: E402
from mrf_assets.tic.fast.scan import TopLevelScanner  # noqa: E402

UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def size(text: str) -> int:
    text = text.strip().upper()
    return int(float(text[:-1]) * UNITS[text[-1]]) if text[-1] in UNITS else int(text)


def run_scanner(data: bytes, block: int) -> tuple[float, int, int]:
    view = memoryview(data)
    items = refs = 0
    t0 = time.perf_counter()
    sc = TopLevelScanner()
    for i in range(0, len(data), block):
        for ev in sc.feed(view[i : i + block]):
            if ev[0] in ("element", "elements", "big_element"):
                n = count(ev[2]) if ev[0] != "big_element" else 1
                if ev[1] == "in_network":
                    items += n
                else:
                    refs += n
    sc.close()
    return time.perf_counter() - t0, items, refs


def run_ijson(data: bytes) -> tuple[float, int]:
    backend = ijson.get_backend("yajl2_c")
    t0 = time.perf_counter()
    n = sum(1 for _ in backend.items(io.BytesIO(data), "in_network.item"))
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path, help=".json or .json.gz in-network file")
    ap.add_argument("--block", nargs="+", default=["8M"], help="block sizes to feed, e.g. 4M 16M 64M")
    ap.add_argument("--repeat", type=int, default=1, help="runs per block size; the best is reported")
    ap.add_argument("--no-ijson", action="store_true", help="skip the (slow) ijson baseline")
    args = ap.parse_args()

    opener = gzip.open if args.file.suffix == ".gz" else open
    t0 = time.perf_counter()
    with opener(args.file, "rb") as f:
        data = f.read()
    mb = len(data) / 1e6
    print(f"{args.file.name}: {mb:,.1f} MB decompressed in {time.perf_counter() - t0:.1f} s")

    rows = []
    for block in map(size, args.block):
        best, items, refs = min(run_scanner(data, block) for _ in range(args.repeat))
        rows.append((block, mb / best, items, refs))
        print(f"scanner  block {block >> 20:>4} MiB  {mb / best:8.0f} MB/s  ({best:.2f} s, {items} items, {refs} refs)")
    if args.no_ijson:
        return
    seconds, n = run_ijson(data)
    base = mb / seconds
    print(f"ijson    yajl2_c          {base:8.0f} MB/s  ({seconds:.2f} s, {n} items)")
    for block, rate, items, _ in rows:
        ok = "" if items == n else f"  ITEM COUNT DIFFERS ({items} vs {n})"
        print(f"ratio    block {block >> 20:>4} MiB  {rate / base:8.1f}x{ok}")


if __name__ == "__main__":
    main()
