"""Times in-network parsers on the same files in one run and writes a markdown table.

    python bench/run.py --files /work/bench-data/refs_50M.json.gz /work/bench-data/inline_50M.json.gz \
        --methods reference cms-mrf-extractor --repeat 3

A directory in --files is a set: its .json.gz files go to one command together (bench/README.md).
Each run is a fresh subprocess (whole-command wall time, imports included), sampled every
50 ms for the summed RSS of its process tree.  Methods are interleaved within each repeat
so background noise lands on all of them alike.  See bench/README.md.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
MRF = str(HERE.parent / ".venv" / "bin" / "mrf")
BASELINE = str(HERE / ".venv-baseline" / "bin" / "mrf-extract")
BASELINE_NAME = "cms-mrf-extractor"

# {file}: the input path (for a set, every file of it); {tmp}: a fresh directory deleted after the run;
# {srcdir}: a directory holding only symlinks to the input (mrf-extract takes a directory, not a file).
# slow: skipped on big files with --skip-slow.  timeout: seconds per run.
METHODS = {
    "reference": dict(cmd=[MRF, "ingest-file", "{file}", "--out", "{tmp}/lake", "--parser", "reference"],
                      slow=True, timeout=3600),
    "fast": dict(cmd=[MRF, "ingest-file", "{file}", "--out", "{tmp}/lake", "--parser", "fast"],
                 slow=False, timeout=1800),
    # -q only silences tqdm/logging; decoding settings stay at the package defaults.
    BASELINE_NAME: dict(cmd=[BASELINE, "{srcdir}", "-o", "{tmp}/out", "-q"], slow=False, timeout=1800),
}


def inputs(entry: str) -> list[str]:
    """A --files entry: a file, or a directory whose .json.gz files are ingested together as a set (one
    partition, the way a Dagster run ingests a month of a payer, in worker processes)."""
    return sorted(str(p) for p in Path(entry).glob("*.json.gz")) if os.path.isdir(entry) else [entry]


def label(entry: str) -> str:
    return Path(entry).name + ("/" if os.path.isdir(entry) else "")


def json_bytes(path: str) -> int:
    """Decompressed size from the generator's sidecar, else by decompressing once."""
    meta = Path(path.removesuffix(".gz").removesuffix(".json") + ".meta.json")
    if meta.exists():
        return json.loads(meta.read_text())["bytes"]
    if not path.endswith(".gz"):
        return os.path.getsize(path)
    try:
        from isal import igzip as gz
    except ImportError:
        import gzip as gz
    total = 0
    with gz.open(path, "rb") as fh:
        while chunk := fh.read(16 << 20):
            total += len(chunk)
    return total


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass  # exited between listing and sampling
    return total


def busy_seconds() -> float:
    """Machine-wide busy CPU seconds; minus our tree's CPU it shows foreign load (shared VM)."""
    t = psutil.cpu_times()  # guest time is already inside user; steal is CPU the VM lost to its host
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


def du(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file() and not f.is_symlink())


def run_once(name: str, spec: dict, file: str, timeout: float, tmp_root: str | None) -> dict:
    tmp = tempfile.mkdtemp(prefix=f"mrfbench-{name}-", dir=tmp_root)
    try:
        srcdir = os.path.join(tmp, "src")
        os.mkdir(srcdir)
        for path in inputs(file):
            os.symlink(os.path.abspath(path), os.path.join(srcdir, os.path.basename(path)))
        cmd = []
        for arg in spec["cmd"]:
            cmd += inputs(file) if arg == "{file}" else [arg.format(tmp=tmp, srcdir=srcdir)]
        os.mkdir(os.path.join(tmp, "tmp"))  # the method's own temp files go too, even when it is killed
        env = dict(os.environ, MRF_OFFLINE="1", TMPDIR=os.path.join(tmp, "tmp"))
        before, busy0 = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
        t0 = time.perf_counter()
        try:  # own session, so a timeout can kill the whole tree it spawned, and only that
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    start_new_session=True, text=True, errors="replace")
        except FileNotFoundError:
            return dict(status="n/a", note=f"{cmd[0]} not found")
        peak, done = 0, threading.Event()

        def sample():
            nonlocal peak
            ps = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    peak = max(peak, tree_rss(ps))
                except psutil.NoSuchProcess:
                    return
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # it may have exited meanwhile
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return dict(status="timeout", note=f"> {timeout:.0f} s")
        finally:
            wall = time.perf_counter() - t0
            done.set()
            sampler.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        res = dict(wall=wall, rss=peak, cores=cpu / wall, foreign=max(0.0, busy_seconds() - busy0 - cpu) / wall,
                   out_bytes=du(tmp), stdout=out[-2000:], stderr=err[-2000:])
        if proc.returncode == 2 and "usage:" in err and ("unrecognized arguments" in err or "invalid choice" in err):
            res.update(status="n/a", note="CLI rejects these arguments")  # argparse: option not built yet
        elif proc.returncode != 0:
            res.update(status="failed", note=f"exit {proc.returncode}")
        elif os.path.exists(os.path.join(tmp, "out", "bad_files.log")):  # mrf-extract exits 0 on bad files
            res.update(status="failed", note="bad_files.log written")
        else:
            res["status"] = "ok"
            # `mrf ingest-file` prints its own rate: from opening the file to the last part written,
            # without interpreter start-up and imports (a fixed cost that dominates small files)
            inner = re.search(r"mb_per_s: ([0-9.]+)", out)
            res["inner"] = float(inner.group(1)) if inner else None
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"Python {platform.python_version()} (runner), {dt.datetime.now():%Y-%m-%d %H:%M}")


def table(results: dict, files: list[str], methods: list[str], sizes: dict) -> str:
    def med_rate(m, f):
        ok = [r for r in results.get((m, f), []) if r["status"] == "ok"]
        return statistics.median(sizes[f] / 1e6 / r["wall"] for r in ok) if ok else None

    def run_ratios(m, f) -> str:
        """Each repeat's ratio to the baseline's run of the same repeat (the machine drifts between repeats)."""
        base = {r["rep"]: r["wall"] for r in results.get((BASELINE_NAME, f), []) if r["status"] == "ok"}
        ratios = sorted(base[r["rep"]] / r["wall"] for r in results.get((m, f), [])
                        if r["status"] == "ok" and r["rep"] in base)
        return f"{ratios[0]:.2f}-{ratios[-1]:.2f}x" if ratios and m != BASELINE_NAME else "-"

    lines = ["| method | file | MB/s (median) | vs cms-mrf-extractor | run by run | in-process MB/s "
             "| peak RSS MB (median) | cores | other load | out MB | runs |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for f in files:
        base = med_rate(BASELINE_NAME, f)
        for m in methods:
            runs = results.get((m, f), [])
            ok = [r for r in runs if r["status"] == "ok"]
            bad = [r for r in runs if r["status"] != "ok"]
            notes = sorted({f"{r['status']}: {r.get('note', '')}" for r in bad})
            runs_txt = f"{len(ok)}/{len(runs)}" + (f" ({'; '.join(notes)})" if notes else "") if runs else "skipped"
            if not ok:
                lines.append(f"| {m} | {label(f)} | - | - | - | - | - | - | - | - | {runs_txt} |")
                continue
            rate = med_rate(m, f)
            ratio = f"{rate / base:.2f}x" if base else "-"
            rss = statistics.median(r["rss"] for r in ok) / 1e6
            cores = statistics.median(r["cores"] for r in ok)
            foreign = max(r["foreign"] for r in ok)
            out = statistics.median(r["out_bytes"] for r in ok) / 1e6
            inner = [r["inner"] for r in ok if r.get("inner")]
            inner_txt = f"{statistics.median(inner):.1f}" if inner else "-"
            lines.append(f"| {m} | {label(f)} | {rate:.1f} | {ratio} | {run_ratios(m, f)} | {inner_txt} "
                         f"| {rss:.0f} | {cores:.2f} | {foreign:.2f} | {out:.1f} | {runs_txt} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", nargs="+", required=True)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-slow", type=float, nargs="?", const=1000, default=None, metavar="MB",
                    help="skip methods marked slow on files above MB of JSON (default 1000)")
    ap.add_argument("--timeout", type=float, help="seconds per run, overrides the per-method timeouts")
    ap.add_argument("--tmp", help="parent of the per-run temp dirs (default: system temp)")
    ap.add_argument("--results", default=str(HERE / "out" / "results.md"))
    args = ap.parse_args()

    sizes = {f: sum(json_bytes(path) for path in inputs(f)) for f in args.files}
    for path in (path for f in args.files for path in inputs(f)):  # page cache: every method reads warm files
        with open(path, "rb") as fh:
            while fh.read(16 << 20):
                pass
    results: dict[tuple[str, str], list[dict]] = {}
    dead: set[tuple[str, str]] = set()  # n/a or timed out: repeating would tell nothing new
    for rep in range(args.repeat):
        for f in args.files:
            for m in args.methods:
                spec = METHODS[m]
                if (m, f) in dead or (args.skip_slow and spec["slow"] and sizes[f] / 1e6 > args.skip_slow):
                    continue
                r = run_once(m, spec, f, args.timeout or spec["timeout"], args.tmp) | {"rep": rep}
                results.setdefault((m, f), []).append(r)
                if r["status"] in ("n/a", "timeout"):
                    dead.add((m, f))
                rate = (f"{sizes[f] / 1e6 / r['wall']:6.1f} MB/s, {r['rss'] / 1e6:6.0f} MB, other load "
                        f"{r['foreign']:.2f} cores" if r["status"] == "ok" else "")
                print(f"[{rep + 1}/{args.repeat}] {m:<18} {label(f):<28} {r['status']:<8} {rate} {r.get('note', '')}",
                      file=sys.stderr, flush=True)
                if r["status"] == "failed":
                    print("    stderr tail: " + r["stderr"][-600:].replace("\n", "\n    "), file=sys.stderr)

    text = f"\n## bench/run.py {dt.date.today()}\n\n{machine()}\n\n" \
           f"repeat {args.repeat}, command: `{' '.join(sys.argv)}`\n\n{table(results, args.files, args.methods, sizes)}\n"
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    with open(args.results, "a") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
