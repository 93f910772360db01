"""Each discovery strategy against a loopback payer web that behaves like the real ones."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pytest

from mrf_assets.tic.discovery import TocNotFound, candidates, locate_toc
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.toc_ingest import TocUnchanged, ingest_toc
from payer_handlers import load_registry
from tests.conftest import FIXTURES

TOC = (FIXTURES / "toc-cms-v2.2.0.json").read_bytes()
HTML = b"<!DOCTYPE html><html><head><title>Transparency in Coverage</title></head><body>Coming soon</body></html>"
NOV = dt.date(2026, 11, 1)


def payer(tmp_path, slug: str, body: str):
    path = tmp_path / f"{slug}.yaml"
    path.write_text("payers:\n" + textwrap.indent(textwrap.dedent(body).strip(), "  "))
    return load_registry(path)[slug]


def client() -> HttpClient:
    return HttpClient(offline=True, retries=0)


def test_dated_on_posting_day(tmp_path, payer_web):
    url = payer_web.add("/mrf/2026-11-05_aetna_index.json", TOC)
    aetna = payer(tmp_path, "aetna", f"""
        - slug: aetna
          posting_day: 5
          discovery: {{strategy: dated, url: "{payer_web.base_url}/mrf/{{date:%Y-%m-%d}}_aetna_index.json"}}
        """)
    found = locate_toc(aetna, NOV, client())
    assert (found.url, found.posted) == (url, dt.date(2026, 11, 5))
    with pytest.raises(TocNotFound, match=r"no ToC for aetna 2026-12 \(1 tried\).*HTTP 404"):
        locate_toc(aetna, dt.date(2026, 12, 1), client())


def test_poll_skips_html_served_with_200_and_finds_the_drifted_date(tmp_path, payer_web):
    for day in range(1, 31):  # AmeriHealth-like: every dated URL answers 200, most with an HTML page
        payer_web.add(f"/toc/2026-11-{day:02d}_index.json", HTML, Content_Type="text/html")
    url = payer_web.add("/toc/2026-11-12_index.json.gz", __import__("gzip").compress(TOC))
    caritas = payer(tmp_path, "caritas", f"""
        - slug: caritas
          discovery:
            strategy: poll
            url: "{payer_web.base_url}/toc/{{date:%Y-%m-%d}}_index.json"
            variants: ["{payer_web.base_url}/toc/{{date:%Y-%m-%d}}_index.json.gz"]
        """)
    found = locate_toc(caritas, NOV, client(), today=dt.date(2026, 11, 23))
    assert found.url == url and found.posted == dt.date(2026, 11, 12)
    assert len(found.tried) == 23  # days 1-11 in both forms, then day 12's HTML page
    assert sum("HTML page instead of a ToC" in t for t in found.tried) == 12
    # on the 11th nothing valid exists yet; future dates are never requested
    with pytest.raises(TocNotFound, match=r"\(22 tried\)"):
        locate_toc(caritas, NOV, client(), today=dt.date(2026, 11, 11))


def test_poll_candidate_days(tmp_path):
    hcsc = payer(tmp_path, "hcsc", """
        - slug: hcsc
          discovery: {strategy: poll, url: "https://x.test/{date:%Y-%m-%d}_index.json", days: [21, 22, 23, 31]}
        """)
    got = [c[0].day for c in candidates(hcsc, dt.date(2026, 2, 1))]
    assert got == [21, 22, 23]  # February has no 31st


DIRECTORY_PAGE = """<html><body><h1>Machine-readable files</h1><ul>
<li><a href="files/2026-11-01_select-health_commercial_in-network-rates.json.gz">commercial</a></li>
<li><a href="files/2026-11-01_select-health_medicare_in-network-rates.json.gz">medicare</a></li>
<li><a href="/files/2026-11-01_select-health_allowed-amounts.json">allowed amounts</a></li>
<li><a href="files/2026-10-01_select-health_commercial_in-network-rates.json.gz">last month</a></li>
<li><a href="/privacy">Privacy</a></li></ul></body></html>"""


def test_listing_directory_page_builds_a_toc(tmp_path, payer_web):
    payer_web.add("/mrf/", DIRECTORY_PAGE.encode(), Content_Type="text/html")
    select = payer(tmp_path, "select", f"""
        - slug: select
          name: Select Health
          discovery:
            strategy: listing
            url: "{payer_web.base_url}/mrf/"
            include: "{{date:%Y-%m}}-01_select-health"
            plan: {{plan_name: Select Health Commercial, plan_id_type: ein, plan_id: "870000000", plan_market_type: group}}
        """)
    found = locate_toc(select, NOV, client())
    toc = json.loads(found.body)
    files = [f["location"] for f in toc["reporting_structure"][0]["in_network_files"]]
    assert files == [payer_web.url("/mrf/files/2026-11-01_select-health_commercial_in-network-rates.json.gz"),
                     payer_web.url("/mrf/files/2026-11-01_select-health_medicare_in-network-rates.json.gz")]
    assert toc["reporting_structure"][1]["allowed_amount_file"]["location"] == payer_web.url(
        "/files/2026-11-01_select-health_allowed-amounts.json")
    assert toc["reporting_structure"][0]["reporting_plans"][0]["plan_name"] == "Select Health Commercial"
    with pytest.raises(TocNotFound, match="none an in-network file"):
        locate_toc(select, dt.date(2026, 12, 1), client())


S3_PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>la-care-mrf</Name>
<IsTruncated>{truncated}</IsTruncated>{token}
{contents}</ListBucketResult>"""
AZURE_PAGE = """<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ContainerName="https://{host}/mrf"><Blobs>{blobs}</Blobs><NextMarker>{marker}</NextMarker></EnumerationResults>"""


def test_listing_s3_bucket_with_continuation(tmp_path, payer_web):
    keys = [f"2026-11/in-network-rates/2026-11-01_lacare_{n}_in-network-rates.json.gz" for n in range(3)]
    contents = lambda ks: "".join(f"<Contents><Key>{k}</Key><Size>10</Size></Contents>" for k in ks)  # noqa: E731
    payer_web.add("/?list-type=2&prefix=2026-11", S3_PAGE.format(
        truncated="true", token="<NextContinuationToken>t2</NextContinuationToken>", contents=contents(keys[:2])).encode())
    payer_web.add("/?list-type=2&prefix=2026-11&continuation-token=t2", S3_PAGE.format(
        truncated="false", token="", contents=contents(keys[2:])).encode())
    found = locate_toc(_listing_payer(tmp_path, payer_web.url("/?list-type=2&prefix=2026-11")), NOV, client())
    files = [f["location"] for f in json.loads(found.body)["reporting_structure"][0]["in_network_files"]]
    assert files == [payer_web.url("/" + k) for k in keys]


def _listing_payer(tmp_path, url: str, name: str = "lacare"):
    return payer(tmp_path, name, f"""
        - slug: {name}
          discovery: {{strategy: listing, url: "{url}", include: "{{date:%Y-%m}}-01_{name}"}}
        """)


def test_listing_azure_blob_container(tmp_path, payer_web):
    host = payer_web.base_url.split("//")[1]
    blobs = "".join(f"<Blob><Name>2026-11-01_bcbsri_{n}_in-network-rates.json.gz</Name></Blob>" for n in range(2))
    payer_web.add("/mrf", AZURE_PAGE.format(host=host, blobs=blobs, marker="").encode(), Content_Type="application/xml")
    found = locate_toc(_listing_payer(tmp_path, payer_web.url("/mrf?restype=container&comp=list"), "bcbsri"), NOV, client())
    files = [f["location"] for f in json.loads(found.body)["reporting_structure"][0]["in_network_files"]]
    assert files == [payer_web.url(f"/mrf/2026-11-01_bcbsri_{n}_in-network-rates.json.gz") for n in range(2)]


def test_listing_uses_an_index_file_it_finds(tmp_path, payer_web):
    host = payer_web.base_url.split("//")[1]
    blobs = "<Blob><Name>2026-11-01_bcbsri_index.json</Name></Blob><Blob><Name>2026-11-01_bcbsri_a_in-network-rates.json.gz</Name></Blob>"
    payer_web.add("/mrf", AZURE_PAGE.format(host=host, blobs=blobs, marker="").encode())
    found = locate_toc(_listing_payer(tmp_path, payer_web.url("/mrf?restype=container&comp=list"), "bcbsri"), NOV, client())
    assert found.url == payer_web.url("/mrf/2026-11-01_bcbsri_index.json") and found.body is None


def test_fixed_url_new_month_only_when_content_changes(tmp_path, payer_web):
    florida = payer(tmp_path, "florida", f"""
        - slug: florida
          discovery: {{strategy: fixed, url: "{payer_web.base_url}/mrf/toc/FloridaBlue_index.json"}}
        """)
    lake = Lake(str(tmp_path / "lake"))
    payer_web.add("/mrf/toc/FloridaBlue_index.json", TOC)
    facts = ingest_toc(florida, dt.date(2026, 10, 1), lake, client(), "run-oct")
    assert facts["strategy"] == "fixed" and lake.manifest("payer_toc", "2026-10", "florida")["rows"] == 2
    with pytest.raises(TocUnchanged, match="unchanged since 2026-10"):
        ingest_toc(florida, NOV, lake, client(), "run-nov")
    assert lake.manifest("payer_toc", "2026-11", "florida") is None
    changed = json.loads(TOC)
    changed["last_updated_on"] = "2026-11-02"
    payer_web.add("/mrf/toc/FloridaBlue_index.json", json.dumps(changed).encode())
    assert ingest_toc(florida, NOV, lake, client(), "run-nov2")["sha256"] != facts["sha256"]


def test_registry_rejects_bad_discovery(tmp_path):
    from payer_handlers import RegistryError

    with pytest.raises(RegistryError, match="strategy 'fixed' is for undated URLs"):
        payer(tmp_path, "x", '- slug: x\n  discovery: {strategy: fixed, url: "https://x.test/{date:%Y}.json"}')
    with pytest.raises(RegistryError, match="'discovery.include' is required"):
        payer(tmp_path, "x", '- slug: x\n  discovery: {strategy: listing, url: "https://x.test/"}')
    with pytest.raises(RegistryError, match=r"\['days'\] not used by strategy 'dated'"):
        payer(tmp_path, "x", '- slug: x\n  discovery: {strategy: dated, url: "https://x.test/", days: [1]}')
    with pytest.raises(RegistryError, match="unknown shim"):
        payer(tmp_path, "x", '- slug: x\n  discovery: {strategy: dated, url: "https://x.test/"}\n  shims: [bogus]')
    with pytest.raises(RegistryError, match="URL template"):
        payer(tmp_path, "x", '- slug: x\n  discovery: {strategy: dated, url: "https://x.test/{when}.json"}')
