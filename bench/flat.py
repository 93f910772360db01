"""Throughput by file size in one warm process, the way a run's worker ingests a month's files:

    python bench/flat.py --files /work/bench-data/refs_50M.json.gz /work/bench-data/set_10x50M \
        /work/bench-data/refs_2G.json.gz --repeat 3

Each entry (a file, or a directory: a set of files in one partition) goes through `ingest_files` with
the fast path, into its own partition, in this process; one warm-up file first, then the entries
interleaved within each repeat so the machine's drift lands on all of them. Timed from the first byte
read to the partition published (commit included); interpreter start-up and imports are not, which
`run.py` (a command per run) includes. Ratios are to the last entry in the same repeat.
"""
from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import inputs, json_bytes, label, machine  # noqa: E402  (bench/ is not a package)

from mrf_assets.tic.http import HttpClient  # noqa: E402
from mrf_assets.tic.ingest import PartitionIngest  # noqa: E402
from mrf_assets.tic.lake import Lake  # noqa: E402
from mrf_assets.tic.parallel import ingest_files  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ingest(entry: str, root: str) -> tuple[float, float]:
    """Wall and CPU seconds to ingest an entry into a partition of its own and publish it."""
    partition = PartitionIngest(Lake(root), "bench", "2026-01", uuid.uuid4().hex, HttpClient(offline=True))
    cpu, started = cpu_seconds(), time.perf_counter()
    stats = ingest_files(partition, inputs(entry), workers=1)
    partition.commit()
    if any(s["status"] != "ok" for s in stats):
        raise SystemExit(f"{entry}: " + "; ".join(s["error"] for s in stats if s["error"]))
    return time.perf_counter() - started, cpu_seconds() - cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", nargs="+", required=True, help="smallest first; the last is the reference")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--results", default=str(Path(__file__).resolve().parent / "out" / "flat.md"))
    args = ap.parse_args()
    sizes = {f: sum(json_bytes(path) for path in inputs(f)) for f in args.files}
    runs: dict[str, list[tuple[float, float]]] = {f: [] for f in args.files}
    with tempfile.TemporaryDirectory(prefix="mrfbench-flat-") as root:
        ingest(inputs(args.files[0])[0], root)  # warm-up: first use of each library's kernels and pools
        for rep in range(args.repeat):
            for f in args.files:
                wall, cpu = ingest(f, root)
                runs[f].append((wall, cpu))
                print(f"[{rep + 1}/{args.repeat}] {label(f):<28} {sizes[f] / 1e6 / wall:6.1f} MB/s, "
                      f"{cpu / wall:.2f} cores", file=sys.stderr, flush=True)
    last = args.files[-1]
    lines = ["| entry | MB | MB/s (median) | vs last | run by run | CPU-s per GB | cores |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for f in args.files:
        rates = [sizes[f] / 1e6 / wall for wall, _ in runs[f]]
        ratios = sorted(rate / (sizes[last] / 1e6 / ref) for rate, (ref, _) in zip(rates, runs[last]))
        per_gb = statistics.median(cpu / (sizes[f] / 1e9) for _, cpu in runs[f])
        cores = statistics.median(cpu / wall for wall, cpu in runs[f])
        lines.append(f"| {label(f)} | {sizes[f] / 1e6:.0f} | {statistics.median(rates):.1f} "
                     f"| {statistics.median(ratios):.2f}x | {ratios[0]:.2f}-{ratios[-1]:.2f}x | {per_gb:.1f} | {cores:.2f} |")
    text = (f"\n## bench/flat.py {dt.date.today()}\n\n{machine()}\n\nrepeat {args.repeat}, command: "
            f"`{' '.join(sys.argv)}`\n\n" + "\n".join(lines) + "\n")
    print(text)
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
