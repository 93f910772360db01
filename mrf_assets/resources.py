"""Resources: the lake, the payer registry and the HTTP client, configured by environment."""

from typing import Optional

import dagster as dg
from dagster_aws.s3 import S3Resource

from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.s3 import S3Settings
from payer_handlers import Payer, load_registry


class LakeResource(dg.ConfigurableResource):
    """Where the parquet lake lives: a local folder or s3://bucket/prefix (MRF_LAKE_URL). For S3, the
    client settings come from dagster-aws's S3Resource, which falls back to the AWS environment."""

    url: str = "./data"
    s3: Optional[S3Resource] = None

    def lake(self) -> Lake:
        if not self.url.startswith("s3://"):
            return Lake(self.url)
        s3 = self.s3 or S3Resource()
        settings = S3Settings.from_env(
            endpoint_url=s3.endpoint_url, region=s3.region_name, access_key=s3.aws_access_key_id,
            secret_key=s3.aws_secret_access_key, session_token=s3.aws_session_token,
        )
        return Lake(self.url, settings).check()


class PayerRegistryResource(dg.ConfigurableResource):
    """The payer registry file (MRF_PAYERS_FILE, default payer_handlers/payers.yaml)."""

    path: str

    def payer(self, slug: str) -> Payer:
        payers = load_registry(self.path)
        if slug not in payers:
            raise dg.Failure(f"payer '{slug}' is not in the registry {self.path}")
        return payers[slug]


class HttpResource(dg.ConfigurableResource):
    """HTTP settings shared by every payer; headers and proxy come from each payer's entry."""

    offline: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retries: int = 4

    def client(self, payer: Payer) -> HttpClient:
        return HttpClient(headers=payer.headers, proxy=payer.proxy, offline=self.offline,
                          connect_timeout=self.connect_timeout,
                          read_timeout=self.read_timeout, retries=self.retries)
