"""A big in-network file shaped like a real payer's: a real sample's items, byte for byte, repeated.

    python bench/replicate.py payer_handlers/demo/real-2022/uhc-ny_2022-09-01_Empire_CSP-927-A351_in-network-rates.json.gz \\
        --size 500M --out /work/bench-data

Writes DIR/<sample>_x<N>.json.gz: the sample's header scalars and provider_references, then its in_network
items N times over (N = the copies that reach --size). Each item keeps the payer's own bytes (key order,
separators, number text), cut out by the fast path's scanner, so a parser that relies on the layout
(cms-mrf-extractor's first-key anchor) meets the payer's layout. Prices, rates and provider sets repeat N
times, and so do their ids: a benchmark file, not a lake to check.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from generate import GzSink, parse_size  # noqa: E402  (bench/ is this script's directory)
from mrf_assets.tic.fast.runs import elements  # noqa: E402
from mrf_assets.tic.fast.scan import TopLevelScanner  # noqa: E402


def members(sample: bytes) -> list[tuple[str, object]]:
    """The sample's top-level members in order: (key, raw scalar text) or (key, [raw element, ...])."""
    out: list[tuple[str, object]] = []
    arrays: dict[str, list[bytes]] = {}
    scanner = TopLevelScanner(max_element_bytes=1 << 40)
    for kind, key, value, *_ in scanner.feed(sample) + scanner.close():
        if kind == "scalar":
            out.append((key, bytes(value)))
        elif kind in ("element", "elements"):
            if key not in arrays:
                arrays[key] = []
                out.append((key, arrays[key]))
            arrays[key].extend(bytes(element) for element in elements([value]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sample", help="a real in-network .json or .json.gz")
    ap.add_argument("--size", required=True, help="decompressed JSON bytes to reach, e.g. 500M, 2G")
    ap.add_argument("--out", required=True)
    ap.add_argument("--level", type=int, default=6, help="gzip level (as generate.py)")
    args = ap.parse_args()
    raw = Path(args.sample).read_bytes()
    sample = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    parts = members(sample)
    items = dict(parts).get("in_network")
    if not items:
        sys.exit(f"{args.sample}: no in_network items")
    copies = max(1, -(-parse_size(args.size) // len(sample)))  # ceiling: at least --size
    name = Path(args.sample).name.removesuffix(".gz").removesuffix(".json")
    path = Path(args.out) / f"{name}_x{copies}.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    out = GzSink(str(path), args.level, utf8=True)
    out.write("{")
    for index, (key, value) in enumerate(parts):
        out.write(("," if index else "") + f'\n"{key}": ')
        if not isinstance(value, list):
            out.write(value.decode())
            continue
        out.write("[")
        for copy in range(copies if key == "in_network" else 1):
            out.write(("," if copy else "") + "\n" + ",\n".join(element.decode() for element in value))
        out.write("\n]")
    out.write("\n}\n")
    out.close()
    print(f"{path}: {out.total / 1e6:.0f} MB of JSON, {copies} copies of {len(items):,} items ({out.codec})")


if __name__ == "__main__":
    main()
