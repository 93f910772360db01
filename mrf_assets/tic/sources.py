"""Open a payer file as a stream of JSON bytes.

Inputs are URLs (https://, http://, file://) or plain paths. Containers are recognised by their magic
bytes, never by name: gzip, zip (one member), or plain JSON. The decoded stream refuses bodies that are
not JSON (an HTML page served with 200), strips a UTF-8 BOM, and bounds the decompression ratio so a
zip bomb fails instead of filling the disk or memory.
"""

from __future__ import annotations

import gzip
import io
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ids import file_id, redact_url

try:  # isal inflates ~3x faster than zlib here (bench notes); stdlib gzip is the fallback.
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - isal is a declared dependency
    _gzip = gzip

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
BOM = b"\xef\xbb\xbf"
MAX_RATIO = 1000       # real TiC gzip ratios are 5-60x; deflate itself tops out near 1032x
RATIO_FLOOR = 64 << 20  # small files may inflate freely up to this many bytes


class SourceError(Exception):
    """A file could not be read as JSON; the message says why, in words a user can act on."""


def local_path(url: str) -> Path | None:
    """The local path for file:// URLs and plain paths; None for remote URLs."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if not parts.scheme:
        return Path(url)
    return None


def fetch(url: str, http: HttpClient, workdir: Path, cancel: threading.Event | None = None,
          progress: Callable[[int, int | None], None] | None = None) -> Path:
    """A local copy of the file: the file itself when local, else a download into workdir (which
    `cancel`, once set, stops, and `progress` follows: HttpClient.download)."""
    path = local_path(url)
    if path is not None:
        if not path.is_file():
            raise SourceError(f"file not found: {path}")
        return path
    if urlsplit(url).scheme not in ("http", "https"):
        raise SourceError(f"unsupported URL scheme: {redact_url(url)}")
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return http.download(url, workdir / f"{file_id(url)}.download", cancel, progress)
    except Exception as exc:  # requests raises many types; the file fails with the reason
        raise SourceError(f"download failed: {exc}") from exc


def sniff(head: bytes) -> str:
    """'gzip', 'zip', 'json', 'html' or 'unknown' from the first bytes of a body."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    text = head.removeprefix(BOM).lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "html"
    return "unknown"


def open_json(path: Path, max_ratio: int = MAX_RATIO) -> "JsonStream":
    """Open a local file as decoded JSON bytes, whatever its container."""
    size = path.stat().st_size
    with open(path, "rb") as probe:
        head = probe.read(4)
    kind = sniff(head)
    if kind == "gzip":
        raw: BinaryIO = _gzip.open(path, "rb")
    elif kind == "zip":
        raw = _open_zip_member(path)
    else:
        raw = open(path, "rb")
    limit = max(RATIO_FLOOR, size * max_ratio) if kind in ("gzip", "zip") else None
    return JsonStream(raw, limit=limit, container=kind)


def _open_zip_member(path: Path) -> BinaryIO:
    archive = zipfile.ZipFile(path)
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        names = ", ".join(m.filename for m in members[:5])
        raise SourceError(f"zip archive holds {len(members)} files ({names}); expected exactly one JSON file")
    member = members[0]
    handle = archive.open(member)
    if member.filename.lower().endswith((".zip", ".gz")):
        raise SourceError(f"zip archive nests another archive ({member.filename}); nested archives are refused")
    return handle


class JsonStream(io.RawIOBase):
    """Decoded bytes with a JSON sniff at the start, a BOM strip and a decompression bound."""

    def __init__(self, raw: BinaryIO, limit: int | None, container: str):
        self._raw = raw
        self._limit = limit
        self.container = container
        self.bytes_read = 0
        self._pending = self._check_start()

    def _check_start(self) -> bytes:
        head = self._read_raw(4096)
        self.had_bom = head.startswith(BOM)
        head = head.removeprefix(BOM)
        kind = sniff(head)
        if kind == "json":
            return head
        preview = head.lstrip()[:60].decode("utf-8", "replace")
        if kind == "html":
            raise SourceError(f"body is HTML, not JSON (starts with {preview!r})")
        if kind in ("gzip", "zip"):
            raise SourceError(f"{self.container} holds another {kind} archive; nested archives are refused")
        if not head.strip():
            raise SourceError("body is empty, not JSON")
        raise SourceError(f"body is not JSON (starts with {preview!r})")

    def _read_raw(self, n: int) -> bytes:
        try:
            data = self._raw.read(n)
        except EOFError as exc:
            raise SourceError(f"truncated {self.container} stream after {self.bytes_read:,} bytes: {exc}") from exc
        except (OSError, zipfile.BadZipFile) as exc:
            raise SourceError(f"corrupt {self.container} stream after {self.bytes_read:,} bytes: {exc}") from exc
        self.bytes_read += len(data)
        if self._limit is not None and self.bytes_read > self._limit:
            raise SourceError(
                f"decompressed size passed {self._limit:,} bytes ({MAX_RATIO}x the compressed size): "
                "refusing a possible zip bomb"
            )
        return data

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._pending:
            if n is None or n < 0 or n >= len(self._pending):
                data, self._pending = self._pending, b""
                return data
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return self._read_raw(n if n and n > 0 else 1 << 20)

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()
