"""Deterministic generator of synthetic TiC in-network rate files (.json.gz).

    python bench/generate.py --size 500M --layout refs --out /work/bench-data
    python bench/generate.py --size 600M --layout refs --huge-item 400M --out /work/bench-data

Writes DIR/<layout>_<size>[_huge<H>][_utf8][_compact][_decimal][_lists<K>][_refs<N>][_refslast][_seed<N>].json.gz and DIR/<same>.meta.json
holding the exact counts generated, so a parser's output can be checked against them.
Prices and provider groups are drawn from pre-rendered JSON fragments: formatting every
number in Python would make the 2 GB file take longer to write than to parse.  The
default gzip level 6 is beyond isal (0-3), so zlib deflates it on a second thread.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import random
import re
import threading
import time

import gzip

try:  # isal deflates several times faster than zlib, but only at levels 0-3
    from isal import igzip as _isal
except ImportError:  # pragma: no cover
    _isal = None

# valid CMS place-of-service codes, as the 2.x schema's pattern allows them
POS = [f"{i:02d}" for i in [*range(1, 28), 31, 32, 33, 34, 41, 42, 49, *range(50, 59), 60, 61, 62, 65, 66,
                            71, 72, 81, 99]]
COMMON_POS = ["11", "11", "11", "22", "22", "19", "21", "23", "24", "02", "10", "81"]
MODIFIERS = ["26", "TC", "59", "25", "50", "51", "LT", "RT", "GT", "95", "QW", "80"]
WORDS = ('office outpatient visit established patient new evaluation management injection infusion hydration '
         'therapy ultrasound abdominal pelvic magnetic resonance imaging without contrast with contrast '
         'radiologic examination chest knee spine lumbar cervical thoracic hip replacement arthroplasty biopsy '
         'excision lesion skin repair laceration complex simple intermediate anesthesia surgical procedure '
         'emergency department level assay quantitative blood panel metabolic comprehensive culture bacterial '
         'antigen detection immunoassay drug screen physical therapeutic exercise each 15 minutes '
         'psychotherapy hour catheter placement cardiac catheterization echocardiography transthoracic '
         'complete electrocardiogram routine interpretation report colonoscopy flexible diagnostic screening '
         'sepsis major joint heart failure shock pneumonia respiratory infection kidney urinary tract mcc cc').split()


def parse_size(text: str) -> int:
    mult = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:].upper(), 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def npi(rnd: random.Random) -> int:
    """A 10-digit NPI whose last digit passes the Luhn check with the 80840 prefix."""
    base = str(rnd.choice("12")) + "".join(rnd.choices("0123456789", k=8))
    total = 0
    for i, d in enumerate(reversed("80840" + base)):  # check digit is appended on the right
        d = int(d) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return int(base + str((10 - total % 10) % 10))


def provider_group(rnd: random.Random) -> tuple[str, int]:
    r = rnd.random()  # most groups are one clinician; a few are large systems
    n = 1 if r < .5 else rnd.randint(2, 10) if r < .8 else rnd.randint(11, 50) if r < .95 else rnd.randint(51, 200)
    npis = ",".join(str(npi(rnd)) for _ in range(n))
    tin = f"{rnd.randint(10, 99)}-{rnd.randint(0, 9999999):07d}"
    return '{"npi":[%s],"tin":{"type":"ein","value":"%s"}}' % (npis, tin), n


def price(rnd: random.Random, institutional: bool) -> str:
    kind = rnd.choices(["negotiated", "fee schedule", "derived", "percentage", "per diem"], [70, 15, 8, 4, 3])[0]
    value = rnd.uniform(20, 95) if kind == "percentage" else rnd.lognormvariate(4.5, 1.3)
    parts = ['"negotiated_type":"%s"' % kind, '"negotiated_rate":%r' % max(0.01, round(value, 2)),
             '"expiration_date":"9999-12-31"']
    if not institutional or rnd.random() < .3:
        codes = sorted(set(rnd.choices(COMMON_POS, k=rnd.randint(1, 4)) +
                           rnd.choices(POS, k=rnd.randint(0, 3))))
        parts.append('"service_code":["%s"]' % '","'.join(codes))
    parts.append('"billing_class":"%s"' % ("institutional" if institutional else "professional"))
    if rnd.random() < .15:  # optional field: parsers must cope with its absence
        parts.append('"billing_code_modifier":["%s"]' % '","'.join(rnd.sample(MODIFIERS, rnd.randint(1, 2))))
    return "{" + ",".join(parts) + "}"


def billing_code(rnd: random.Random) -> tuple[str, str, str, bool]:
    """(type, version, code, institutional) with codes shaped like their real code sets."""
    t = rnd.choices(["CPT", "HCPCS", "MS-DRG", "RC"], [60, 25, 10, 5])[0]
    if t == "CPT":
        r = rnd.random()
        code = (f"{rnd.randint(0, 9999):04d}F" if r < .03 else f"{rnd.randint(1, 999):04d}T" if r < .06
                else f"{rnd.randint(100, 99499):05d}")
        return t, "2024", code, rnd.random() < .2
    if t == "HCPCS":
        return t, "2024", rnd.choice("ABCEGHJKLMPQRSTV") + f"{rnd.randint(0, 9999):04d}", rnd.random() < .3
    if t == "MS-DRG":
        return t, "41", f"{rnd.randint(1, 998):03d}", True
    return t, "2024", f"0{rnd.randint(100, 999)}", True


class GzSink:
    """Counts decompressed bytes and hands 8 MB chunks to a compressor thread.

    zlib and isal release the GIL while deflating, so on 2 cores compression overlaps
    with rendering; the bounded queue keeps memory at a few chunks."""

    def __init__(self, path: str, level: int, utf8: bool):
        self.raw = open(path, "wb")
        # mtime=0 and no file name in the header: same seed, byte-identical .gz
        isal = _isal is not None and level <= 3
        cls = _isal.IGzipFile if isal else gzip.GzipFile
        self.fh = cls(filename="", mode="wb", compresslevel=level, fileobj=self.raw, mtime=0)
        self.codec = f"{'isal' if isal else 'zlib'}-{level}"
        self.enc, self.parts, self.pending, self.total = ("utf-8" if utf8 else "ascii"), [], 0, 0
        self.q: queue.Queue = queue.Queue(maxsize=3)
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while (chunk := self.q.get()) is not None:
            self.fh.write(chunk)

    def write(self, s: str) -> None:
        self.parts.append(s)
        self.pending += len(s)
        if self.pending >= 8 << 20:
            self.flush()

    def flush(self) -> None:
        data, self.parts, self.pending = "".join(self.parts).encode(self.enc), [], 0
        self.total += len(data)
        self.q.put(data)

    def tell(self) -> int:  # approximate until flushed (chars, not bytes, for --utf8)
        return self.total + self.pending

    def close(self) -> None:
        self.flush()
        self.q.put(None)
        self.thread.join()
        self.fh.close()
        self.raw.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", required=True, help="decompressed JSON bytes, e.g. 50M, 500M, 2G")
    ap.add_argument("--layout", choices=["refs", "inline"], default="refs")
    ap.add_argument("--huge-item", help="insert one in_network item of about this size mid-file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--level", type=int, default=6, help="gzip level; 0-3 use isal if installed, 4-9 zlib")
    ap.add_argument("--utf8", action="store_true", help="put some non-ASCII text in names")
    ap.add_argument("--format", choices=["mixed", "compact"], default="mixed",
                    help="mixed: ~3%% items pretty-printed, varied separators; compact: same content, no whitespace")
    ap.add_argument("--decimal-ids", action="store_true",
                    help="provider_group_id as decimals with trailing zeros kept (690.64500), as CareFirst and Anthem")
    ap.add_argument("--reference-lists", type=int, default=0, metavar="K",
                    help="rates draw their provider_references from K lists, as real payers' do (CareFirst: 74 "
                         "lists for 122 k rates, UHC: 3 for 48 k); default: a random list per rate (every set new)")
    ap.add_argument("--references", type=int, default=0, metavar="N",
                    help="provider references listed (default: one per 10 kB of the size); many of them make"
                         " a file of mostly references, as some payers' are")
    ap.add_argument("--references-last", action="store_true",
                    help="provider_references after in_network (allowed by the schema, and seen in payer files)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    target, huge = parse_size(args.size), parse_size(args.huge_item) if args.huge_item else 0
    name = f"{args.layout}_{args.size}" + (f"_huge{args.huge_item}" if huge else "") + \
        ("_utf8" if args.utf8 else "") + ("_compact" if args.format == "compact" else "") + \
        ("_decimal" if args.decimal_ids else "") + (f"_lists{args.reference_lists}" if args.reference_lists else "") + \
        (f"_refs{args.references}" if args.references else "") + ("_refslast" if args.references_last else "") + \
        (f"_seed{args.seed}" if args.seed != 1 else "")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, name + ".json.gz")
    t0 = time.perf_counter()
    meta = generate(path, target, huge, args)
    meta.update(file=os.path.basename(path), gz_bytes=os.path.getsize(path), seconds=round(time.perf_counter() - t0, 1))
    with open(os.path.join(args.out, name + ".meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps(meta))


def restyle(text: str, indent, keep_decimals: bool) -> str:
    """An item re-serialized; keep_decimals keeps every decimal as written (690.00500, not 690.005)."""
    if not keep_decimals:
        return json.dumps(json.loads(text), indent=indent, ensure_ascii=False)
    doc = json.loads(text, parse_float=lambda token: f"@decimal:{token}")
    return re.sub(r'"@decimal:([^"]*)"', r"\1", json.dumps(doc, indent=indent, ensure_ascii=False))


def generate(path: str, target: int, huge: int, args) -> dict:
    rnd = random.Random(args.seed)
    refs = args.layout == "refs"
    out = GzSink(path, args.level, args.utf8)
    c = dict(items=0, negotiated_rates=0, prices=0, rows=0, rows_npi=0, largest_item_bytes=0)
    entity = rnd.choice(["Acme", "Blue Meadow", "Keystone", "Pioneer"]) + " Health Plan"
    out.write('{\n  "reporting_entity_name": %s,\n  "reporting_entity_type": "health insurance issuer",\n'
              '  "last_updated_on": "2024-05-01",\n  "version": "1.0.0",\n' % json.dumps(entity))
    # Pools of rendered groups: (text, group count, npi count) per entry.
    last: list[str] = []  # the provider_references, when they go after in_network
    write_refs = last.append if args.references_last else out.write
    if refs:
        pool, n_refs = [], args.references or max(200, target // 10_000)
        write_refs('  "provider_references": [\n')
        for i in range(n_refs):
            groups = [provider_group(rnd) for _ in range(rnd.randint(1, 4))]
            ref = f"{690 + i // 100_000}.{i % 100_000:05d}" if args.decimal_ids else str(i)
            pool.append((ref, len(groups), sum(n for _, n in groups)))
            write_refs('%s{"provider_group_id":%s,"provider_groups":[%s]}' % (
                ",\n" if i else "", ref, ",".join(g for g, _ in groups)))
        write_refs("\n  ]" if args.references_last else "\n  ],\n")
        c["provider_references"] = n_refs
    else:
        pool = [(g, 1, n) for g, n in (provider_group(rnd) for _ in range(max(500, target // 20_000)))]
    prices = [[price(rnd, inst) for _ in range(3000)] for inst in (False, True)]
    words = WORDS + (["clínica", "niño", "señal", "über", "naïve"] if args.utf8 else [])
    fmt = '{"%s":[%%s],"negotiated_prices":[%%s]}' % ("provider_references" if refs else "provider_groups")

    # Shared lists: drawn once, picked with a skew (a payer's main networks cover most rates).
    lists = [rnd.sample(pool, rnd.randint(1, 5)) for _ in range(args.reference_lists)] if refs else []
    cum_weights = list(itertools.accumulate(1 / (k + 1) for k in range(len(lists))))

    def render_rates(n_rates: int, inst: bool) -> tuple[str, list[int]]:
        """n_rates negotiated_rate objects joined by ','; counts [rates, prices, rows, rows_npi]."""
        pp, ri, smp, texts, cnt = prices[inst], rnd.randint, rnd.sample, [], [n_rates, 0, 0, 0]
        for _ in range(n_rates):
            who = rnd.choices(lists, cum_weights=cum_weights)[0] if lists else smp(pool, ri(1, 5) if refs else ri(1, 3))
            ps = smp(pp, ri(1, 4))
            texts.append(fmt % (",".join(w[0] for w in who), ",".join(ps)))
            cnt[1] += len(ps)
            cnt[2] += sum(w[1] for w in who) * len(ps)
            cnt[3] += sum(w[2] for w in who) * len(ps)
        return ",".join(texts), cnt

    def item_head():
        t, ver, code, inst = billing_code(rnd)
        desc = " ".join(rnd.sample(words, rnd.randint(2, 7))).capitalize()
        if rnd.random() < .05:  # escapes inside strings: parsers must not split on raw quotes
            desc += ' "each" 1/2 \\ unit'
        name = desc.upper()[:30] if rnd.random() < .5 else desc
        head = ('{"negotiation_arrangement":"ffs","name":%s,"billing_code_type":"%s",'
                '"billing_code_type_version":"%s","billing_code":"%s","description":%s,"negotiated_rates":['
                % (json.dumps(name, ensure_ascii=False), t, ver, code, json.dumps(desc, ensure_ascii=False)))
        return head, inst

    def count(cnt: list[int], size: int) -> None:
        for k, v in zip(("items", "negotiated_rates", "prices", "rows", "rows_npi"), [1] + cnt):
            c[k] += v
        c["largest_item_bytes"] = max(c["largest_item_bytes"], size)

    nbytes = (lambda s: len(s.encode())) if args.utf8 else len
    out.write('  "in_network": [\n')
    start, huge_at, sep = out.tell(), None, ""
    budget = target - sum(map(len, last))  # what in_network may take
    if huge:  # regular items fill the rest of the budget, the huge one sits at its middle
        huge_at = out.tell() + (budget - huge - out.tell()) // 2
    avg_item = 110_000
    while out.tell() + avg_item // 2 < budget - 10:
        if huge_at is not None and out.tell() >= huge_at:
            huge_at, (head, inst) = None, item_head()
            out.write(sep + head)
            size, total = nbytes(head), [0, 0, 0, 0]
            while size < huge:  # streamed in batches: the item never exists as one string
                text, cnt = render_rates(2000, inst)
                text = ("," if total[0] else "") + text
                out.write(text)
                size += nbytes(text)
                total = [a + b for a, b in zip(total, cnt)]
            out.write("]}")
            count(total, size + 2)
            c["huge_item"] = {"index": c["items"] - 1, "bytes": size + 2, "negotiated_rates": total[0]}
            sep = "," if args.format == "compact" else ",\n"
            continue
        head, inst = item_head()
        text, cnt = render_rates(int(rnd.triangular(5, 300, 60)), inst)
        text = head + text + "]}"
        # drawn in both formats so that both get the same content from one seed
        style, indent = rnd.random(), rnd.choice([1, 2, "\t"])
        next_sep = rnd.choice([",", ",", ",", ",\n", ", ", ",\n    "])
        if args.format == "compact":
            style, next_sep = 1.0, ","
        if style < .03:  # a few pretty-printed items: parsers must not key on one formatting
            text = restyle(text, indent, args.decimal_ids)
        elif style < .08:
            text = restyle(text, None, args.decimal_ids)  # ", " and ": " separators
        out.write(sep + text)
        sep = next_sep
        count(cnt, nbytes(text))
        if c["items"] == 20:
            avg_item = max(1000, (out.tell() - start) // 20)
    out.write("\n  ]" + "".join([",\n"] + last if last else []) + "\n}\n")
    out.close()
    c.update(bytes=out.total, target_bytes=target, layout=args.layout, format=args.format, seed=args.seed, codec=out.codec,
             grain="rows = item x negotiated_rate x provider_group x price; rows_npi = item x rate x npi x price")
    return c


if __name__ == "__main__":
    main()
