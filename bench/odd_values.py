"""A copy of an in-network file with odd rates, as sloppy writers leave them: every Nth `negotiated_rate`
quoted ("12.5", which Arrow's decoder refuses and the reference rules read) and every Mth null (a reject).

    python bench/odd_values.py /work/bench-data/uhc-ny_..._x30.json.gz --quote-every 100000 \
        --out /work/bench-data/uhc_x30_quoted15.json.gz

What the fast path does with them (skip the item, or read its batch in Python) is what this measures;
`equivalence.py` checks the rows. The file is read whole into memory (a bench tool, not the product).
"""
from __future__ import annotations

import argparse
import gzip
import re
import sys

RATE = re.compile(rb'("negotiated_rate"\s*:\s*)(-?[0-9][0-9.eE+-]*)')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--quote-every", type=int, default=0, metavar="N", help="quote every Nth rate (0: none)")
    ap.add_argument("--null-every", type=int, default=0, metavar="M", help="null every Mth rate (0: none)")
    args = ap.parse_args()
    seen = quoted = nulled = 0

    def odd(match: re.Match) -> bytes:
        nonlocal seen, quoted, nulled
        seen += 1
        if args.quote_every and seen % args.quote_every == 0:
            quoted += 1
            return match.group(1) + b'"' + match.group(2) + b'"'
        if args.null_every and seen % args.null_every == 0:
            nulled += 1
            return match.group(1) + b"null"
        return match.group(0)

    with gzip.open(args.file) as source:
        data = RATE.sub(odd, source.read())
    with gzip.open(args.out, "wb", compresslevel=3, mtime=0) as out:
        out.write(data)
    print(f"{args.out}: {seen:,} rates, {quoted:,} quoted, {nulled:,} null, {len(data):,} bytes of JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())
