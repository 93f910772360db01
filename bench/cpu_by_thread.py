"""Where one ingest's CPU goes, thread by thread, read from the kernel's counters (not sampled stacks):

    python bench/cpu_by_thread.py /work/bench-data/refs_500M_compact_lists1000.json.gz [--parser fast]

Runs `mrf ingest-file` in this process and reads every thread's CPU time from /proc/self/task every
20 ms; pool threads are summed by their name's prefix (mrf-flatten, json-scan, polars...). A sampling
profiler counts a thread waiting for the GIL or a core as busy, which on two cores misplaced seconds of a
3 s run; these counters do not. With --stages, the batches are flattened on one thread (the other core
serves the writer and the libraries' pools) and the wall time of each stage is summed: Arrow's decoding
against our flattening.
"""
from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_CONVERT = "items: decode and flatten"  # less the flattening: Arrow's decoding (a fallback's retries count twice)
_GROUPED = ("mrf-", "json-", "polars-")  # pool threads: "mrf-flatten_0" and "mrf-flatten_1" are one row


class ThreadClock:
    """The CPU seconds of every thread of this process from the moment it is entered (the imports before
    are not counted), the last value seen before each thread ended."""

    def __init__(self) -> None:
        self.cpu: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="bench-clock", daemon=True)

    def __enter__(self) -> "ThreadClock":
        self._read()
        self._before = {tid: seconds for tid, (_, seconds) in self.cpu.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self._read()
        self._read()

    def _read(self) -> None:
        names = {t.native_id: t.name for t in threading.enumerate()}  # Python's names; others: the kernel's
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as stat, open(f"/proc/self/task/{tid}/comm") as comm:
                    fields, kernel_name = stat.read().rsplit(")", 1)[1].split(), comm.read().strip()
            except OSError:  # the thread just ended
                continue
            name = names.get(int(tid)) or self.cpu.get(int(tid), (kernel_name,))[0]
            self.cpu[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / _TICK)  # utime + stime

    def by_group(self) -> collections.Counter:
        groups: collections.Counter = collections.Counter()
        for tid, (name, seconds) in self.cpu.items():
            grouped = name.startswith(_GROUPED) and name[-1].isdigit()
            groups[name.rstrip("0123456789").rstrip("_-") if grouped else name] += seconds - self._before.get(tid, 0)
        return groups


def timed_stages() -> collections.Counter:
    """Wrap the fast path's stages so their wall time adds up here; batches flatten on one thread."""
    from mrf_assets.tic import row_ids
    from mrf_assets.tic.fast import file_references, flatten, stream
    seconds: collections.Counter = collections.Counter()

    def wrap(owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - started
        setattr(owner, name, timed)

    stream.FLATTEN_THREADS = 1
    wrap(stream.FastFile, "_convert", _CONVERT)
    wrap(stream, "flatten", "items: flatten")
    wrap(flatten, "targets", "items: flatten: provider groups of the rates")
    wrap(flatten, "_provider_sets", "items: flatten: provider sets")
    wrap(flatten, "rates_and_prices", "items: flatten: rates and prices out of the lists")
    wrap(row_ids, "fold", "items: flatten: row id hashes (fold)")
    wrap(file_references.FileReferences, "prepare", "references: decode and resolve")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--parser", choices=["fast", "reference"], default="fast")
    ap.add_argument("--stages", action="store_true", help="one flatten thread, wall time per stage")
    args = ap.parse_args()
    stages = timed_stages() if args.stages else None
    from mrf_assets.cli import main as mrf
    out = tempfile.mkdtemp(prefix="mrfbench-cpu-")
    try:
        with ThreadClock() as clock:
            started, cpu = time.perf_counter(), time.process_time()
            status = mrf(["ingest-file", "--out", out, "--parser", args.parser, args.file])
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        shutil.rmtree(out, ignore_errors=True)
    size = Path(args.file).name
    groups = clock.by_group()
    cpu -= groups.pop("bench-clock", 0)
    total = sum(groups.values())
    print(f"\n{size}: {wall:.2f} s wall, {cpu:.2f} s CPU after imports ({cpu / wall:.2f} cores)\n")
    print("| thread | CPU s | share |\n|---|---:|---:|")
    for name, seconds in groups.most_common():
        if seconds >= 0.005:
            print(f"| {name} | {seconds:.2f} | {seconds / total:.0%} |")
    if stages:
        stages["items: decode (Arrow)"] = stages.pop(_CONVERT) - stages["items: flatten"]
        print("\n| stage (one flatten thread, wall) | s |\n|---|---:|")
        for name, seconds in sorted(stages.items()):
            print(f"| {name} | {seconds:.2f} |")
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
