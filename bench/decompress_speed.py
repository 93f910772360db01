"""Decompression speed of the gzip libraries available here, on one file, in one run.

    python bench/decompress_speed.py /work/bench-data/refs_500M.json.gz --repeat 3

Prints MB/s of decompressed output (median) for python's gzip (zlib), isal's igzip and, when
installed, zlib-ng's gzip_ng: the library the lake's reader uses is the fastest one here (isal).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import statistics
import time

CHUNK = 8 << 20


def opener(name: str):
    if name == "zlib (python gzip)":
        return gzip.open
    module = importlib.import_module({"isal igzip": "isal.igzip", "zlib-ng gzip_ng": "zlib_ng.gzip_ng"}[name])
    return module.open


def measure(open_gz, path: str) -> float:
    total, started = 0, time.perf_counter()
    with open_gz(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
    return total / 1e6 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    libraries = []
    for name in ("zlib (python gzip)", "isal igzip", "zlib-ng gzip_ng"):
        try:
            libraries.append((name, opener(name)))
        except ImportError:
            print(f"{name}: not installed")
    rates = {name: [] for name, _ in libraries}
    for _ in range(args.repeat):  # interleaved, so machine noise hits every library alike
        for name, open_gz in libraries:
            rates[name].append(measure(open_gz, args.file))
    base = statistics.median(rates[libraries[0][0]])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:22s} {median:8.0f} MB/s  {median / base:5.2f}x  runs {[round(v) for v in values]}")


if __name__ == "__main__":
    main()
