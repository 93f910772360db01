"""The fast path (scan -> Arrow -> flatten) produces exactly the reference path's tables."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import tempfile
from decimal import Decimal
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrf_assets.tic.fast import stream
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ingest import PartitionIngest
from mrf_assets.tic.lake import Lake
from tests.conftest import DEMO
from tests.support.lake_rows import sorted_tables, table

FIXTURES = (sorted((DEMO / "cms-v1").glob("in-network-*.json")) + sorted((DEMO / "cms-v2").glob("in-network-*.json"))
            + sorted((DEMO / "real-2022").glob("*.json.gz")))
REMOTE = {"https://www.cms.gov/some_provider_group.json": (DEMO / "cms-v1" / "provider-reference.json").as_uri()}


def ingest(root: Path, parser: str, *paths: Path):
    lake = Lake(str(root))
    resolve = lambda url: REMOTE.get(url, url)  # noqa: E731
    run = PartitionIngest(lake, "p", "2026-11", f"run-{parser}", HttpClient(offline=True), resolve=resolve, parser=parser)
    stats = [run.ingest(str(p)) for p in paths]
    run.commit()
    return lake, stats


def assert_same(tmp_path: Path, *paths: Path) -> tuple[list[dict], list[dict]]:
    reference, ref_stats = ingest(tmp_path / "reference", "reference", *paths)
    fast, fast_stats = ingest(tmp_path / "fast", "fast", *paths)
    expected, got = sorted_tables(reference, "2026-11", "p"), sorted_tables(fast, "2026-11", "p")
    for name in expected:
        assert got[name].equals(expected[name]), f"{name}: fast path differs from the reference path"
    counts = ("status", "items", "items_rejected", "prices", "expected_rows", "rows", "rows_rejected", "provider_groups")
    assert [{k: s.get(k) for k in counts} for s in fast_stats] == [{k: s.get(k) for k in counts} for s in ref_stats]
    return ref_stats, fast_stats


def a_price(rate=12.5) -> dict:
    return {"negotiated_type": "negotiated", "negotiated_rate": rate, "expiration_date": "9999-12-31",
            "billing_class": "professional"}


def an_item(rates: list[dict], **fields) -> dict:
    """An in-network item with these negotiated rates; `fields` replace its name, code and the like."""
    return {"negotiation_arrangement": "ffs", "name": "n", "billing_code_type": "CPT",
            "billing_code_type_version": "2024", "billing_code": "27447", "description": "d",
            "negotiated_rates": rates, **fields}


def a_document(items: list[dict], references: list[dict] | None = None) -> dict:
    """A file's top level, its provider references (when given) before its items."""
    header = {"reporting_entity_name": "x", "last_updated_on": "2026-11-01", "version": "1.0.0"}
    return {**header, **({"provider_references": references} if references is not None else {}), "in_network": items}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixtures_equal_reference(tmp_path, path):
    _, [stat] = assert_same(tmp_path, path)
    assert stat["parser"] == "fast"
    assert stat["items_fallback"] == 0  # carefirst's decimal provider ids (690.64462) are decoded as text


def test_giant_items_decoded_in_chunks_of_rates(tmp_path, monkeypatch):
    # thresholds shrunk so that small files exercise the giant-item path: items over 200 bytes are
    # spilled, and their rates are decoded ~300 bytes at a time
    monkeypatch.setattr(stream, "GIANT_ITEM", 200)
    monkeypatch.setattr(stream, "BATCH_BYTES", 300)
    doc = json.loads((DEMO / "cms-v2" / "in-network-rates-all-negotiated-types-sample.json").read_text())
    rates = doc["in_network"][0]["negotiated_rates"]
    doc["in_network"][0]["negotiated_rates"] = [dict(r, provider_references=[1 if n % 3 else 404])
                                                for n in range(12) for r in rates]
    doc["in_network"][1]["billing_code"] = ""  # a rejected giant item is rejected once
    path = tmp_path / "giant.json"
    path.write_text(json.dumps(doc, indent=2))
    _, [stat] = assert_same(tmp_path, path)
    assert stat["items_giant"] >= 2 and stat["rows_rejected"] > 0 and stat["items_rejected"] == 1


@pytest.mark.parametrize("references_last", [False, True])
def test_giant_provider_references_are_read_wherever_they_are(tmp_path, monkeypatch, references_last):
    """A reference over GIANT_ITEM is spilled and read by the reference rules. Found by hypothesis with a
    small GIANT_ITEM: one among the file's last references was read after its spill directory was gone."""
    monkeypatch.setattr(stream, "GIANT_ITEM", 200)
    spills = tmp_path / "tmp"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    groups = [{"npi": [1730666900 + n for n in range(20)], "tin": {"type": "ein", "value": f"12-345678{n}"}}
              for n in range(3)]
    doc = a_document([an_item([{"provider_references": [2], "negotiated_prices": [a_price(1.0)]}])],
                     [{"provider_group_id": n, "provider_groups": groups[: n + 1]} for n in range(3)])
    if references_last:
        doc["provider_references"] = doc.pop("provider_references")
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    _, [stat] = assert_same(tmp_path, path)
    assert stat["status"] == "ok" and stat["rows"] == 3 and stat["provider_groups"] == 3
    assert not list(spills.iterdir())  # spills are removed


# --- generated files ------------------------------------------------------------------------------
# Decimal provider ids as the file's own tokens: 690.64500 is not 690.645. Tokens that Python's Decimal
# writes differently (1e5 -> 1E+5, 0.0000001 -> 1E-7, -0 -> 0) send their batch to the reference rules.
DECIMAL_IDS = ["690.64500", "690.645", "40.0000000001", "0.5", "12.0", "-3.25", "1e5", "-0", "0.0000001"]
RAW = re.compile(r'"@raw:([^"@]*)@"')  # a placeholder string for a number token, replaced after json.dumps
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NPI = st.sampled_from([1730666900, 1285613760, 1234567893, 1111111111, 0])


def group():
    tin = st.fixed_dictionaries({"type": st.sampled_from(["ein", "npi", "EIN", " Ein ", ""]),
                                 "value": st.sampled_from(["12-3456789", "123456789", "1234567893", " 12-3456789 ", "12-345"])},
                                optional={"business_name": TEXT})
    return st.one_of(
        st.fixed_dictionaries({"npi": st.lists(NPI, min_size=1, max_size=3), "tin": tin}),
        st.fixed_dictionaries({"npi": st.lists(st.one_of(NPI, st.none()), max_size=3)}, optional={"tin": tin}))


def odd_now_and_then(rate):
    """Now and then a null rate (a reject) or a quoted one (Arrow refuses it; the reference rules read it)."""
    return st.sampled_from([rate] * 18 + [None, str(rate)])


def price():
    return st.fixed_dictionaries(
        {"negotiated_type": st.sampled_from(["negotiated", "fee schedule", "percentage", "bogus"]),
         "negotiated_rate": st.one_of(st.floats(0.01, 1e6, allow_nan=False).map(lambda x: round(x, 2)),
                                      st.integers(0, 10_000)).flatmap(odd_now_and_then),
         "expiration_date": st.sampled_from(["9999-12-31", "2025-01-01", "12/31/2024"]),
         "billing_class": st.sampled_from(["professional", "institutional", "both"])},
        optional={"service_code": st.lists(st.sampled_from(["1", "11", "02", "CSTM-00", " 22 ", None]), max_size=3),
                  "billing_code_modifier": st.lists(st.sampled_from(["26", "TC", "", None]), max_size=2),
                  "setting": st.sampled_from(["inpatient", "outpatient"]), "additional_information": TEXT})


@st.composite
def documents(draw):
    decimal = st.sampled_from(DECIMAL_IDS).map(lambda token: f"@raw:{token}@")
    ids = st.one_of(st.integers(0, 50), decimal) if draw(st.booleans()) else st.integers(0, 50)
    refs_ids = draw(st.lists(ids, min_size=0, max_size=5))  # an id may be listed twice
    references = [{"provider_group_id": i, "provider_groups": draw(st.lists(group(), min_size=0, max_size=2)),
                   **draw(st.fixed_dictionaries({}, optional={"network_name": st.lists(st.one_of(TEXT, st.none()),
                                                                                        max_size=2)}))}
                  for i in refs_ids]
    def rate():
        base = {"negotiated_prices": draw(st.lists(price(), min_size=0, max_size=3))}
        if draw(st.integers(0, 9)) == 0:
            del base["negotiated_prices"]  # missing, not empty: rejected with another record
        if refs_ids and draw(st.booleans()):
            base["provider_references"] = draw(st.lists(st.sampled_from(refs_ids + [999]), min_size=1, max_size=3))
        else:
            base["provider_groups"] = draw(st.lists(group(), min_size=0, max_size=2))
        if draw(st.integers(0, 14)) == 0:
            base.pop("provider_groups", None), base.pop("provider_references", None)  # neither
        return base
    items = []
    for _ in range(draw(st.integers(1, 6))):
        item = {"negotiation_arrangement": "ffs", "name": draw(TEXT), "billing_code_type": draw(st.sampled_from(["CPT", "", "MS-DRG"])),
                "billing_code_type_version": "2024", "billing_code": draw(st.sampled_from(["27447", "0470", "", "J1885"])),
                "description": draw(TEXT), "negotiated_rates": [rate() for _ in range(draw(st.integers(0, 3)))]}
        for missing in draw(st.lists(st.sampled_from(["billing_code", "billing_code_type", "negotiated_rates"]),
                                     max_size=1)):
            del item[missing]  # null in Arrow, where "" is blank: both are rejected
        keys = list(item)
        draw(st.randoms(use_true_random=False)).shuffle(keys)
        items.append({k: item[k] for k in keys})
    doc = {"reporting_entity_name": draw(TEXT), "reporting_entity_type": "health insurance issuer",
           "last_updated_on": "2026-11-01", "version": draw(st.sampled_from(["1.0.0", "2.0.0"])), "in_network": items}
    if references:
        doc["provider_references"] = references
    order = list(doc)
    draw(st.randoms(use_true_random=False)).shuffle(order)
    return ({k: doc[k] for k in order}, draw(st.sampled_from([None, 1, 4])), draw(st.booleans()),
            draw(st.sampled_from([stream.BATCH_BYTES, 1, 300])), draw(st.sampled_from([stream.MAX_SKIPS, 0, 1])),
            draw(st.sampled_from([stream.GIANT_ITEM, 400])))


@contextlib.contextmanager
def fast_path_limits(batch_bytes: int, max_skips: int, giant_item: int):
    """Small batches split the scanner's runs of items and references between batches; a batch that
    Arrow cannot decode skips items one by one, or is read in Python at once; items and references over
    a small GIANT_ITEM take the giant path."""
    with mock.patch.object(stream, "BATCH_BYTES", batch_bytes), \
            mock.patch.object(stream, "FIRST_REFERENCE_BYTES", max(1, batch_bytes // 4)), \
            mock.patch.object(stream, "MAX_SKIPS", max_skips), mock.patch.object(stream, "GIANT_ITEM", giant_item):
        yield


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents())
def test_generated_files_equal_reference(tmp_path_factory, case):
    doc, indent, ascii_only, batch_bytes, max_skips, giant_item = case
    root = tmp_path_factory.mktemp("gen")
    body = RAW.sub(r"\1", json.dumps(doc, indent=indent, ensure_ascii=ascii_only)).encode()
    path = root / ("in.json.gz" if len(body) % 2 else "in.json")  # drawn from the example: a failure replays
    path.write_bytes(gzip.compress(body) if path.suffix == ".gz" else body)
    with fast_path_limits(batch_bytes, max_skips, giant_item):
        ref, fast = assert_same(root, path)
    assert fast[0]["status"] == ref[0]["status"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(documents(), min_size=2, max_size=3))
def test_generated_files_of_one_partition_equal_reference(tmp_path_factory, cases):
    """Files of one partition share what they wrote (groups, organizations' names, provider sets): each is
    written once, and the merge at commit gives both paths the same tables."""
    root = tmp_path_factory.mktemp("gen")
    paths = []
    for number, (doc, indent, ascii_only, *_) in enumerate(cases):
        paths.append(root / f"in-{number}.json")
        paths[-1].write_text(RAW.sub(r"\1", json.dumps(doc, indent=indent, ensure_ascii=ascii_only)))
    *_, batch_bytes, max_skips, giant_item = cases[0]
    with fast_path_limits(batch_bytes, max_skips, giant_item):
        assert_same(root, *paths)


# Values only a sloppy writer produces: (what replaces the second item's name, its rate, its NPI), and
# whether the file is ingested (the reference parser, yajl, decides; the fast path must agree).
MALFORMED = {
    "a raw line break in a string": ('"knee\nreplacement"', "12.5", "failed"),
    "a raw carriage return in a string": ('"knee\rreplacement"', "12.5", "failed"),
    "a raw tab in a string": ('"knee\treplacement"', "12.5", "failed"),
    "NaN": ('"n"', "NaN", "failed"),
    "Infinity": ('"n"', "-Infinity", "failed"),
    "invalid UTF-8": ('"\udcff\udcfe"', "12.5", "failed"),  # the bytes ff fe, written with surrogateescape
    "a trailing comma": ('"n",', "12.5", "failed"),
    "a lone surrogate escape": ('"\\ud800 knee"', "12.5", "ok"),  # yajl reads "?"
    "an integer beyond a double": ('"n"', "1" + "0" * 400, "ok"),  # infinite, as 1e400 is
    "a repeated key": ('"a", "name": "b"', "12.5", "ok"),
    "an NPI beyond 64 bits": ('"n"', "12.5", "ok", "1" + "0" * 30),  # a null NPI row, as for any non-NPI
    # the price is rejected, and so the provider set of its rate (a group of its own) is not written
    "a null rate": ('"n"', "null", "ok", "1285613760"),
    "a quoted rate": ('"n"', '"12.5"', "ok"),  # Arrow refuses it: the reference rules read the item
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_values_are_read_as_the_reference_path_reads_them(tmp_path, case):
    name, rate, status, npi = (*MALFORMED[case], "1730666900")[:4]
    price = '{"negotiated_type": "negotiated", "negotiated_rate": RATE, "expiration_date": "9999-12-31", "billing_class": "professional"}'
    item = ('{"negotiation_arrangement": "ffs", "name": NAME, "billing_code_type": "CPT", "billing_code_type_version": "2024", '
            '"billing_code": "27447", "description": "d", "negotiated_rates": [{"provider_groups": [{"npi": [1730666900], '
            '"tin": {"type": "ein", "value": "1"}}], "negotiated_prices": [PRICE]}]}').replace("1730666900", "NPI")
    good = item.replace("NAME", '"n"').replace("PRICE", price.replace("RATE", "12.5")).replace("NPI", "1730666900")
    bad = item.replace("NAME", name).replace("PRICE", price.replace("RATE", rate)).replace("NPI", npi)
    text = ('{"reporting_entity_name": "x", "last_updated_on": "2026-11-01", "version": "1.0.0", "in_network": ['
            + ",\n".join([good, bad, good]) + "]}")
    assert_read_alike(tmp_path, text, status,
                      ("invalid JSON in in_network[1]", "in_network[1]: invalid JSON", "invalid UTF-8"))


def assert_read_alike(tmp_path: Path, text: str, status: str, errors: tuple[str, ...]) -> None:
    """Both parsers ingest the file alike (`status` "ok"), or both fail it, the fast path with an error
    that starts with one of `errors` (the file's reject row holds each parser's own message)."""
    path = tmp_path / "in.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    if status == "ok":
        ref_stats, fast_stats = assert_same(tmp_path, path)
    else:
        (_, ref_stats), (_, fast_stats) = (ingest(tmp_path / parser, parser, path) for parser in ("reference", "fast"))
        assert fast_stats[0]["error"].startswith(errors)
    assert [ref_stats[0]["status"], fast_stats[0]["status"]] == [status, status]


# The same for a provider reference listed before the items: (its text, whether the file is ingested).
MALFORMED_REFERENCES = {
    "a NaN group id": ('{"provider_group_id": NaN, "provider_groups": []}', "failed"),
    "a NaN NPI": ('{"provider_group_id": 2, "provider_groups": [{"npi": [NaN], "tin": {"type": "ein", "value": "1"}}]}',
                  "failed"),
    "a raw line break in a name": ('{"provider_group_id": 2, "provider_groups": [{"npi": [1], "tin": {"type": "ein", '
                                   '"value": "1", "business_name": "a\nb"}}]}', "failed"),
    "invalid UTF-8 in a name": ('{"provider_group_id": 2, "provider_groups": [{"npi": [1], "tin": {"type": "ein", '
                                '"value": "1", "business_name": "\udcff"}}]}', "failed"),
    "a lone surrogate escape in a name": ('{"provider_group_id": 2, "provider_groups": [{"npi": [1], "tin": {"type": '
                                          '"ein", "value": "1", "business_name": "\\ud800"}}]}', "ok"),
    "a group id beyond 64 bits": ('{"provider_group_id": 1' + "0" * 30 + ', "provider_groups": []}', "ok"),
}


@pytest.mark.parametrize("case", MALFORMED_REFERENCES, ids=list(MALFORMED_REFERENCES))
def test_malformed_references_are_read_as_the_reference_path_reads_them(tmp_path, case):
    reference, status = MALFORMED_REFERENCES[case]
    item = ('{"negotiation_arrangement": "ffs", "name": "n", "billing_code_type": "CPT", "billing_code_type_version": '
            '"2024", "billing_code": "27447", "description": "d", "negotiated_rates": [{"provider_references": [1], '
            '"negotiated_prices": [{"negotiated_type": "negotiated", "negotiated_rate": 12.5, "expiration_date": '
            '"9999-12-31", "billing_class": "professional"}]}]}')
    good = '{"provider_group_id": 1, "provider_groups": [{"npi": [1730666900], "tin": {"type": "ein", "value": "1"}}]}'
    text = ('{"reporting_entity_name": "x", "last_updated_on": "2026-11-01", "version": "1.0.0", "provider_references": ['
            + ",\n".join([good, reference, good.replace(": 1,", ": 3,")]) + '], "in_network": [' + ",\n".join([item] * 3) + "]}")
    assert_read_alike(tmp_path, text, status, ("invalid JSON", "invalid UTF-8"))


def test_a_batch_falling_back_after_the_references_keeps_every_group(tmp_path):
    """Items that Arrow cannot decode (a quoted rate) go to the reference rules after the references
    were indexed: a reference with two groups must still fan out to both."""
    groups = [{"npi": [1730666900], "tin": {"type": "ein", "value": "12-3456789"}},
              {"npi": [1285613760], "tin": {"type": "ein", "value": "98-7654321"}}]
    doc = a_document([an_item([{"provider_references": [1], "negotiated_prices": [a_price("12.5")]}])],
                     [{"provider_group_id": 1, "provider_groups": groups}])
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    _, [stat] = assert_same(tmp_path, path)
    assert stat["items_fallback"] == 1 and stat["rows"] == 2


@pytest.mark.parametrize("references_last", [False, True])
@pytest.mark.parametrize("batch_bytes", [1, stream.BATCH_BYTES])
def test_a_tins_business_name_does_not_depend_on_the_order_it_is_read_in(tmp_path, monkeypatch, batch_bytes,
                                                                       references_last):
    """A TIN given several names keeps the smallest non-empty one, on both paths. Found by hypothesis:
    "the first name seen" depended on which flatten thread recorded it first, and on whether items were
    flattened before the references that follow them."""
    monkeypatch.setattr(stream, "BATCH_BYTES", batch_bytes)
    tin = lambda name: {"type": "ein", "value": "12-3456789", **name}  # noqa: E731
    item = lambda name: an_item([{"negotiated_prices": [a_price(1.0)],  # noqa: E731
                                  "provider_groups": [{"npi": [1730666900], "tin": tin(name)}]}])
    references = [{"provider_group_id": 0, "provider_groups": [{"npi": [1285613760], "tin": tin({})}]},
                  {"provider_group_id": 1, "provider_groups": [{"npi": [1285613760],
                                                                "tin": tin({"business_name": "Acme Medical"})}]}]
    doc = a_document([item({"business_name": "ACME MEDICAL GROUP"}), item({"business_name": ""}), item({})],
                     references)
    if references_last:
        doc["provider_references"] = doc.pop("provider_references")
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    assert_same(tmp_path, path)
    organizations = table(Lake(str(tmp_path / "fast")), "organizations", "2026-11", "p")
    assert organizations.select("tin_value", "business_name").rows() == [("123456789", "ACME MEDICAL GROUP")]


def test_an_organization_named_only_blank_keeps_the_blank(tmp_path):
    """"" is a name given, null none given: the merge prefers any other name, then "", then null."""
    group = lambda value, **name: {"npi": [1730666900], "tin": {"type": "ein", "value": value, **name}}  # noqa: E731
    doc = a_document([an_item([{"negotiated_prices": [a_price(1.0)], "provider_groups": [
        group("11-1111111", business_name=""), group("11-1111111"), group("22-2222222")]}])])
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    assert_same(tmp_path, path)
    organizations = table(Lake(str(tmp_path / "fast")), "organizations", "2026-11", "p").sort("tin_value")
    assert organizations.select("tin_value", "business_name").rows() == [("111111111", ""), ("222222222", None)]


@pytest.mark.parametrize("odd, max_skips, in_python", [
    ((7, 30, 33), 16, 3),
    ((7, 30, 33), 1, 1 + 32),  # item 7 is skipped, then items 8-39 go to Python
    ((7, 30, 31), 16, 1 + 1 + 9),  # two odd items in a row: 31-39 go to Python
])
def test_a_batch_with_odd_values_sends_only_their_items_to_the_reference_rules(tmp_path, monkeypatch, odd, max_skips,
                                                                                 in_python):
    """A quoted rate must not send its whole batch to the reference rules (~20x slower): only the items
    with odd values are read in Python, up to MAX_SKIPS of them per batch or two in a row; then the rest
    of the batch is."""
    monkeypatch.setattr(stream, "MAX_SKIPS", max_skips)
    monkeypatch.setattr(stream, "BATCH_BYTES", 1 << 20)  # every item in one batch

    def item(n: int) -> dict:
        rate = f"{n}.5" if n in odd else n + 0.5
        return an_item([{"provider_references": [n % 3], "negotiated_prices": [a_price(rate)]}],
                       name=f"n{n}", billing_code=str(27000 + n))

    doc = a_document([item(n) for n in range(40)], [{"provider_group_id": g, "provider_groups": [
        {"npi": [1730666900 + g], "tin": {"type": "ein", "value": f"12-345678{g}"}}]} for g in range(3)])
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    _, [stat] = assert_same(tmp_path, path)
    assert stat["items_fallback"] == in_python and stat["rows"] == 40
    assert "changed from number to string" in stat["fallback_reason"]


def test_files_sharing_groups_write_each_group_and_organization_once(tmp_path, monkeypatch):
    """Two files of one partition list some of the same provider groups and TINs, over several reference
    batches each: the fast path writes each group's NPIs and each organization once, as the reference
    path does, and counts only the groups new to the partition."""
    monkeypatch.setattr(stream, "FIRST_REFERENCE_BYTES", 150)  # a few references per batch
    monkeypatch.setattr(stream, "BATCH_BYTES", 600)

    def group(n: int) -> dict:
        return {"npi": [1730666900 + n, 1285613760 + n], "tin": {"type": "ein", "value": f"12-34567{n % 4:02d}"}}

    def doc(groups: range) -> dict:
        rate = {"provider_references": list(range(len(groups))), "negotiated_prices": [a_price()]}
        return a_document([an_item([rate])],
                          [{"provider_group_id": i, "provider_groups": [group(n)]} for i, n in enumerate(groups)])
    paths = []
    for name, groups in (("a", range(0, 12)), ("b", range(5, 20))):  # groups 5-11 in both
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(doc(groups)))
    _, stats = assert_same(tmp_path, *paths)
    assert [s["provider_groups"] for s in stats] == [12, 8]
    lake = Lake(str(tmp_path / "fast"))
    providers = pl.from_arrow(lake.read("providers", "2026-11", "p"))
    assert providers.height == 2 * 20 and providers.select("provider_group_uuid", "npi").is_unique().all()
    assert pl.from_arrow(lake.read("organizations", "2026-11", "p"))["organization_uuid"].n_unique() == 4


@pytest.mark.parametrize("token, falls_back", [("690.64500", False), ("40.0000000001", False), ("1e5", True)])
def test_decimal_provider_ids_keep_their_text_on_the_fast_path(tmp_path, token, falls_back):
    """Anthem, CareFirst and HMHS list ids such as 690.64500: decoded as text, not sent to the reference
    rules, unless Python would write the token differently (1e5 -> 1E+5)."""
    group = {"npi": [1730666900], "tin": {"type": "ein", "value": "12-3456789"}}
    item = an_item([{"provider_references": ["@raw:ID@", 7], "negotiated_prices": [a_price()]}])
    doc = a_document([item, item], [{"provider_group_id": "@raw:ID@", "provider_groups": [group]},
                                    {"provider_group_id": 7, "provider_groups": [group]}])
    path = tmp_path / "in.json"
    path.write_text(RAW.sub(r"\1", json.dumps(doc, indent=1)).replace("ID", token))
    _, [stat] = assert_same(tmp_path, path)
    assert stat["items_fallback"] == (2 if falls_back else 0) and stat["rows"] == 4
    ids = table(Lake(str(tmp_path / "fast")), "provider_sets", "2026-11", "p")
    assert set(ids["provider_group_id"]) == {"7", str(json.loads(token, parse_float=Decimal))}


def test_decimal_ids_of_remote_references_resolve_on_the_fast_path(tmp_path):
    """CareFirst's shape: every reference is remote (read by the reference rules) and its id a decimal;
    the items, decoded with text ids, must find them."""
    remote = next(iter(REMOTE))
    references = [{"provider_group_id": f"@raw:{i}@", "location": remote} for i in ("690.64500", "690.64510")]
    items = [an_item([{"provider_references": ["@raw:690.64500@", "@raw:690.64510@"], "negotiated_prices": [a_price()]},
                      {"provider_references": ["@raw:690.6451@"], "negotiated_prices": [a_price()]}],
                     billing_code=str(27447 + n)) for n in range(3)]
    doc = a_document(items, references)
    path = tmp_path / "in.json"
    path.write_text(RAW.sub(r"\1", json.dumps(doc)))
    _, [stat] = assert_same(tmp_path, path)
    # two groups per remote reference, both references per first rate; 690.6451 is not 690.64510
    assert stat["items_fallback"] == 0 and stat["rows"] == 3 * 4 and stat["rows_rejected"] == 3
