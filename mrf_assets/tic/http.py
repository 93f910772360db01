"""HTTP client for payer servers: requests + urllib3 Retry, timeouts, per-payer headers, and downloads
that resume with Range requests when a multi-gigabyte body breaks off halfway (each transfer's ranges
and checks: resumable.py)."""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ProtocolError, ReadTimeoutError, ResponseError, SSLError
from urllib3.util.retry import Retry

from mrf_assets.tic.ids import SIGNATURE_PARAMS, redact_url
from mrf_assets.tic.resumable import DownloadCancelled, ShortBody, Transfer, range_headers, receive

log = logging.getLogger(__name__)


def offline_from_env() -> bool:
    """MRF_OFFLINE: anything but unset, '', '0' or 'false' turns offline mode on."""
    return os.environ.get("MRF_OFFLINE", "") not in ("", "0", "false")


class OfflineError(ConnectionError):
    """Offline mode refused a request to a host that is not on this machine."""


class DownloadError(requests.RequestException):
    """A download broke off more often than the client may resume it, or a resumption was refused."""


# What a connection that dies mid-body raises; anything else (disk full, HTTP 403) is not worth resuming.
_BROKEN = (ProtocolError, ReadTimeoutError, SSLError, http.client.IncompleteRead,
           requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError, ShortBody)

_SIGNED = re.compile(
    r"([?&;](?:" + "|".join(re.escape(p) for p in sorted(SIGNATURE_PARAMS)) + r")=)[^&;\s'\"#)]*",
    re.IGNORECASE)
_USERINFO = re.compile(r"(//)[^/\s@]+@")


def scrub(text: str) -> str:
    """Free text (an exception, a log line) with URL signatures and proxy credentials removed."""
    return _USERINFO.sub(r"\1REDACTED@", _SIGNED.sub(r"\1REDACTED", text))


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


# urllib3 logs full request URLs (debug lines, "Retrying ..." warnings); a signed URL must not reach
# the run logs through it. Filters sit on the emitting logger, so each urllib3 module gets one.
for _name in [n for n in list(logging.root.manager.loggerDict) if n == "urllib3" or n.startswith("urllib3.")]:
    logging.getLogger(_name).addFilter(_ScrubFilter())


class _Retry(Retry):
    """Retry that gives up at once when a server asks to wait longer than max_retry_after."""

    def __init__(self, *args, max_retry_after: float = 120.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw) -> "_Retry":
        kw.setdefault("max_retry_after", self.max_retry_after)
        return super().new(**kw)

    def get_retry_after(self, response) -> float | None:
        # A garbled Retry-After should fall back to backoff, not abort the request.
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and (self.get_retry_after(response) or 0) > self.max_retry_after:
            # With raise_on_status=False the pool hands the response back, and get() explains it.
            raise MaxRetryError(_pool, url, ResponseError("Retry-After longer than max_retry_after"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


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
    # A server asking to come back in an hour would otherwise stall the whole run that long.
    max_retry_after: float = 120.0
    # A host that has not answered this many requests in a row (each after every retry) is not asked
    # again by this client: a payer file can list hundreds of remote references on one host, and a
    # dead host would hold each of them for every retry and connect timeout (hours for CareFirst's 370).
    silent_host_after: int = 3

    def __post_init__(self) -> None:
        self._retry = retry = _Retry(
            total=self.retries, connect=self.retries, read=self.retries, status=self.retries,
            backoff_factor=self.backoff, status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD"}), respect_retry_after_header=True,
            raise_on_status=False, max_retry_after=self.max_retry_after,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(self.headers)
        # requests lets HTTP(S)_PROXY from the environment override session.proxies, so the payer's
        # proxy is also passed with every request; offline, an environment proxy could only be remote.
        self._proxies = {"http": self.proxy, "https": self.proxy} if self.proxy else None
        if self._proxies:
            self.session.proxies = dict(self._proxies)
        if self.offline:
            self.session.trust_env = False
        self._unanswered: dict[str, int] = {}  # host -> requests in a row it did not answer
        self._silent: dict[str, str] = {}  # host -> why it is not asked again

    def get(self, url: str, stream: bool = True, headers: dict[str, str] | None = None) -> requests.Response:
        self._guard(url)
        host = urlsplit(url).netloc.rpartition("@")[2]
        if host in self._silent:
            raise requests.ConnectionError(self._silent[host])
        try:
            response = self.session.get(url, stream=stream, headers=headers, proxies=self._proxies,
                                        timeout=(self.connect_timeout, self.read_timeout))
        except requests.RequestException as exc:
            if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
                self._count_unanswered(host, exc)
            # urllib3 puts the full URL in "Max retries exceeded with url: ..." messages.
            message = str(exc)
            if scrub(message) == message:
                raise
            raise type(exc)(scrub(message), request=exc.request, response=exc.response) from None
        self._unanswered.pop(host, None)
        if response.status_code >= 400:
            response.close()
            reason = f"HTTP {response.status_code} for {redact_url(url)}"
            wait = self._retry.get_retry_after(response.raw)
            if wait is not None and wait > self.max_retry_after:
                reason += (f": server asked to retry after {wait:.0f} s (Retry-After), longer than"
                           f" max_retry_after={self.max_retry_after:.0f} s")
            raise requests.HTTPError(reason, response=response)
        return response

    def download(self, url: str, dest: Path, cancel: threading.Event | None = None,
                 progress: Callable[[int, int | None], None] | None = None) -> Path:
        """Stream a URL to dest through a .part file; a body that breaks off is resumed with a Range
        request (If-Range keeps a changed file from being spliced onto the old one). Setting `cancel`
        stops the download within a chunk (or a read timeout, if the server has gone quiet); `progress`
        is told the bytes written and the file's size (None if the server did not say) chunk by chunk."""
        cancel = cancel or threading.Event()
        progress = progress or (lambda written, total: None)
        tmp = dest.with_name(dest.name + ".part")
        shown = redact_url(url)
        state, resumptions = Transfer(), 0

        def failure(exc: Exception) -> DownloadError:
            return DownloadError(f"download of {shown} failed after {resumptions} resumptions"
                                 f" at byte {state.written}: {scrub(str(exc))}")
        try:
            with open(tmp, "wb") as out:
                while True:
                    try:
                        response = self.get(url, headers=range_headers(state))
                    except requests.RequestException as exc:
                        if not resumptions:
                            raise
                        raise failure(exc) from exc  # e.g. the signed URL expired mid-download
                    try:
                        with response:
                            receive(response, out, state, shown, cancel, progress)
                        break
                    except _BROKEN as exc:
                        if resumptions >= self.retries:
                            raise failure(exc) from exc
                        resumptions += 1
                        log.warning("download of %s broke off at byte %d (%s); resuming (%d of %d)", shown,
                                    state.written, scrub(str(exc)), resumptions, self.retries)
                        if cancel.wait(min(self.backoff * 2 ** (resumptions - 1), 30.0)):
                            raise DownloadCancelled(f"download of {shown} cancelled at byte {state.written}")
        except BaseException:
            tmp.unlink(missing_ok=True)  # a half-written multi-GB file is worth nothing to the next run
            raise
        tmp.replace(dest)
        return dest

    def _count_unanswered(self, host: str, exc: Exception) -> None:
        count = self._unanswered[host] = self._unanswered.get(host, 0) + 1
        if count >= self.silent_host_after:
            log.warning("%s did not answer %d requests in a row; not asking it again in this run", host, count)
            self._silent[host] = (f"{host} did not answer {count} requests in a row earlier in this run (the"
                                  f" last: {scrub(str(exc))[:300]}); not asked again until the next run")

    def _guard(self, url: str) -> None:
        if not self.offline:
            return
        host = urlsplit(url).hostname or ""
        if not _is_loopback(host):
            raise OfflineError(f"offline mode (MRF_OFFLINE=1) refuses {redact_url(url)}: not a loopback host")
        if self.proxy:
            proxy_host = urlsplit(self.proxy if "://" in self.proxy else "http://" + self.proxy).hostname or ""
            if not _is_loopback(proxy_host):
                raise OfflineError(f"offline mode (MRF_OFFLINE=1) refuses proxy host {proxy_host}: not loopback")


def _is_loopback(host: str) -> bool:
    # No DNS lookup: in offline mode even resolving a payer's host name would leave the machine.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
