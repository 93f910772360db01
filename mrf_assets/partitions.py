"""Partitions: month x payer. Payer keys come from the payer registry, so a new payer needs no code."""

from __future__ import annotations

import datetime as dt

import dagster as dg

# TiC enforcement began with July 2022 files; end_offset=1 makes the current month materializable.
month_partitions = dg.MonthlyPartitionsDefinition(start_date="2022-07-01", end_offset=1)


def month_payer_partitions(payer_slugs: list[str]) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition({
        "month": month_partitions,
        "payer": dg.StaticPartitionsDefinition(payer_slugs),
    })


def month_payer_key(month: str, payer: str) -> dg.MultiPartitionKey:
    """The partition key for a month ('2026-11' or '2026-11-01') and a payer slug."""
    return dg.MultiPartitionKey({"month": f"{month[:7]}-01", "payer": payer})


def split_key(key: str | dg.MultiPartitionKey) -> tuple[dt.date, str]:
    """(first day of the month, payer slug) from a month x payer partition key."""
    if isinstance(key, dg.MultiPartitionKey):
        parts = key.keys_by_dimension
        month, payer = parts["month"], parts["payer"]
    else:  # dimensions are ordered by name: "month|payer"
        month, payer = str(key).split("|", 1)
    return dt.date.fromisoformat(month), payer


def lake_month(month: dt.date) -> str:
    """The Hive partition value of a month: YYYY-MM."""
    return month.strftime("%Y-%m")
