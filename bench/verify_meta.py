"""Recounts a generated file with ijson and compares with its .meta.json sidecar.

    python bench/verify_meta.py /work/bench-data/refs_50M.json.gz [...]

Independent of generate.py on purpose (events, not the generator's bookkeeping), so a
bug in the generator's counters cannot hide itself.  Also checks NPI check digits and
that every negotiated_rate is > 0.  ~25 MB/s: meant for the 50M files.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict

import ijson

try:
    from isal import igzip as gz
except ImportError:  # pragma: no cover
    import gzip as gz


class Counting:
    """File wrapper counting decompressed bytes as ijson reads them."""

    def __init__(self, fh):
        self.fh, self.n = fh, 0

    def read(self, size=-1):
        data = self.fh.read(size)
        self.n += len(data)
        return data


def luhn_ok(npi: int) -> bool:
    total = 0
    for i, d in enumerate(reversed("80840" + str(npi))):
        d = int(d) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0 and 10**9 <= npi < 10**10


def recount(path: str) -> dict:
    c = defaultdict(int)
    ref_groups, ref_npis = defaultdict(int), defaultdict(int)
    referenced = defaultdict(int)  # prices by the provider_references list of their rate
    ref_id = None
    rate_ids, rate_groups, rate_npis, rate_prices = [], 0, 0, 0
    item_start = 0
    R, IN = "provider_references.item", "in_network.item"
    RATE = IN + ".negotiated_rates.item"
    with gz.open(path, "rb") as raw:
        fh = Counting(raw)
        for prefix, event, value in ijson.parse(fh, use_float=True):
            if prefix == R + ".provider_group_id":
                ref_id = value
            elif prefix == R + ".provider_groups.item" and event == "start_map":
                ref_groups[ref_id] += 1
            elif prefix == R + ".provider_groups.item.npi.item":
                ref_npis[ref_id] += 1
                c["bad_npi"] += not luhn_ok(value)
            elif prefix == RATE and event == "start_map":
                rate_ids, rate_groups, rate_npis, rate_prices = [], 0, 0, 0
            elif prefix == RATE + ".provider_references.item":
                rate_ids.append(value)
            elif prefix == RATE + ".provider_groups.item" and event == "start_map":
                rate_groups += 1
            elif prefix == RATE + ".provider_groups.item.npi.item":
                rate_npis += 1
                c["bad_npi"] += not luhn_ok(value)
            elif prefix == RATE + ".negotiated_prices.item" and event == "start_map":
                rate_prices += 1
            elif prefix == RATE + ".negotiated_prices.item.negotiated_rate":
                c["bad_rate"] += not value > 0
            elif prefix == RATE and event == "end_map":
                c["negotiated_rates"] += 1
                c["prices"] += rate_prices
                c["rows"] += rate_groups * rate_prices
                c["rows_npi"] += rate_npis * rate_prices
                referenced[tuple(rate_ids)] += rate_prices  # resolved at the end: references may come last
            elif prefix == IN and event == "start_map":
                c["items"] += 1
                item_start = fh.n  # chunk-granular: only a rough check on item size
            elif prefix == IN and event == "end_map":
                c["largest_item_bytes_approx"] = max(c["largest_item_bytes_approx"], fh.n - item_start)
        c["bytes"] = fh.n
    for ids, prices in referenced.items():
        c["rows"] += sum(ref_groups[i] for i in ids) * prices
        c["rows_npi"] += sum(ref_npis[i] for i in ids) * prices
    c["provider_references"] = len(ref_groups)
    return dict(c)


def main() -> int:
    ok = True
    for path in sys.argv[1:]:
        meta = json.load(open(path.replace(".json.gz", ".meta.json")))
        got = recount(path)
        for key in ("items", "negotiated_rates", "prices", "rows", "rows_npi", "bytes"):
            same = got.get(key) == meta.get(key)
            ok &= same
            print(f"{path}: {key:>18} meta={meta.get(key):>12,} ijson={got.get(key):>12,} {'ok' if same else 'MISMATCH'}")
        if meta.get("provider_references"):
            ok &= got["provider_references"] == meta["provider_references"]
            print(f"{path}: provider_references meta={meta['provider_references']:,} ijson={got['provider_references']:,}")
        print(f"{path}: bad NPIs {got.get('bad_npi', 0)}, rates <= 0: {got.get('bad_rate', 0)}, largest item "
              f"~{got['largest_item_bytes_approx']:,} (meta {meta['largest_item_bytes']:,})")
        ok &= not got.get("bad_npi") and not got.get("bad_rate")
    print("ALL OK" if ok else "MISMATCHES FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
