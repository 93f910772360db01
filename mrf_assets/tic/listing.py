"""Links from a payer's file index: an HTML directory page, an S3 ListBucket XML or an Azure blob list."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"'#]+)["']""", re.IGNORECASE)
MAX_PAGES = 500


def parse_listing(body: bytes, url: str) -> tuple[list[str], str | None]:
    """(absolute file URLs, URL of the next page or None) for one page of an index."""
    text = body.decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if text.startswith("<?xml") or text.startswith("<ListBucketResult") or text.startswith("<EnumerationResults"):
        return _parse_xml(text, url)
    return [urljoin(url, html.unescape(href)) for href in _HREF.findall(text)], None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(text: str, url: str) -> tuple[list[str], str | None]:
    root = ET.fromstring(text)
    parts = urlsplit(url)
    container = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    fields = {_local(el.tag): el.text for el in root}
    if _local(root.tag) == "ListBucketResult":  # S3: <Contents><Key>, continuation for v1 and v2 listings
        keys = [el.text for el in root.iter() if _local(el.tag) == "Key" and el.text]
        urls = [urljoin(container if container.endswith("/") else container + "/", k) for k in keys]
        if fields.get("IsTruncated") == "true":
            token = fields.get("NextContinuationToken")
            marker = fields.get("NextMarker") or (keys[-1] if keys else None)
            return urls, _with_query(url, {"continuation-token": token} if token else {"marker": marker})
        return urls, None
    if _local(root.tag) == "EnumerationResults":  # Azure: <Blobs><Blob><Name>/<Url>, <NextMarker>
        urls = []
        for blob in (el for el in root.iter() if _local(el.tag) == "Blob"):
            values = {_local(child.tag): child.text for child in blob}
            urls.append(values.get("Url") or f"{container.rstrip('/')}/{values.get('Name')}")
        marker = fields.get("NextMarker")
        return urls, (_with_query(url, {"marker": marker}) if marker else None)
    raise ValueError(f"unknown XML listing <{_local(root.tag)}>")


def _with_query(url: str, updates: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(updates)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def classify(url: str) -> str | None:
    """'toc', 'in_network' or 'allowed_amount' from a file name, or None for anything else."""
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower().replace("_", "-")
    if re.search(r"in-?network", name):
        return "in_network"
    if re.search(r"allowed-?amounts?|out-of-network", name):
        return "allowed_amount"
    if re.search(r"(^|[-.])(index|table-of-contents|toc)([-.]|$)", name):
        return "toc"
    return None
