"""A file's JSON read ahead on a thread: every byte in order, its facts recorded, and a broken body's
error raised where the blocks are consumed."""

from __future__ import annotations

import gzip

import pytest

from mrf_assets.tic.fast import read_ahead
from mrf_assets.tic.sources import SourceError


def test_blocks_are_the_whole_document_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(read_ahead, "BLOCK", 1000)  # many blocks, more than the queue holds
    doc = b'{"in_network": [' + b",".join(b'{"n": %d}' % n for n in range(2000)) + b"]}"
    path = tmp_path / "in.json.gz"
    path.write_bytes(gzip.compress(doc))
    stat: dict = {}
    blocks = list(read_ahead.decompressed_blocks(path, stat))
    assert b"".join(blocks) == doc and max(map(len, blocks)) == 1000
    assert stat == {"container": "gzip", "json_bytes": len(doc)}


def test_a_truncated_body_fails_in_the_consumer(tmp_path):
    path = tmp_path / "in.json.gz"
    data = gzip.compress(b'{"in_network": [' + b",".join(b'{"n": %d}' % n for n in range(100_000)) + b"]}")
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="truncated gzip stream"):
        for _ in read_ahead.decompressed_blocks(path, {}):
            pass
