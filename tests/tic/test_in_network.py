"""The streaming parser against an independent json.load flattening, file by file."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ids import file_id
from mrf_assets.tic.ingest import PartitionIngest
from mrf_assets.tic.lake import Lake
from tests.conftest import DEMO
from tests.support import reference
from tests.support.lake_rows import rate_tuples, table

CMS_V1 = DEMO / "cms-v1"
CMS_V1_REMOTE = {"https://www.cms.gov/some_provider_group.json": json.loads((CMS_V1 / "provider-reference.json").read_text())}
EXAMPLES = sorted(CMS_V1.glob("in-network-*.json")) + sorted((DEMO / "cms-v2").glob("in-network-*.json"))
REAL = sorted((DEMO / "real-2022").glob("*.json.gz"))


def ingest(tmp_path: Path, *paths: Path | str, rewrites: dict[str, str] | None = None):
    lake = Lake(str(tmp_path / "lake"))

    def resolve(url: str) -> str:
        for prefix, target in (rewrites or {}).items():
            if url.startswith(prefix):
                return target + url[len(prefix):]
        return url

    run = PartitionIngest(lake, "p", "2026-11", "testrun0", HttpClient(offline=True), resolve=resolve)
    stats = [run.ingest(str(p)) for p in paths]
    run.commit()
    return lake, stats


@pytest.mark.parametrize("path", EXAMPLES + REAL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rows_match_reference_flattening(tmp_path, path):
    rewrites = {"https://www.cms.gov/some_provider_group.json": (CMS_V1 / "provider-reference.json").as_uri()}
    lake, [stat] = ingest(tmp_path, path, rewrites=rewrites)
    expected, expected_rejected = reference.flatten(reference.load(path), CMS_V1_REMOTE)
    assert stat["status"] == "ok", stat["error"]
    assert Counter(rate_tuples(lake, "2026-11", "p")) == Counter(expected)
    assert stat["rows"] == len(expected)
    assert stat["rows_rejected"] == expected_rejected
    assert stat["expected_rows"] == stat["rows"] + stat["rows_rejected"]
    assert stat["items"] == len(reference.load(path)["in_network"])


def test_real_files_exact_counts(tmp_path):
    lake, stats = ingest(tmp_path, *REAL)
    by_name = {Path(s["url"]).name: s for s in stats}
    carefirst = by_name["carefirst_2022-11-07_690_08B0_in-network-rates_27_of_35.json.gz"]
    uhc = by_name["uhc-ny_2022-09-01_Empire_CSP-927-A351_in-network-rates.json.gz"]
    # CareFirst: every provider reference is remote and unreachable offline -> all prices rejected.
    assert (carefirst["items"], carefirst["rows"], carefirst["remote_references"]) == (1773, 0, 370)
    assert carefirst["rows_rejected"] == carefirst["expected_rows"] > 0
    assert (uhc["items"], uhc["prices"], uhc["rows"], uhc["rows_rejected"]) == (13673, 51712, 69069, 0)
    rejects = table(lake, "rejects", "2026-11", "p")
    assert rejects["reason"].str.contains("offline mode").all()
    assert rejects["reason"].str.contains("https://mrf.carefirst.com/mrf-files/").all()


def test_decimal_provider_group_ids_keep_their_text(tmp_path):
    path = next(p for p in REAL if "carefirst" in p.name)
    lake, _ = ingest(tmp_path, path)
    reasons = table(lake, "rejects", "2026-11", "p")["reason"]
    assert reasons.str.contains("provider reference 690.65820:", literal=True).any()
    assert not reasons.str.contains("provider reference 690.6582:", literal=True).any()


def _v2_doc() -> dict:
    return json.loads((DEMO / "cms-v2" / "in-network-rates-multiple-plans-sample.json").read_text())


def test_provider_references_after_in_network(tmp_path):
    doc = _v2_doc()
    reordered = {k: v for k, v in doc.items() if k != "provider_references"}
    reordered["provider_references"] = doc["provider_references"]
    path = tmp_path / "after.json"
    path.write_text(json.dumps(reordered, indent=2))
    assert path.read_text().index('"in_network"') < path.read_text().index('"provider_references"')
    lake, [stat] = ingest(tmp_path, path)
    expected, rejected = reference.flatten(doc)
    assert stat["status"] == "ok" and rejected == 0
    assert Counter(rate_tuples(lake, "2026-11", "p")) == Counter(expected)


def test_decimal_ids_resolve_to_their_groups(tmp_path):
    text = (DEMO / "cms-v2" / "in-network-rates-multiple-plans-sample.json").read_text()
    text = text.replace('"provider_group_id": 1,', '"provider_group_id": 690.64500,')
    text = text.replace('"provider_references": [1', '"provider_references": [690.64500')
    assert "690.64500" in text
    path = tmp_path / "decimal.json"
    path.write_text(text)
    lake, [stat] = ingest(tmp_path, path)
    ids = set(table(lake, "provider_sets", "2026-11", "p")["provider_group_id"].drop_nulls())
    assert "690.64500" in ids and "690.645" not in ids
    assert stat["rows_rejected"] == 0


def test_remote_reference_over_http_and_unreachable_one(tmp_path, payer_web):
    doc = json.loads((CMS_V1 / "in-network-rates-fee-for-service-single-plan-sample.json").read_text())
    doc["provider_references"][1]["location"] = payer_web.add("/refs/group2.json", (CMS_V1 / "provider-reference.json").read_bytes())
    doc["provider_references"].append({"provider_group_id": 3, "location": payer_web.url("/refs/missing.json")})
    doc["in_network"][0]["negotiated_rates"][0].pop("provider_groups")
    doc["in_network"][0]["negotiated_rates"][0]["provider_references"] = [2, 3]
    path = tmp_path / "remote.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    lake, [stat] = ingest(tmp_path, path)
    remote = {doc["provider_references"][1]["location"]: json.loads((CMS_V1 / "provider-reference.json").read_text())}
    expected, rejected = reference.flatten(doc, remote)
    assert stat["status"] == "ok"
    assert (stat["remote_references"], stat["remote_references_failed"]) == (2, 1)
    assert Counter(rate_tuples(lake, "2026-11", "p")) == Counter(expected)
    assert stat["rows_rejected"] == rejected == 2
    reasons = table(lake, "rejects", "2026-11", "p")["reason"].to_list()
    assert all("provider reference 3: location" in r and "HTTP 404" in r for r in reasons)
    fetched = [p for p, _ in payer_web.requests]
    assert fetched.count("/refs/group2.json") == 1  # cached per URL


def test_file_ids_ignore_signatures():
    a = "https://x.mrf.bcbs.com/2022-08_a.json.gz?&Expires=1&Signature=abc&Key-Pair-Id=K"
    b = "https://x.mrf.bcbs.com/2022-08_a.json.gz?&Expires=2&Signature=def&Key-Pair-Id=K"
    assert file_id(a) == file_id(b) != file_id("https://x.mrf.bcbs.com/2022-08_b.json.gz")
