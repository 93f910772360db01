"""Stable identifiers: file ids from URLs (signatures left out), and uuid5 ids of a few fields (organizations,
provider groups). Row ids computed a batch at a time (rate_uuid, provider sets) are in row_ids.py."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/mrf-platform/mrf-platform")

# Query parameters that sign a URL (CloudFront, S3 SigV4, Azure SAS). They change every month and
# must neither split one file into many ids nor leak into logs.
SIGNATURE_PARAMS = frozenset(
    p.lower() for p in (
        "Expires", "Signature", "Key-Pair-Id", "Policy",
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
        "AWSAccessKeyId", "sig", "se", "sp", "sv", "sr", "st", "spr", "skoid", "sktid",
        "skt", "ske", "sks", "skv",
    )
)


def url_identity(url: str) -> str:
    """The URL without its signature query parameters: what identifies the file."""
    parts = urlsplit(url.strip())
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in SIGNATURE_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


def redact_url(url: str) -> str:
    """The URL with signature values replaced, safe for logs and metadata."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(
        f"{k}={'REDACTED' if k.lower() in SIGNATURE_PARAMS else v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def file_id(url: str) -> str:
    return hashlib.sha256(url_identity(url).encode()).hexdigest()[:16]


def stable_uuid(*fields: object) -> bytes:
    """uuid5 over the fields, None kept distinct from the empty string, as its 16 bytes (the lake stores
    ids as Parquet's UUID type: 16 bytes where the text form takes 36, in every column, join and gather)."""
    text = "\x1f".join("\x00" if f is None else f.hex() if isinstance(f, bytes) else str(f) for f in fields)
    return uuid.uuid5(NAMESPACE, text).bytes
