"""The merges at commit: rows two workers both wrote are kept once, organizations merged whole."""

from __future__ import annotations

import itertools
import uuid

import polars as pl
import pyarrow as pa
import pytest

from mrf_assets.tic.lake import Lake
from mrf_assets.tic.partition_merge import deduplicate, merge_organizations
from mrf_assets.tic.tables import TABLES


def ids(*names: str) -> pa.Array:
    return pa.array([uuid.uuid5(uuid.NAMESPACE_URL, n).bytes for n in names], pa.binary(16))


def providers(groups: list[str], npis: list[int]) -> pa.Table:
    return pa.table({"provider_group_uuid": ids(*groups), "npi": npis, "organization_uuid": ids(*["org"] * len(npis)),
                     "network_name": [None] * len(npis)}).cast(TABLES["providers"])


def test_a_group_two_workers_wrote_is_kept_once_from_the_first_part(tmp_path):
    lake = Lake(str(tmp_path))
    writer = lake.writer("providers", "2026-11", "p", "run", TABLES["providers"])
    writer.write_table(providers(["a", "a", "b"], [1, 2, 3]), key="w1")
    writer.write_table(providers(["c", "b", "b"], [4, 5, 6]), key="w2")  # b again, with other NPIs
    writer.write_table(providers(["d"], [7]), key="w3")
    deduplicate(writer, "provider_group_uuid")
    writer.commit()
    rows = pl.from_arrow(lake.read("providers", "2026-11", "p", TABLES["providers"]))
    assert sorted(rows["npi"].to_list()) == [1, 2, 3, 4, 7]
    assert len(writer.parts) == 3  # the first and last parts untouched, the second rewritten without b


def organizations(*names: str | None) -> pa.Table:
    return pa.table({"organization_uuid": ids(*["org"] * len(names)), "tin_type": ["ein"] * len(names),
                     "tin_value": ["123456789"] * len(names), "business_name": list(names)}
                    ).cast(TABLES["organizations"])


@pytest.mark.parametrize("names", list(itertools.permutations([None, "Other", "", "Clinic"])))
def test_organizations_keep_the_smallest_name_whatever_order_the_parts_come_in(tmp_path, names):
    lake = Lake(str(tmp_path))
    writer = lake.writer("organizations", "2026-11", "p", "run", TABLES["organizations"])
    for name in names:
        writer.write_table(organizations(name))
    merge_organizations(writer)
    writer.commit()
    rows = lake.read("organizations", "2026-11", "p", TABLES["organizations"]).to_pylist()
    assert [(r["tin_value"], r["business_name"]) for r in rows] == [("123456789", "Clinic")]


def test_a_part_with_two_names_of_one_organization_is_merged(tmp_path):
    lake = Lake(str(tmp_path))
    writer = lake.writer("organizations", "2026-11", "p", "run", TABLES["organizations"])
    writer.write_table(organizations("", None))
    merge_organizations(writer)
    writer.commit()
    rows = lake.read("organizations", "2026-11", "p", TABLES["organizations"]).to_pylist()
    assert [(r["tin_value"], r["business_name"]) for r in rows] == [("123456789", "")]
