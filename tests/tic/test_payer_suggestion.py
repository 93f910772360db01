"""`mrf suggest-payer`'s core against a loopback payer web: the suggested entry must load through the
registry and find the ToC it was suggested from, as the payer_toc asset would."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import textwrap

import pytest

from mrf_assets.tic.discovery import locate_toc
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.payer_suggestion import BROWSER_HEADERS, SuggestionError, suggest_payer
from payer_handlers import load_registry
from tests.support.payer_web import Route
from tests.tic.test_discovery import DIRECTORY_PAGE, HTML, TOC
from tests.tic.test_toc import variant


def reloaded(tmp_path, suggestion):
    """The printed report, pasted under `payers:` of a registry of its own."""
    path = tmp_path / "payers.yaml"
    path.write_text("payers:\n" + textwrap.indent(suggestion.report(), "  "))
    return next(iter(load_registry(path).values()))


def test_a_dated_gzipped_toc_with_deviations(tmp_path, payer_web):
    doc = variant(last_updated_on="10/05/2026", reporting_entity_name="Acme Health Plan, Inc.")
    url = payer_web.add("/mrf/2026-10-05/2026-10-05_acme_index.json.gz", gzip.compress(json.dumps(doc).encode()))
    found = suggest_payer(url, offline=True)
    assert found.entry == {
        "slug": "acme-health-plan-inc", "name": "Acme Health Plan, Inc.", "posting_day": 5,
        "discovery": {"strategy": "dated", "url": payer_web.url("/mrf/{date:%Y-%m-%d}/{date:%Y-%m-%d}_acme_index.json.gz")},
        "shims": ["us_dates"]}
    assert found.found == f"the ToC of 2026-10 at {url}"
    assert "posted on day 5: if the day drifts" in found.report()
    acme = reloaded(tmp_path, found)
    assert acme.shims == {"us_dates": True} and acme.toc_url(dt.date(2026, 12, 1)).endswith("/2026-12-05_acme_index.json.gz")


def test_a_server_that_wants_a_browser(tmp_path, payer_web):
    url = payer_web.serve("/toc/2026-11-01_bcbssc_index.json", Route(TOC, require_headers=BROWSER_HEADERS))
    found = suggest_payer(url, slug="bcbssc", offline=True)
    assert found.entry["headers"] == BROWSER_HEADERS and "refused the default User-Agent" in found.report()
    assert [e.status for e in payer_web.gets("/toc/2026-11-01_bcbssc_index.json")][:2] == [403, 200]
    assert locate_toc(reloaded(tmp_path, found), dt.date(2026, 11, 1), HttpClient(
        headers=BROWSER_HEADERS, offline=True)).url == url


def test_an_undated_url_is_fixed(payer_web):
    found = suggest_payer(payer_web.add("/current/index.json", TOC), slug="florida-blue", offline=True)
    assert found.entry["discovery"] == {"strategy": "fixed", "url": payer_web.url("/current/index.json")}
    assert "posting_day" not in found.entry and "shims" not in found.entry


def test_a_directory_page_becomes_a_listing(tmp_path, payer_web):
    url = payer_web.add("/mrf/", DIRECTORY_PAGE.encode(), Content_Type="text/html")
    found = suggest_payer(url, slug="select-health", name="Select Health", offline=True)
    assert found.entry["discovery"] == {"strategy": "listing", "url": url, "include": "{date:%Y-%m-%d}"}
    assert found.survey is None and found.month == dt.date(2026, 11, 1)
    assert found.found == "the ToC of 2026-11, built from the listing: 3 files"  # two rate files, one allowed-amount
    assert reloaded(tmp_path, found).discovery.strategy == "listing"


def test_a_listing_that_links_a_toc_surveys_it(payer_web):
    toc = variant(version=None)
    del toc["version"]
    payer_web.add("/blob/2026-11-21_hcsc_index.json", json.dumps(toc).encode())
    payer_web.add("/blob/2026-10-21_hcsc_index.json", TOC)
    page = b"<html><body><a href='2026-10-21_hcsc_index.json'>Oct</a> <a href='2026-11-21_hcsc_index.json'>Nov</a></body></html>"
    found = suggest_payer(payer_web.add("/blob/", page, Content_Type="text/html"), slug="hcsc", offline=True)
    assert found.entry["posting_day"] == 21 and found.entry["shims"] == {"missing_version": "1.0.0"}
    assert found.found == f"the ToC of 2026-11 at {payer_web.url('/blob/2026-11-21_hcsc_index.json')}"


@pytest.mark.parametrize("route, error", [
    (Route(HTML, headers={"Content-Type": "text/html"}), "a page of 0 links, none to a ToC or an in-network file"),
    (Route(b"", status=404), "HTTP 404"),
    (Route(b"\x00\x01binary"), "serves neither a ToC nor a page of links"),
])
def test_what_cannot_be_suggested_says_why(payer_web, route, error):
    with pytest.raises(SuggestionError, match=error):
        suggest_payer(payer_web.serve("/toc/2026-11-01_index.json", route), offline=True)


def test_offline_an_internet_url_is_refused_with_the_reason():
    with pytest.raises(SuggestionError, match="MRF_OFFLINE"):
        suggest_payer("https://payer.example/toc/2026-11-01_index.json", offline=True)
