"""An ingest's log lines of its files: progress while a file is long under way, one line when it ends."""

import logging

import pytest

from mrf_assets.tic.file_log import log_file, progress_log

OK = {"status": "ok", "url": "https://payer.example/in.json.gz", "items": 1200, "rows": 34567,
      "rows_rejected": 2, "mb_per_s": 101.5, "parser": "fast"}


def test_progress_is_logged_at_most_once_a_period(caplog):
    log = logging.getLogger("test-file-log")
    caplog.set_level(logging.INFO, log.name)
    quiet = progress_log(log, 3600.0, lambda seconds, n: f"{n} so far")
    chatty = progress_log(log, 0.0, lambda seconds, n: f"{n} done after {seconds > 0}")
    for n in range(3):
        quiet(n)
        chatty(n)
    assert caplog.messages == ["0 done after True", "1 done after True", "2 done after True"]


@pytest.mark.parametrize("extra, said", [
    ({}, ""),
    ({"items_fallback": 3, "fallback_reason": "a quoted rate"}, "; 3 items through the reference rules (a quoted rate)"),
    ({"items_giant": 1, "passes": 2}, "; 1 giant items read rate by rate; read twice: provider_references come after in_network"),
    ({"items_rejected": 2, "items_fallback": 1, "fallback_reason": "r"},
     "; 2 items rejected (see rejects); 1 items through the reference rules (r)"),
])
def test_a_files_line_says_what_was_rejected_and_what_the_fast_path_did_its_own_way(caplog, extra, said):
    caplog.set_level(logging.INFO)
    log_file(logging.getLogger("test-file-log"), dict(OK, **extra))
    assert caplog.records[-1].levelno == logging.INFO
    assert caplog.messages == ["file ok: https://payer.example/in.json.gz: 1,200 items, 34,567 rows, 2 rejected, "
                               "101.5 MB/s (fast)" + said]


def test_a_failed_file_is_an_error_with_its_reason(caplog):
    log_file(logging.getLogger("test-file-log"), {"status": "failed", "url": "u", "error": "truncated gzip"})
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.ERROR, "file failed: u: truncated gzip")]
