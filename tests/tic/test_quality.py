"""Quality rules with real good and bad values, and scores that move with the data."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from mrf_assets.tic import quality, rules
from mrf_assets.tic.tables import ORGANIZATIONS, PROVIDERS
from mrf_assets.tic.views import SCHEMA as RATES  # the full grain, which the scores are defined on


def ident(short: str) -> bytes:
    """A readable stand-in for a 16-byte id: "g1" -> b"g1______________"."""
    return short.encode().ljust(16, b"_")


def frame(schema, rows: list[dict]) -> pl.LazyFrame:
    """Rows as the lake stores them; short text in an id column stands for that id (ident)."""
    uuids = {f.name for f in schema if f.type == pa.uuid()}
    rows = [{k: ident(v) if k in uuids and isinstance(v, str) else v for k, v in row.items()} for row in rows]
    return pl.from_arrow(pa.Table.from_pylist(rows, schema=schema)).lazy()


@pytest.mark.parametrize("npi, ok", [
    (1234567893, True),    # the CMS documentation's example NPI
    (1730666900, True),    # a real NPI from the UHC sample
    (1285613760, True),
    (1234567890, False),   # wrong check digit
    (1111111111, False),   # CMS example placeholder
    (123456789, False),    # 9 digits
    (0, False), (None, False),
])
def test_npi_check_digit(npi, ok):
    got = pl.DataFrame({"n": [npi]}, schema={"n": pl.Int64}).select(rules.npi_valid(pl.col("n")))
    assert got.item() is ok


@pytest.mark.parametrize("code_type, code, ok", [
    ("CPT", "27447", True), ("CPT", "0001A", True), ("CPT", "2744", False),
    ("HCPCS", "J1885", True), ("HCPCS", "99213", True), ("HCPCS", "J18", False),
    ("MS-DRG", "470", True), ("MS-DRG", "0470", True), ("MS-DRG", "47A", False),
    ("RC", "0450", True), ("RC", "45", False),
    ("NDC", "0002-1433-80", True), ("NDC", "00021433801", True), ("NDC", "abc", False),
    ("CDT", "D0120", True), ("CDT", "0120", False),
    ("ICD", "81.54", True), ("ICD", "0SRC0JZ", True),
    ("CSTM-ALL", "CSTM-00", True), ("CPT", "CSTM-00", True),
    ("CPT", "29888 AND 29882", False), ("NOT-A-TYPE", "27447", False),
])
def test_billing_code_format(code_type, code, ok):
    got = pl.DataFrame({"billing_code": [code], "billing_code_type": [code_type]}).select(rules.billing_code_ok())
    assert got.item() is ok


def _rates(n_good: int, n_bad: int) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    good = dict(billing_code="27447", billing_code_type="CPT", billing_code_type_version="2022",
                negotiation_arrangement="ffs", name="Knee", description="Knee replacement",
                negotiated_type="negotiated", negotiated_rate=100.0, expiration_date="9999-12-31",
                billing_class="institutional", provider_group_uuid="g1", organization_uuid="o1",
                last_updated_on="2022-09-01", schema_version="1.0.0")
    bad = {**good, "negotiated_rate": -5.0, "expiration_date": "12/31/2022", "provider_group_uuid": "g2",
           "negotiated_type": "bogus", "description": None}
    rates = frame(RATES, [good] * n_good + [bad] * n_bad)
    providers = frame(PROVIDERS, [dict(provider_group_uuid="g1", npi=1730666900, organization_uuid="o1"),
                                  dict(provider_group_uuid="g2", npi=1234567890, organization_uuid="o1")])
    orgs = frame(ORGANIZATIONS, [dict(organization_uuid="o1", tin_type="ein", tin_value="113026610")])
    return rates, providers, orgs


def test_accuracy_moves_with_injected_faults():
    clean = quality.accuracy(*_rates(10, 0))
    assert clean.score == 1.0 and clean.rows == 10
    faulty = quality.accuracy(*_rates(7, 3))
    assert faulty.score == pytest.approx(0.7)
    failures = faulty.details["rule_failures"]
    assert list(failures) == list(rules.RULES)
    assert failures["npi_check_digit"] == failures["rate_positive"] == failures["expiration_date_valid"] == 3
    assert failures["negotiated_type_enum"] == 3 and failures["tin_format"] == 0
    # waiving a rule only stops that rule from failing rows; its count is still reported
    waived = quality.accuracy(*_rates(7, 3), waived=("npi_check_digit",))
    assert waived.score == pytest.approx(0.7) and waived.details["rule_failures"]["npi_check_digit"] == 3
    with pytest.raises(ValueError, match="unknown accuracy rule"):
        quality.accuracy(*_rates(1, 0), waived=("no_such_rule",))


def test_tin_rule():
    rates, providers, _ = _rates(2, 0)
    orgs = frame(ORGANIZATIONS, [dict(organization_uuid="o1", tin_type="ein", tin_value="11302661")])
    assert quality.accuracy(rates, providers, orgs).details["rule_failures"]["tin_format"] == 2


def test_npi_zero_only_as_tin_level_marker():
    rates, _, orgs = _rates(1, 0)
    alone = frame(PROVIDERS, [dict(provider_group_uuid="g1", npi=0, organization_uuid="o1")])
    mixed = frame(PROVIDERS, [dict(provider_group_uuid="g1", npi=0, organization_uuid="o1"),
                              dict(provider_group_uuid="g1", npi=1730666900, organization_uuid="o1")])
    assert quality.accuracy(rates, alone, orgs).score == 1.0
    assert quality.accuracy(rates, mixed, orgs).score == 0.0


def test_completeness_counts_missing_cells():
    rates, _, _ = _rates(7, 3)
    score = quality.completeness(rates)
    # 3 of 10 rows miss one of 13 required fields
    assert score.score == pytest.approx(1 - 3 / 130)
    assert score.details["field_presence"]["description"] == 0.7


def test_completeness_conditional_fields():
    base = dict(billing_code="1", billing_code_type="CPT", billing_code_type_version="1", negotiation_arrangement="ffs",
                name="n", description="d", negotiated_type="negotiated", negotiated_rate=1.0,
                expiration_date="9999-12-31", provider_group_uuid="g", organization_uuid="o",
                last_updated_on="2026-01-01")
    rows = [{**base, "billing_class": "professional", "service_code": [], "schema_version": "2.0.0"}]
    score = quality.completeness(frame(RATES, rows))
    assert score.score == pytest.approx(13 / 15)  # service_code and setting both missing


def test_reconciliation_detects_missing_rows_and_failed_files():
    stats = pl.DataFrame({
        "file_id": ["a", "b", "c"], "url": ["u/a", "u/b", "u/c"], "status": ["ok", "ok", "failed"],
        "error": [None, None, "truncated gzip stream"], "expected_rows": [3, 2, 0], "rows_filtered": [0, 0, 0],
    })
    rates = pl.LazyFrame({"file_id": ["a", "a", "b"]})
    rejects = pl.LazyFrame({"file_id": ["a", "c"], "rows": [1, 0]})
    result = quality.reconciliation(stats, rates, rejects)
    assert result.details["files_unreconciled"] == 2
    problems = " ".join(result.details["problems"])
    assert "u/b: expected 2 rows, lake has 1 + 0 rejected" in problems and "truncated gzip" in problems
    ok = quality.reconciliation(stats.head(1), rates, rejects)
    assert ok.details["files_unreconciled"] == 0


def test_referential_integrity_finds_each_broken_link():
    from mrf_assets.tic.tables import PROVIDER_SETS, RATES as STORED
    s1, s2 = b"\x01" * 16, b"\x02" * 16
    rates = frame(STORED, [{"provider_set_uuid": s1}, {"provider_set_uuid": s2}])
    sets = frame(PROVIDER_SETS, [dict(provider_set_uuid=s1, provider_group_uuid="g1", organization_uuid="o1"),
                                 dict(provider_set_uuid=s1, provider_group_uuid="g9", organization_uuid="o9")])
    providers = frame(PROVIDERS, [dict(provider_group_uuid="g1", npi=1730666900, organization_uuid="o1")])
    orgs = frame(ORGANIZATIONS, [dict(organization_uuid="o1", tin_type="ein", tin_value="113026610")])
    got = quality.referential_integrity(rates, sets, providers, orgs)
    assert got.score == 0.0 and got.details == {"rates_without_provider_set": 1, "set_members_without_group": 1,
                                                "set_members_without_organization": 1,
                                                "providers_without_organization": 0}
    whole = quality.referential_integrity(rates.filter(pl.col("provider_set_uuid") == s1),
                                          sets.filter(pl.col("provider_group_uuid") == ident("g1")), providers, orgs)
    assert whole.score == 1.0
