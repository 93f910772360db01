"""HTTP client for payer servers: requests + urllib3 Retry, timeouts, per-payer headers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mrf_assets.tic.ids import redact_url

CHUNK = 1 << 20


class OfflineError(ConnectionError):
    """Offline mode refused a request to a host that is not on this machine."""


@dataclass
class HttpClient:
    headers: dict[str, str] = field(default_factory=dict)
    proxy: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retries: int = 4
    backoff: float = 0.5
    # Offline mode (MRF_OFFLINE=1) only lets loopback hosts through: the demo and the tests run with
    # it, so a payer file that points at the internet fails loudly instead of reaching out.
    offline: bool = False

    def __post_init__(self) -> None:
        retry = Retry(
            total=self.retries, connect=self.retries, read=self.retries, status=self.retries,
            backoff_factor=self.backoff, status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD"}), respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(self.headers)
        if self.proxy:
            self.session.proxies = {"http": self.proxy, "https": self.proxy}

    def get(self, url: str, stream: bool = True, headers: dict[str, str] | None = None) -> requests.Response:
        self._guard(url)
        response = self.session.get(url, stream=stream, headers=headers,
                                    timeout=(self.connect_timeout, self.read_timeout))
        if response.status_code >= 400:
            response.close()
            raise requests.HTTPError(f"HTTP {response.status_code} for {redact_url(url)}", response=response)
        return response

    def download(self, url: str, dest: Path) -> Path:
        """Stream a URL to dest (written to a .part file, renamed when complete)."""
        tmp = dest.with_name(dest.name + ".part")
        with self.get(url) as response, open(tmp, "wb") as out:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
        tmp.replace(dest)
        return dest

    def _guard(self, url: str) -> None:
        if not self.offline:
            return
        host = urlsplit(url).hostname or ""
        if host != "localhost" and not _is_loopback(host):
            raise OfflineError(f"offline mode (MRF_OFFLINE=1) refuses {redact_url(url)}: not a loopback host")


def _is_loopback(host: str) -> bool:
    # No DNS lookup: in offline mode even resolving a payer's host name would leave the machine.
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
