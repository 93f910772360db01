"""The fast path against the reference path on big files, where the unit tests' small files cannot reach
(8 MB blocks, 4 MB windows, runs of items cut across blocks, full batches, items spilled to disk):

    python bench/equivalence.py /work/bench-data/refs_50M.json.gz /work/bench-data/set_10x50M

Each entry (a file, or a directory: a set of files in one partition) is ingested twice by `mrf
ingest-file`, once per parser, and every normalized table is compared sorted, row for row, with the
counts of `file_stats`. The reference path reads ~4 MB/s: a 500 MB file takes minutes. Exits 1 if any
table differs, after printing the first rows that do.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from run import MRF, inputs, json_bytes, label, machine  # noqa: E402  (bench/ is not a package)

from mrf_assets.tic.lake import Lake  # noqa: E402
from tests.support.lake_rows import sorted_tables, table  # noqa: E402

MONTH, PAYER = "2026-11", "equivalence"
COUNTS = ["file_id", "status", "items", "items_rejected", "prices", "expected_rows", "rows", "rows_rejected",
          "rows_filtered", "provider_groups"]


def ingest(files: list[str], root: Path, parser: str) -> float:
    start = time.perf_counter()
    subprocess.run([MRF, "ingest-file", *files, "--out", str(root), "--parser", parser, "--payer", PAYER,
                    "--month", MONTH], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def differences(expected: pl.DataFrame, got: pl.DataFrame) -> str:
    """The first rows each side has that the other lacks (nested columns compared as their text)."""
    text = [pl.col(c).cast(pl.List(pl.Utf8)).list.join("\x1f") if expected.schema[c] == pl.List(pl.Utf8)
            else pl.col(c) for c in expected.columns]
    a, b = expected.select(text), got.select(text)
    return (f"only in reference ({expected.height} rows): {a.join(b, on=a.columns, how='anti', nulls_equal=True).head(3)}\n"
            f"only in fast ({got.height} rows): {b.join(a, on=a.columns, how='anti', nulls_equal=True).head(3)}")


def compare(entry: str, tmp: Path) -> tuple[str, bool]:
    files = inputs(entry)
    seconds = {p: ingest(files, tmp / p, p) for p in ("reference", "fast")}
    lakes = {p: Lake(str(tmp / p)) for p in seconds}
    expected, got = (sorted_tables(lakes[p], MONTH, PAYER) for p in ("reference", "fast"))
    stats = {p: table(lakes[p], "file_stats", MONTH, PAYER) for p in lakes}
    same = True
    for name in expected:
        if not got[name].equals(expected[name]):
            same = False
            print(f"{label(entry)}: {name} differs\n{differences(expected[name], got[name])}", file=sys.stderr)
    if not stats["fast"].select(COUNTS).sort("file_id").equals(stats["reference"].select(COUNTS).sort("file_id")):
        same = False
        print(f"{label(entry)}: file_stats counts differ\n{stats['reference'].select(COUNTS)}\n"
              f"{stats['fast'].select(COUNTS)}", file=sys.stderr)
    fast = stats["fast"]
    mb = sum(map(json_bytes, files)) / 1e6
    rows = " / ".join(f"{expected[n].height:,}" for n in ("rates", "provider_sets", "providers", "organizations",
                                                          "rejects"))
    return (f"| {label(entry)} | {mb:,.0f} | {rows} | {'**same**' if same else '**DIFFERENT**'} | "
            f"{seconds['reference']:.0f} / {seconds['fast']:.1f} | "
            f"fallback items {fast['items_fallback'].sum()}, giant items {fast['items_giant'].sum()} |"), same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("entries", nargs="+")
    ap.add_argument("--tmp", help="parent of the temporary lakes (default: system temp)")
    args = ap.parse_args()
    print(machine())
    print("| entry | MB | rows: rates / provider_sets / providers / organizations / rejects | tables | "
          "seconds: reference / fast | fast path |")
    print("|---|---:|---:|---|---:|---|")
    same = True
    for entry in args.entries:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            line, ok = compare(entry, Path(tmp))
        print(line, flush=True)
        same &= ok
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
