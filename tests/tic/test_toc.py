"""ToC parsing: schema-conformant ToCs parse; each deviation fails unless its shim is declared."""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import polars as pl
import pytest

from mrf_assets.tic.file_list import build_file_list
from mrf_assets.tic.toc import TocError, open_toc, parse_toc
from tests.conftest import FIXTURES

SAMPLE = json.loads((FIXTURES / "toc-cms-v2.2.0.json").read_text())
POSTED = dt.date(2026, 11, 1)


def parse(tmp_path, doc_or_bytes, shims=None) -> pl.DataFrame:
    path = tmp_path / "toc.json"
    path.write_bytes(doc_or_bytes if isinstance(doc_or_bytes, bytes) else json.dumps(doc_or_bytes).encode())
    return parse_toc(open_toc(path, shims), "https://payer.test/toc/index.json", "2026-11", "p", shims, POSTED)


def variant(**changes) -> dict:
    doc = json.loads(json.dumps(SAMPLE))
    for key, value in changes.items():
        doc[key] = value
    return doc


def test_cms_sample_parses(tmp_path):
    toc = parse(tmp_path, SAMPLE)
    assert toc.height == 2
    assert toc["plans"].list.len().to_list() == [2, 1]
    assert toc["in_network_files"][0][0]["location"] == "https://www.some_site.com/files/in-network-file-123456.json"
    assert toc["toc_version"][0] == "2.0.0" and toc["toc_last_updated_on"][0] == "2023-04-19"


def _structure(**changes) -> dict:
    doc = variant()
    doc["reporting_structure"][0].update(changes)
    return doc


SHIM_CASES = {
    "reporting_plans_object": (lambda: _structure(reporting_plans=SAMPLE["reporting_structure"][0]["reporting_plans"][0]),
                               "reporting_plans is dict, expected an array: add shim reporting_plans_object",
                               lambda t: t["plans"].list.len()[0] == 1),
    "allowed_amount_file_array": (lambda: _structure(allowed_amount_file=[SAMPLE["reporting_structure"][0]["allowed_amount_file"]] * 2),
                                  "allowed_amount_file is an array: add shim allowed_amount_file_array",
                                  lambda t: t["allowed_amount_files"].list.len()[0] == 2),
    "in_network_files_null": (lambda: _structure(in_network_files=None),
                              "in_network_files is null: add shim in_network_files_null",
                              lambda t: t["in_network_files"].list.len()[0] == 0),
    "us_dates": (lambda: variant(last_updated_on="10/25/2022"),
                 "'10/25/2022' is not YYYY-MM-DD: add shim us_dates",
                 lambda t: t["toc_last_updated_on"][0] == "2022-10-25"),
}


@pytest.mark.parametrize("shim", list(SHIM_CASES))
def test_structural_shims(tmp_path, shim):
    make, error, holds = SHIM_CASES[shim]
    with pytest.raises(TocError, match=error.replace("(", r"\(").replace("[", r"\[")):
        parse(tmp_path, make())
    assert holds(parse(tmp_path, make(), {shim: True}))


def test_plan_id_type_case(tmp_path):
    doc = _structure(reporting_plans=[{**p, "plan_id_type": "HIOS"} for p in SAMPLE["reporting_structure"][0]["reporting_plans"]])
    assert parse(tmp_path, doc)["plans"][0][0]["plan_id_type"] == "HIOS"
    assert parse(tmp_path, doc, {"plan_id_type_case": True})["plans"][0][0]["plan_id_type"] == "hios"


def test_missing_dates_and_version(tmp_path):
    doc = variant()
    del doc["last_updated_on"], doc["version"]
    bare = parse(tmp_path, doc)
    assert bare["toc_last_updated_on"][0] is None and bare["toc_version"][0] is None
    shimmed = parse(tmp_path, doc, {"missing_dates": True, "missing_version": "1.0.0"})
    assert shimmed["toc_last_updated_on"][0] == "2026-11-01" and shimmed["toc_version"][0] == "1.0.0"


def test_utf8_bom(tmp_path):
    body = b"\xef\xbb\xbf" + json.dumps(SAMPLE).encode()
    with pytest.raises(TocError, match="byte-order mark: add shim utf8_bom"):
        parse(tmp_path, body)
    assert parse(tmp_path, body, {"utf8_bom": True}).height == 2


def test_toc_in_zip(tmp_path):
    path = tmp_path / "toc.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("2026-11-01_payer_index.json", json.dumps(SAMPLE))
    with pytest.raises(TocError, match="zip archive: add shim toc_in_zip"):
        open_toc(path, {})
    opener = open_toc(path, {"toc_in_zip": True})
    assert parse_toc(opener, "https://payer.test/x", "2026-11", "p").height == 2


def test_relative_locations_resolve_against_the_toc_url(tmp_path):
    doc = _structure(in_network_files=[{"description": "d", "location": "files/a.json.gz"}])
    assert parse(tmp_path, doc)["in_network_files"][0][0]["location"] == "https://payer.test/toc/files/a.json.gz"


def test_real_anthem_toc_structures():
    """Anthem's real ToC: upper-case EIN, no version or date, the same file listed many times."""
    path = FIXTURES / "anthem-toc-first-6-structures.json.gz"
    shims = {"plan_id_type_case": True}
    toc = parse_toc(open_toc(path, shims), "https://antm.example/2025-08-01_anthem_index.json.gz", "2025-08", "anthem", shims)
    assert toc.height == 6
    assert toc["toc_version"][0] is None and toc["toc_last_updated_on"][0] is None
    assert {p["plan_id_type"] for plans in toc["plans"] for p in plans} == {"ein"}
    files, plans = build_file_list(toc)
    in_network = files.filter(pl.col("file_type") == "in_network")
    assert int(in_network["references"].sum()) == 1895 and in_network.height == 1212
    assert "Signature=REDACTED" in " ".join(in_network["url_redacted"].to_list())
    assert plans.height >= 6 and plans["network_id"].null_count() == 0


def test_truncated_anthem_toc_fails_cleanly():
    path = FIXTURES / "anthem-toc-first-1MiB-truncated.json.gz"
    with pytest.raises(TocError, match="invalid JSON in the ToC"):
        parse_toc(open_toc(path, {}), "https://antm.example/x", "2025-08", "anthem")
