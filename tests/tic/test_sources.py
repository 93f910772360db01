"""Containers by magic bytes, content sniffing, and clear failures on broken bodies."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
import zlib
from pathlib import Path

import pytest

from mrf_assets.tic.http import HttpClient, OfflineError
from mrf_assets.tic.sources import SourceError, fetch, local_path, open_json, sniff
from tests.conftest import DEMO

DOC = (DEMO / "cms-v2" / "in-network-rates-no-npi.json").read_bytes()


def read_all(path: Path, **kwargs) -> bytes:
    with open_json(path, **kwargs) as stream:
        return stream.read()


def test_sniff():
    assert sniff(b"\x1f\x8b\x08\x00") == "gzip"
    assert sniff(b"PK\x03\x04") == "zip"
    assert sniff(b"\xef\xbb\xbf  {") == "json"
    assert sniff(b"\n\t[") == "json"
    assert sniff(b"  <!DOCTYPE html>") == "html"
    assert sniff(b"hello") == "unknown"


def test_containers_detected_by_magic_bytes_not_names(tmp_path):
    gz = tmp_path / "looks-plain.json"
    gz.write_bytes(gzip.compress(DOC))
    zipped = tmp_path / "looks-gzipped.json.gz"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inner.json", DOC)
    plain = tmp_path / "looks-zipped.zip"
    plain.write_bytes(b"\xef\xbb\xbf" + DOC)
    for path, container in ((gz, "gzip"), (zipped, "zip"), (plain, "json")):
        with open_json(path) as stream:
            assert stream.container == container
            assert json.loads(stream.read()) == json.loads(DOC)


def test_html_body_is_refused(tmp_path):
    page = tmp_path / "toc.json"
    page.write_bytes(b"<!DOCTYPE html><html><body>Sorry, we are updating our files</body></html>")
    with pytest.raises(SourceError, match="body is HTML, not JSON"):
        read_all(page)
    gz = tmp_path / "toc.json.gz"
    gz.write_bytes(gzip.compress(page.read_bytes()))
    with pytest.raises(SourceError, match="body is HTML"):
        read_all(gz)


def test_empty_and_garbage_bodies(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        read_all(empty)
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"Missing file")
    with pytest.raises(SourceError, match="not JSON"):
        read_all(garbage)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(DOC * 50)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="truncated gzip stream"):
        read_all(cut)


def test_zip_archive_rules(tmp_path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        archive.writestr("a.json", DOC)
        archive.writestr("b.json", DOC)
    with pytest.raises(SourceError, match="holds 2 files"):
        read_all(many)
    nested = tmp_path / "nested.zip"
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("a.json", DOC)
    with zipfile.ZipFile(nested, "w") as archive:
        archive.writestr("inner.bin", inner.getvalue())
    with pytest.raises(SourceError, match="nested archives are refused"):
        read_all(nested)


def test_zip_bomb_is_refused(tmp_path):
    # ~1000x: 400 MB of whitespace inside a JSON array deflates to ~300 KB.
    bomb = tmp_path / "bomb.json.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(bomb, "wb") as out:
        out.write(compressor.compress(b'{"in_network": ['))
        block = b" " * (1 << 20)
        for _ in range(400):
            out.write(compressor.compress(block))
        out.write(compressor.compress(b"]}") + compressor.flush())
    assert bomb.stat().st_size < 1 << 20
    with open_json(bomb) as stream, pytest.raises(SourceError, match="zip bomb"):
        while stream.read(1 << 20):
            pass


def test_local_paths_and_file_urls(tmp_path):
    path = tmp_path / "a b.json"
    path.write_bytes(DOC)
    assert local_path(str(path)) == path
    assert local_path(path.as_uri()) == path
    assert local_path("https://example.org/x.json") is None
    assert fetch(path.as_uri(), HttpClient(offline=True), tmp_path) == path
    with pytest.raises(SourceError, match="file not found"):
        fetch(str(tmp_path / "missing.json"), HttpClient(offline=True), tmp_path)


def test_http_download_and_offline_guard(tmp_path, payer_web):
    url = payer_web.add("/files/a.json.gz", gzip.compress(DOC))
    path = fetch(url, HttpClient(offline=True), tmp_path)
    assert json.loads(read_all(path)) == json.loads(DOC)
    with pytest.raises(SourceError, match="HTTP 404"):
        fetch(payer_web.url("/files/missing.json"), HttpClient(offline=True, retries=0), tmp_path)
    with pytest.raises(OfflineError, match="offline mode"):
        HttpClient(offline=True).get("https://example.org/x.json")
