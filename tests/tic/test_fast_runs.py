"""ElementRun: the elements the scanner cut from one block at once, as lines for Arrow, split into batches."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.json as pj
import pytest

from mrf_assets.tic.fast.runs import Batches, ElementRun, count, elements, joined, largest, lines, portions
from mrf_assets.tic.fast.scan import TopLevelScanner

ITEMS = [{"billing_code": f"{i:05d}", "rates": [{"price": i + 0.5, "codes": ["11", "22"][: i % 3]}],
          "note": "a,\\n } { ] [ ключ" * (i % 4)} for i in range(40)]
STYLES = {
    "compact lines": lambda items: ",\n".join(json.dumps(x, separators=(",", ":")) for x in items),
    "compact": lambda items: ",".join(json.dumps(x, separators=(",", ":")) for x in items),
    "pretty": lambda items: json.dumps(items, indent=2)[1:-1],
    "crlf": lambda items: json.dumps(items, indent="\t")[1:-1].replace("\n", "\r\n"),
    "spaces": lambda items: " ,  ".join(json.dumps(x) for x in items),
}


def scanned(style: str) -> list:
    """What the scanner hands on for the in_network array of a document fed in one block: runs and bytes."""
    doc = ('{"in_network": [' + STYLES[style](ITEMS) + "]}").encode()
    scanner = TopLevelScanner()
    events = scanner.feed(doc) + scanner.close()
    return [e[2] for e in events if e[0] in ("element", "elements")]


def run_of(style: str) -> ElementRun:
    """The run of a block's elements: all but the first, which has no comma before it."""
    pieces = scanned(style)
    assert [json.loads(e) for e in elements(pieces)] == ITEMS
    first, run = pieces
    assert isinstance(first, bytes) and isinstance(run, ElementRun)
    return run


def decoded(data: bytes | bytearray, block: int = 1 << 20) -> list:
    """Arrow's reading of the lines, as the fast path reads them (objects may span lines)."""
    return pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=block),
                        parse_options=pj.ParseOptions(newlines_in_values=True)).to_pylist()


@pytest.mark.parametrize("style", STYLES)
def test_a_block_of_elements_is_one_run(style):
    run = run_of(style)
    assert count(run) == len(ITEMS) - 1
    assert [json.loads(e) for e in run.elements()] == ITEMS[1:]
    assert json.loads(b"[" + bytes(joined(run)) + b"]") == ITEMS[1:]
    assert largest(run) == max(map(len, run.elements()))
    assert len(run) == len(joined(run))


@pytest.mark.parametrize("style", STYLES)
def test_lines_hold_one_element_per_line(style):
    run = run_of(style)
    single = json.dumps({"billing_code": "x", "rates": []}, indent=1).encode()  # a piece cut on its own
    data = lines([single, run, b'{"billing_code": "y"}'])
    expected = [json.loads(single), *ITEMS[1:], {"billing_code": "y"}]
    for block in (1 << 20, 512):  # one block, and blocks that end inside elements
        assert [row["billing_code"] for row in decoded(data, block)] == [r["billing_code"] for r in expected]
    if style.startswith("compact"):  # no line break inside an element: one per line
        assert [json.loads(line) for line in bytes(lines([run])).split(b"\n") if line.strip()] == ITEMS[1:]
    assert bytes(joined(run)) == bytes(joined(run_of(style)))  # the block is left as it was


@pytest.mark.parametrize("style", ["compact lines", "pretty"])
def test_split_takes_the_elements_that_reach_the_size(style):
    run = run_of(style)
    for nbytes in range(1, len(run) + 2, 7):
        head, tail = run.split(nbytes)
        assert elements([head]) + (elements([tail]) if tail else []) == run.elements()
        assert len(head) >= nbytes or tail is None
        k = head.count  # and not one element more than that
        assert k == 1 or int(run.closes[k - 2]) + 1 - int(run.opens[0]) < nbytes
        for part in (head, tail):
            if part is not None:
                assert [row["billing_code"] for row in decoded(lines([part]))] == \
                    [json.loads(e)["billing_code"] for e in part.elements()]


def test_portions_fill_batches():
    run = run_of("compact")
    room, full = 300, 1000
    parts = list(portions(run, room, full))
    assert elements(parts) == run.elements()
    assert len(parts[0]) >= room and all(len(p) >= full for p in parts[1:-1])
    assert list(portions(b"{}", room, full)) == [b"{}"]


def test_a_reused_buffer_is_copied_into_its_run():
    doc = ('{"in_network": [' + STYLES["compact lines"](ITEMS) + "]}").encode()
    buf = bytearray(len(doc))
    buf[:] = doc
    scanner = TopLevelScanner()
    events = scanner.feed(memoryview(buf)) + scanner.close()
    buf[:] = b"#" * len(buf)
    (run,) = [e[2] for e in events if e[0] == "elements"]
    assert [json.loads(e) for e in run.elements()] == ITEMS[1:]
    assert [row["billing_code"] for row in decoded(lines([run]))] == [x["billing_code"] for x in ITEMS[1:]]


def test_batches_number_their_elements():
    run = run_of("compact lines")
    batches = Batches(700)
    got = batches.add(b'{"a": 1}')
    got += batches.add(run)
    got += batches.take(), (None, batches.skip())  # a giant item: its own position, after the batch so far
    got += batches.add(b'{"b": 2}')
    got.append(batches.take())
    assert [json.loads(e) for batch, _ in got if batch for e in elements(batch)] == [{"a": 1}, *ITEMS[1:], {"b": 2}]
    sizes = [sum(map(len, batch)) for batch, _ in got if batch]
    assert all(size >= 700 for size in sizes[:-2]) and len(sizes) > 3
    expected, position = [], 0
    for batch, first in got:
        expected.append(position)
        position += 1 if batch is None else sum(map(count, batch))
    assert [first for _, first in got] == expected
    assert batches.count == len(ITEMS) + 2
