"""Dates in payers' URLs become the {date:...} fields of payers.yaml's templates, and only real dates do."""

import datetime as dt

import pytest

from mrf_assets.tic.url_dates import dated_text, dated_url


@pytest.mark.parametrize("url, template, date, has_day", [
    ("https://antm.example/anthem/2025-08-01_anthem_index.json.gz",
     "https://antm.example/anthem/{date:%Y-%m-%d}_anthem_index.json.gz", dt.date(2025, 8, 1), True),
    # Cigna: the month in a folder and the day in the name, one posting date
    ("https://c.example/toc/reporting_month=2025-08/2025-08-01_cigna_index.json",
     "https://c.example/toc/reporting_month={date:%Y-%m}/{date:%Y-%m-%d}_cigna_index.json", dt.date(2025, 8, 1), True),
    ("https://p.example/mrf/2023_12_01_priority_health_PPO.zip", "https://p.example/mrf/{date:%Y_%m_%d}_priority_health_PPO.zip",
     dt.date(2023, 12, 1), True),
    ("https://h.example/mrf/20251121_index.json", "https://h.example/mrf/{date:%Y%m%d}_index.json", dt.date(2025, 11, 21), True),
    ("https://k.example/mrf/2025-08/index.json", "https://k.example/mrf/{date:%Y-%m}/index.json", dt.date(2025, 8, 1), False),
    # UHC's blob listing: the date is a query parameter
    ("https://m.example/public-mrf?restype=container&comp=list&prefix=2025-08-01/",
     "https://m.example/public-mrf?restype=container&comp=list&prefix={date:%Y-%m-%d}/", dt.date(2025, 8, 1), True),
    ("https://f.example/current/index.json", "https://f.example/current/index.json", None, False),
    ("https://f.example/a/2025-02-31_index.json", "https://f.example/a/2025-02-31_index.json", None, False),  # no such day
    ("https://f.example/a/2025-08/2025-09-01_x.json", "https://f.example/a/2025-08/2025-09-01_x.json", None, False),  # disagree
    ("https://f.example/plan-1234567890/{x}.json", "https://f.example/plan-1234567890/{{x}}.json", None, False),
])
def test_dates_become_template_fields(url, template, date, has_day):
    dated, signed = dated_url(url)
    assert (dated.template, dated.date, dated.has_day, signed) == (template, date, has_day, False)
    if date:
        assert dated.template.format(date=date) == url


def test_a_signature_is_left_out_and_its_numbers_are_not_dates():
    dated, signed = dated_url("https://b.example/toc/2025-08-21_index.json?sv=2021-06-08&se=2025-09-01T00%3A00Z&sig=x"
                              "&X-Amz-Date=20250901T000000Z&plan=a")
    assert signed and dated.template == "https://b.example/toc/{date:%Y-%m-%d}_index.json?plan=a"
    assert dated.date == dt.date(2025, 8, 21)


def test_plain_text():
    assert dated_text("2026-11-05_aetna_index.json").template == "{date:%Y-%m-%d}_aetna_index.json"
