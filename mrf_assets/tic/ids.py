"""Stable identifiers: file ids from URLs, uuid5 ids for organizations, provider groups and rates."""

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


def stable_uuid(*fields: object) -> str:
    """uuid5 over the fields, None kept distinct from the empty string."""
    text = "\x1f".join("\x00" if f is None else str(f) for f in fields)
    return str(uuid.uuid5(NAMESPACE, text))
