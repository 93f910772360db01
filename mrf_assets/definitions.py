"""The Dagster code location. Everything is chosen by environment, never by code edits:

- MRF_PAYERS_FILE: the payer registry (default payer_handlers/payers.yaml)
- MRF_LAKE_URL:    the lake root, a folder or s3://bucket/prefix (default ./data)
- MRF_OFFLINE=1:   refuse every non-loopback HTTP request (demo and tests)
- MRF_ALERT_WEBHOOK_URL, MRF_UI_URL, ...: alerts (see mrf_assets/alerts.py)
- AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ...: the S3 store when MRF_LAKE_URL is s3://
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from mrf_assets.alerts import build_alert_sensor
from mrf_assets.assets.file_list import build_mrf_file_list
from mrf_assets.assets.rates import build_rates
from mrf_assets.assets.toc import build_payer_toc
from mrf_assets.freshness import build_toc_freshness
from mrf_assets.io_managers import LakeParquetIOManager
from mrf_assets.partitions import month_payer_partitions
from mrf_assets.resources import HttpResource, LakeResource, PayerRegistryResource
from mrf_assets.schedules import build_posting_day_schedules
from mrf_assets.sensors import build_late_toc_sensor
from mrf_assets.tic.http import offline_from_env
from mrf_assets.tic.rules import RULES
from payer_handlers import RegistryError, load_registry, registry_path

INGEST_JOB = "mrf_ingest"
S3_ENV = {"endpoint_url": "AWS_ENDPOINT_URL", "region_name": "AWS_REGION"}


def s3_resource() -> S3Resource:
    """S3 client settings as Dagster EnvVars (resolved at launch, never written in code); unset
    variables are left out so the AWS SDK's own defaults apply."""
    return S3Resource(**{field: dg.EnvVar(var) for field, var in S3_ENV.items() if os.environ.get(var)})


def build_defs(payers_file: str | None = None, lake_url: str | None = None,
               offline: bool | None = None) -> dg.Definitions:
    payers_file = str(payers_file or registry_path())
    lake_url = lake_url or os.environ.get("MRF_LAKE_URL") or "./data"
    if offline is None:
        offline = offline_from_env()
    payers = load_registry(payers_file)
    for payer in payers.values():
        unknown = set(payer.thresholds.waived_rules) - set(RULES)
        if unknown:
            raise RegistryError(f"{payers_file}: payer '{payer.slug}': key 'thresholds.waived_rules': "
                                f"unknown rule(s) {sorted(unknown)}; known: {list(RULES)}")
    partitions = month_payer_partitions(list(payers))
    assets = [build_payer_toc(partitions), build_mrf_file_list(partitions), build_rates(partitions)]
    freshness_check, freshness_job, freshness_schedule = build_toc_freshness(payers)
    ingest_job = dg.define_asset_job(
        INGEST_JOB, selection=dg.AssetSelection.assets(*assets) - dg.AssetSelection.checks(freshness_check))
    lake = LakeResource(url=lake_url, s3=s3_resource())
    return dg.Definitions(
        assets=assets,
        asset_checks=[freshness_check],
        jobs=[ingest_job, freshness_job],
        schedules=[*build_posting_day_schedules(payers, ingest_job), freshness_schedule],
        sensors=[build_late_toc_sensor(payers, ingest_job), build_alert_sensor()],
        resources={
            "lake": lake,
            "lake_io_manager": LakeParquetIOManager(lake=lake),
            "registry": PayerRegistryResource(path=payers_file),
            "http": HttpResource(offline=offline),
        },
    )


defs = build_defs()
