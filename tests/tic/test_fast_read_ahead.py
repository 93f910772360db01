"""A file's JSON read ahead on a thread: every byte in order, its facts recorded, a broken body's error
raised where the blocks are consumed, and the thread gone when its consumer stops early."""

from __future__ import annotations

import gzip
import threading

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


def test_a_consumer_that_stops_early_ends_the_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(read_ahead, "BLOCK", 1000)  # the producer soon waits on a full queue
    path = tmp_path / "in.json.gz"
    path.write_bytes(gzip.compress(b'{"in_network": [' + b",".join(b'{"n": %d}' % n for n in range(20_000)) + b"]}"))
    before = set(threading.enumerate())
    blocks = read_ahead.decompressed_blocks(path, {})
    next(blocks)
    assert [t.name for t in set(threading.enumerate()) - before] == ["mrf-inflate"]
    blocks.close()  # what a for loop that raises does to the generator
    assert set(threading.enumerate()) - before == set()
