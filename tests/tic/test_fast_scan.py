"""TopLevelScanner splits the top-level arrays of a JSON object into the exact bytes of each element."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrf_assets.tic.fast import brackets
from mrf_assets.tic.fast.scan import ScanError, TopLevelScanner
from tests.conftest import DEMO

WANTED = ("in_network", "provider_references", 'odd "key" \\ ключ 🙂')
REAL = DEMO / "real-2022"


class Raw(str):
    """A JSON number kept as its literal text (json.dumps cannot write 690.64500)."""


def one_by_one(events: list[tuple]) -> list[tuple]:
    """The events with each run of elements cut at once (ElementRun) as one event per element."""
    out = []
    for event in events:
        if event[0] == "elements":
            run_ = event[2]
            assert run_.count >= 2 and len(run_.between) >= run_.count - 1
            out += [("element", event[1], element) for element in run_.elements()]
        else:
            out.append(event)
    return out


def run(doc: bytes, sizes, **kw) -> list[tuple]:
    """Feed doc in blocks of the given sizes (cycled) and return every event, one per element. Every
    other block is a buffer that is overwritten once fed, as a reader that reuses its buffer would."""
    sc = TopLevelScanner(**kw)
    events, i, k = [], 0, 0
    while i < len(doc):
        n = sizes[k % len(sizes)]
        if k % 2:
            buffer = bytearray(doc[i : i + n])
            events += sc.feed(memoryview(buffer))
            buffer[:] = b"#" * len(buffer)
        else:
            events += sc.feed(doc[i : i + n])
        i, k = i + n, k + 1
    return one_by_one(events + sc.close())


# -- a serializer that knows the exact byte span of everything it writes ---------------------------
class Writer:
    def __init__(self, rng: random.Random, style: str, ensure_ascii: bool):
        self.rng, self.style, self.ea = rng, style, ensure_ascii
        self.indent = rng.choice([" ", "  ", "    ", "\t"])
        self.chunks: list[bytes] = []
        self.pos = 0

    def w(self, text: str) -> None:
        data = text.encode()
        self.chunks.append(data)
        self.pos += len(data)

    def ws(self, depth: int) -> None:
        if self.style == "indent":
            self.w("\n" + self.indent * depth)
        elif self.style == "random":
            self.w(self.rng.choice(["", "", " ", "\n", "\r\n", "\t", "  \n\t "]))

    def value(self, v, depth: int) -> tuple[int, int]:
        start = self.pos
        if isinstance(v, Raw):
            self.w(v)
        elif isinstance(v, str):
            self.w(json.dumps(v, ensure_ascii=self.ea))
        elif v is None or isinstance(v, bool):
            self.w({None: "null", True: "true", False: "false"}[v])
        elif isinstance(v, list):
            self.container("[", "]", [(None, x) for x in v], depth)
        else:
            self.container("{", "}", list(v.items()), depth)
        return start, self.pos

    def container(self, op: str, cl: str, items, depth: int, spans=None) -> None:
        self.w(op)
        for i, (k, x) in enumerate(items):
            if i:
                self.w(",")
            self.ws(depth + 1)
            if k is not None:
                self.w(json.dumps(k, ensure_ascii=self.ea))
                if self.style == "random":
                    self.ws(depth + 2)
                self.w(":" if self.style == "compact" else ": ")
            span = self.value(x, depth + 1)
            if spans is not None:
                spans.append(span)
        if items:
            self.ws(depth)
        self.w(cl)


def serialize(members, rng, style, ensure_ascii, bom):
    """The document's bytes and the events a correct scanner reports for WANTED."""
    w = Writer(rng, style, ensure_ascii)
    if bom:
        w.w("\ufeff")
    w.ws(0)
    w.w("{")
    plan = []
    for i, (key, v) in enumerate(members):
        if i:
            w.w(",")
        w.ws(1)
        w.w(json.dumps(key, ensure_ascii=ensure_ascii) + (":" if style == "compact" else ": "))
        if key in WANTED and isinstance(v, list):
            spans = []
            w.container("[", "]", [(None, x) for x in v], 1, spans)
            plan.append(("array", key, spans))
        else:
            plan.append(("value", key, w.value(v, 1)))
    w.ws(0)
    w.w("}")
    w.ws(0)
    doc = b"".join(w.chunks)
    expected = []
    for kind, key, where in plan:
        if kind == "array":
            expected += [("element", key, doc[a:b]) for a, b in where]
            expected.append(("array_end", key, len(where)))
        else:
            a, b = where
            is_container = doc[a : a + 1] in (b"[", b"{")
            expected.append(("skipped", key, b - a) if is_container else ("scalar", key, doc[a:b]))
    return doc, expected


numbers = st.from_regex(r"-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,6}0{0,3})?([eE][+-]?[0-9]{1,2})?", fullmatch=True).map(Raw)
texts = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from('"\\{}[],:\x00\x1f\x7f\n\t/ \\"')), max_size=10)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts, st.just(Raw("690.64500")))
values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=10
)
elements = st.one_of(st.dictionaries(texts, values, max_size=5), st.lists(values, max_size=3), scalars)
wanted_values = st.one_of(st.lists(elements, max_size=6), st.lists(elements, max_size=6), values)
others = st.lists(st.tuples(texts.filter(lambda k: k not in WANTED), values), max_size=4, unique_by=lambda kv: kv[0])


@st.composite
def documents(draw):
    members = draw(others)
    for key in WANTED:
        if draw(st.booleans()) or key == "in_network":
            members.append((key, draw(wanted_values)))
    members = draw(st.permutations(members))
    rng = draw(st.randoms(use_true_random=False))
    style = draw(st.sampled_from(["compact", "indent", "random"]))
    doc, expected = serialize(members, rng, style, draw(st.booleans()), draw(st.booleans()))
    top = draw(st.sampled_from([1, 2, 3, 5, 17, 256, len(doc)]))
    sizes = [rng.randint(1, top) for _ in range(64)]
    return doc, expected, sizes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents())
def test_random_documents_split_exactly(case):
    doc, expected, sizes = case
    events = run(doc, sizes, arrays=WANTED)
    assert events == expected
    parsed = json.loads(doc.decode("utf-8-sig"))
    for kind, key, *rest in events:
        if kind == "element":
            assert json.loads(rest[0]) in parsed[key]
        elif kind == "scalar":
            assert json.loads(rest[0]) == parsed[key]
        elif kind == "array_end":
            assert [json.loads(e[2]) for e in events if e[:2] == ("element", key)] == parsed[key]
            assert rest[0] == len(parsed[key])
    got = b"".join(e[2] for e in events if e[0] == "element")
    assert got == b"".join(e[2] for e in expected if e[0] == "element")
    # Again with a tiny size limit: elements above it arrive as spill files holding the same bytes.
    limit = sizes[0] % 40
    with tempfile.TemporaryDirectory() as spill:
        spilled = []
        for e in run(doc, sizes[::-1], arrays=WANTED, max_element_bytes=limit, spill_dir=spill):
            if e[0] == "big_element":
                with open(e[2], "rb") as f:
                    e = ("element", e[1], f.read(), e[3])
                assert e[3] == len(e[2]) > limit
                e = e[:3]
            spilled.append(e)
        assert spilled == expected
        assert len(os.listdir(spill)) == sum(len(e[2]) > limit for e in expected if e[0] == "element")


SMALL = (
    '\ufeff {"a": "x\\"}]", "in_network": [{"b": [1, {"c": "\\\\"}], "d": 690.64500}, [2, "]"], 3, "s,}"],'
    ' "o": {"k": [1, 2]}, "z": "ключ 🙂 \\u00e9", "provider_references": [], "n": null}\n'
).encode()


@pytest.mark.parametrize("pretty", [False, True])
def test_every_truncation_raises(pretty):
    doc = SMALL
    if pretty:
        doc = json.dumps(json.loads(doc.decode("utf-8-sig")), indent=2, ensure_ascii=False).encode()
    full = run(doc, [len(doc)])
    assert [e[0] for e in full].count("element") == 4
    end = doc.rindex(b"}")
    for cut in range(end + 1):
        for sizes in ([max(cut, 1)], [1], [3]) if cut % 5 == 0 else ([max(cut, 1)], [cut // 2 + 1]):
            with pytest.raises(ScanError):
                run(doc[:cut], sizes)


@pytest.mark.parametrize("doc", [b"[1, 2]", b"  \n[{}]", b'"x"', b"1", b"\xef\xbb\xbf[]", b"null", b"}"])
def test_not_an_object_raises_at_once(doc):
    sc = TopLevelScanner()
    with pytest.raises(ScanError):
        for i in range(len(doc)):  # the error comes from feed, as soon as the first byte is seen
            sc.feed(doc[i : i + 1])


@pytest.mark.parametrize(
    "doc",
    [b'{"a": 1} x', b'{"a": 1}}', b'{"a": 1} {}', b'{"in_network": [1]}]', b"{} []", b'{"a": [1]}\n\n,'],
)
def test_trailing_garbage_raises(doc):
    for sizes in ([len(doc)], [1], [4]):
        with pytest.raises(ScanError):
            run(doc, sizes)
    sc = TopLevelScanner()
    sc.feed(b'{"a": 1}  \n')
    with pytest.raises(ScanError):
        sc.feed(b"  x")


@pytest.mark.parametrize(
    "doc",
    [
        b'{"in_network": [1, 2}',
        b'{"in_network": [{"a": 1]]}',
        b'{"a": ]}',
        b'{"a": 1 "b": 2}',
        b'{"a": 1,}',
        b'{"in_network": [{}, ]}',
        b'{"in_network": [{} {}]}',
        b'{"in_network": [{},, {}]}',
        b'{"in_network": [{}, {} , ,{}]}',
        b'{"in_network": [{}, {}, {}, {} {}, {}]}',  # a run of elements cut at once declines, then says why
        b'{"in_network": [{}, {}, {}, {}, x {}, {}]}',
        b'{"in_network": [{}, {}, {}, {}, [}, {}]}',
        b'{"in_network": [1 2]}',
        b'{1: 2}',
        b'{"a" 1}',
        b'{"a": [1]]',
        b'{"a": tru}',
    ],
)
def test_malformed_structure_raises(doc):
    with pytest.raises(ScanError):
        run(doc, [len(doc)])


def test_bom_whitespace_and_empty_blocks():
    doc = b"\xef\xbb\xbf \r\n\t" + SMALL.lstrip(b"\xef\xbb\xbf ")
    assert run(doc, [1]) == run(doc, [len(doc)]) == run(SMALL, [len(SMALL)])
    sc = TopLevelScanner()
    events = []
    for i in range(0, len(doc), 9):
        events += sc.feed(b"") + sc.feed(doc[i : i + 9]) + sc.feed(bytearray())
    assert one_by_one(events + sc.close()) == run(doc, [len(doc)])


@pytest.mark.parametrize("block", [7, 1000, 1 << 20])
def test_big_element_goes_to_a_spill_file(tmp_path, block):
    big = {"billing_code": "x", "rates": [{"price": f"{i}.50", "note": 'q"\\' * (i % 3)} for i in range(3000)]}
    small = {"billing_code": "y"}
    raw_big = json.dumps(big, indent=1).encode()
    doc = b'{"in_network": [' + json.dumps(small).encode() + b", " + raw_big + b", " + json.dumps(small).encode() + b"]}"
    events = run(doc, [block], max_element_bytes=10_000, spill_dir=tmp_path)
    kinds = [e[0] for e in events]
    assert kinds == ["element", "big_element", "element", "array_end"]
    _, key, path, size = events[1]
    assert key == "in_network" and os.path.dirname(path) == str(tmp_path) and size == len(raw_big)
    with open(path, "rb") as f:
        assert f.read() == raw_big
    os.unlink(path)
    assert json.loads(events[0][2]) == json.loads(events[2][2]) == small and events[3][2] == 3


def test_truncated_big_element_removes_its_spill_file(tmp_path):
    doc = b'{"in_network": [{"a": "' + b"x" * 50_000 + b'"}]}'
    sc = TopLevelScanner(max_element_bytes=1000, spill_dir=tmp_path)
    for i in range(0, 30_000, 4096):
        sc.feed(doc[i : i + 4096])
    assert len(os.listdir(tmp_path)) == 1
    with pytest.raises(ScanError):
        sc.close()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("shift", range(-4, 5))
def test_escapes_across_window_boundaries(shift):
    """Blocks bigger than the vector window are classified window by window (in parallel)."""
    tricky = ['a\\', 'b"', '\\"]', '\\\\', "}{", '"\\\\\\"[', "\\" * 7]
    pad = brackets.WINDOW - 37 + shift  # puts the six backslashes of "t" (and its quote) across the border
    items = [{"pad": "p" * pad, "t": "\\\\\\"}]
    items += [{"i": i, "s": tricky[i % len(tricky)] * (i % 5)} for i in range(20_000)]
    doc = ('{"in_network": [' + ", ".join(map(json.dumps, items)) + '], "v": "\\\\"}').encode()
    assert doc.index(b"\\" * 6) == brackets.WINDOW - 3 + shift
    events = run(doc, [len(doc)])
    parsed = json.loads(doc)
    assert [json.loads(e[2]) for e in events if e[0] == "element"] == parsed["in_network"]
    assert events[-1] == ("scalar", "v", b'"\\\\"')


def test_long_run_of_scalar_elements_streams():
    values = [f"{i}.{i % 7}00" for i in range(300_000)]
    doc = ('{"in_network": [' + ", ".join(values) + '], "x": 1}').encode()
    sc = TopLevelScanner()
    streamed, events = 0, []
    for i in range(0, len(doc), 1 << 16):
        got = sc.feed(doc[i : i + (1 << 16)])
        if i + (1 << 16) < len(doc) * 0.9:
            streamed += len(got)
        events += one_by_one(got)
    events += sc.close()
    assert streamed > 100_000  # elements come out while the array is still open
    assert [e[2].decode() for e in events if e[0] == "element"] == values
    assert events[-2:] == [("array_end", "in_network", 300_000), ("scalar", "x", b"1")]


def test_reused_buffers_are_copied_out_of():
    doc = SMALL * 1
    buf = bytearray(5)
    sc = TopLevelScanner()
    events = []
    for i in range(0, len(doc), 5):
        chunk = doc[i : i + 5]
        buf[: len(chunk)] = chunk
        events += sc.feed(memoryview(buf)[: len(chunk)])
        buf[:] = b"#####"
    assert one_by_one(events + sc.close()) == run(SMALL, [len(SMALL)])


def real(name: str) -> bytes:
    (path,) = REAL.glob(name)
    with gzip.open(path, "rb") as f:
        return f.read()


def check_real(doc: bytes, n_items: int, n_refs: int):
    parsed = json.loads(doc)
    for block in (1 << 16, 1 << 20, len(doc)):
        events = run(doc, [block])
        items = [e[2] for e in events if e[:2] == ("element", "in_network")]
        refs = [e[2] for e in events if e[:2] == ("element", "provider_references")]
        assert (len(items), len(refs)) == (n_items, n_refs)
        assert ("array_end", "in_network", n_items) in events and ("array_end", "provider_references", n_refs) in events
        assert [json.loads(x) for x in items] == parsed["in_network"]
        assert [json.loads(x) for x in refs] == parsed["provider_references"]
        scalars = {e[1]: json.loads(e[2]) for e in events if e[0] == "scalar"}
        assert scalars == {k: v for k, v in parsed.items() if not isinstance(v, (list, dict))}
    return items, refs


def test_real_uhc_file():
    check_real(real("uhc-ny_*.json.gz"), 13_673, 3)


def test_real_carefirst_file_keeps_number_text():
    doc = real("carefirst_*.json.gz")
    items, refs = check_real(doc, 1_773, 370)
    ids = re.compile(rb'"provider_group_id":\s*(-?[0-9.eE+-]+)')
    ref_ids = [m for x in refs for m in ids.findall(x)]
    assert ref_ids == ids.findall(doc) and len(ref_ids) == 370
    assert b"690.64500" in ref_ids  # not 690.645, as a float round trip would write
    # Items point at those ids; their raw bytes keep the same text as the document.
    item_refs = [m for x in items for m in re.findall(rb"690\.[0-9]+", x)]
    assert item_refs == re.findall(rb"690\.[0-9]+", doc[doc.index(b'"in_network"') :])
    assert sum(x.endswith(b"0") for x in item_refs) > 1000
