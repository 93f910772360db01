"""Resources: the lake, the payer registry and the HTTP client, configured by environment."""

import dagster as dg

from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.lake import Lake
from payer_handlers import Payer, load_registry


class LakeResource(dg.ConfigurableResource):
    """Where the parquet lake lives: a local folder or s3://bucket/prefix (MRF_LAKE_URL)."""

    url: str = "./data"

    def lake(self) -> Lake:
        return Lake(self.url)


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
        return HttpClient(headers=payer.headers, offline=self.offline, connect_timeout=self.connect_timeout,
                          read_timeout=self.read_timeout, retries=self.retries)
