"""A new payer's ToC surveyed: the shims its deviations need, found by the ToC parser itself; a cut-off
head of a big ToC is read as far as it goes."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest

from mrf_assets.tic.toc_survey import SurveyError, survey_toc
from tests.conftest import FIXTURES
from tests.tic.test_toc import SAMPLE, SHIM_CASES, variant

URL = "https://payer.test/toc/index.json"


def survey(tmp_path, doc_or_bytes, **kw):
    path = tmp_path / "toc.json"
    path.write_bytes(doc_or_bytes if isinstance(doc_or_bytes, bytes) else json.dumps(doc_or_bytes).encode())
    return survey_toc(path, URL, **kw)


def test_a_conformant_toc_needs_no_shim(tmp_path):
    found = survey(tmp_path, SAMPLE)
    assert found.shims == {} and found.whole and found.stopped is None
    assert (found.structures, found.plans, found.in_network_references, len(found.in_network_files),
            len(found.allowed_amount_files)) == (2, 3, 3, 3, 2)


@pytest.mark.parametrize("shim", list(SHIM_CASES))
def test_each_structural_deviation_finds_its_shim(tmp_path, shim):
    found = survey(tmp_path, SHIM_CASES[shim][0]())
    assert found.shims == {shim: True} and "add shim " + shim in found.reasons[shim]


def test_several_deviations_at_once_bom_and_zip_included(tmp_path):
    doc = variant(last_updated_on="10/25/2022")
    doc["reporting_structure"][0]["in_network_files"] = None
    doc["reporting_structure"][1]["reporting_plans"] = {**doc["reporting_structure"][1]["reporting_plans"][0],
                                                       "plan_id_type": "HIOS"}
    path = tmp_path / "toc.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("index.json", b"\xef\xbb\xbf" + json.dumps(doc).encode())
    found = survey_toc(path, URL)
    assert found.shims == {name: True for name in ("toc_in_zip", "utf8_bom", "us_dates", "in_network_files_null",
                                                    "reporting_plans_object", "plan_id_type_case")}
    assert found.reasons["plan_id_type_case"] == "plan_id_type in upper case: HIOS"
    assert found.structures == 2 and found.header["last_updated_on"] == "10/25/2022"  # as written


def test_real_anthem_head_cut_off_mid_structure():
    """Anthem's real ToC, its first MiB: upper-case EIN, no date, no version, 1,895 references to 1,212 files."""
    found = survey_toc(FIXTURES / "anthem-toc-first-1MiB-truncated.json.gz", URL, cut=True)
    assert found.shims == {"missing_dates": True, "missing_version": "1.0.0", "plan_id_type_case": True}
    assert (found.structures, found.plans, found.in_network_references, len(found.in_network_files)) == (6, 26, 1895, 1212)
    assert not found.whole and found.stopped == "the downloaded head ends after 6 structures"
    with pytest.raises(SurveyError, match="cannot be read with any shim: invalid JSON in the ToC: .*premature EOF"):
        survey_toc(FIXTURES / "anthem-toc-first-1MiB-truncated.json.gz", URL)  # not cut by the survey: a broken ToC


def test_a_head_without_one_whole_structure_asks_for_more(tmp_path):
    body = gzip.compress(json.dumps(SAMPLE).encode())
    path = tmp_path / "head.json.gz"
    path.write_bytes(body[: len(body) // 3])
    with pytest.raises(SurveyError, match=r"holds no whole reporting structure .*\(--max-mb\)"):
        survey_toc(path, URL, cut=True)


def test_the_survey_stops_at_its_limit(tmp_path):
    found = survey(tmp_path, variant(reporting_structure=SAMPLE["reporting_structure"] * 30), limit=25)
    assert found.structures == 25 and not found.whole and found.stopped == "read the first 25 reporting structures"


def test_what_no_shim_can_read_is_an_error(tmp_path):
    with pytest.raises(SurveyError, match="cannot be read with any shim: .*reporting_structure"):
        survey(tmp_path, {"reporting_entity_name": "x", "TOC_Files": []})
    with pytest.raises(SurveyError, match="HTML"):
        survey(tmp_path, b"<html><body>Coming soon</body></html>")
