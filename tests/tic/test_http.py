"""HttpClient against real loopback servers (tests/support/payer_web.py): resumed downloads, retries,
Retry-After, per-payer headers, offline mode, proxies, and signed URLs kept out of errors and logs."""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import threading
import time
import traceback

import pytest
import requests

from mrf_assets.tic.http import DownloadCancelled, DownloadError, HttpClient, OfflineError
from tests.support.payer_web import ForwardProxy, PayerWeb, Route

MB = 1 << 20
SECRETS = ("Signature=SeCrEt-cf", "Expires=1999999999", "Key-Pair-Id=APKASECRETKEY",
           "X-Amz-Signature=deadbeefsecret", "sig=azuresecret%3D")
SIGNED = "?" + "&".join(SECRETS) + "&plan=ppo"


def payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def client(**kwargs) -> HttpClient:
    return HttpClient(**{"offline": True, "backoff": 0, **kwargs})


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret.split("=", 1)[1] not in text, text


def test_dropped_connection_is_resumed_with_range_requests(tmp_path, payer_web, caplog):
    body = payload(3 * MB + 12345)
    url = payer_web.serve("/mrf/big.json.gz", Route(body, drop_after=MB + 17, drop_times=2, etag='"v1"'))
    caplog.set_level(logging.WARNING, logger="mrf_assets.tic.http")
    dest = client().download(url, tmp_path / "big.download")
    assert dest.read_bytes() == body
    assert not (tmp_path / "big.download.part").exists()
    gets = payer_web.gets("/mrf/big.json.gz")
    assert [(e.status, e.headers.get("Range"), e.headers.get("If-Range")) for e in gets] == [
        (200, None, None), (206, f"bytes={MB + 17}-", '"v1"'), (206, f"bytes={2 * (MB + 17)}-", '"v1"')]
    resumed = [r.getMessage() for r in caplog.records if "resuming" in r.getMessage()]
    assert len(resumed) == 2 and url in resumed[0] and f"byte {MB + 17}" in resumed[0]


def test_last_modified_is_the_validator_when_there_is_no_etag(tmp_path, payer_web):
    body = payload(200_000)
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    url = payer_web.serve("/lm.json", Route(body, drop_after=50_000, last_modified=stamp))
    assert client().download(url, tmp_path / "lm").read_bytes() == body
    second = payer_web.gets("/lm.json")[1]
    assert (second.status, second.headers.get("If-Range")) == (206, stamp)


def test_server_without_range_support_restarts_from_zero(tmp_path, payer_web, caplog):
    body = payload(2 * MB + 1)
    url = payer_web.serve("/norange.json.gz", Route(body, drop_after=MB, no_range=True, etag='"n1"'))
    caplog.set_level(logging.WARNING, logger="mrf_assets.tic.resumable")
    assert client().download(url, tmp_path / "n").read_bytes() == body
    gets = payer_web.gets("/norange.json.gz")
    assert [(e.status, e.headers.get("Range")) for e in gets] == [(200, None), (200, f"bytes={MB}-")]
    assert any("restarting from byte 0" in r.getMessage() for r in caplog.records)


def test_file_republished_mid_download_is_fetched_whole_again(tmp_path, payer_web):
    old, new = payload(MB, seed=1), payload(MB + 999, seed=2)
    url = payer_web.serve("/toc.json", Route(old, drop_after=300_000, etag='"old"', then=Route(new, etag='"new"')))
    assert client().download(url, tmp_path / "toc").read_bytes() == new
    second = payer_web.gets("/toc.json")[1]
    assert (second.status, second.headers.get("If-Range")) == (200, '"old"')


def test_a_new_month_serves_the_new_body(tmp_path, payer_web):
    url = payer_web.serve("/monthly.json", Route(b'{"month": 1}', etag='"m1"'))
    assert client().download(url, tmp_path / "a").read_bytes() == b'{"month": 1}'
    payer_web.serve("/monthly.json", Route(b'{"month": 2}', etag='"m2"'))
    assert client().download(url, tmp_path / "b").read_bytes() == b'{"month": 2}'


def test_gives_up_after_the_configured_resumptions(tmp_path, payer_web):
    url = payer_web.serve("/flaky.json", Route(payload(MB), drop_after=100_000, drop_times=10, etag='"f"'))
    with pytest.raises(DownloadError, match=r"failed after 2 resumptions at byte 300000"):
        client(retries=2).download(url, tmp_path / "flaky")
    assert len(payer_web.gets("/flaky.json")) == 3
    assert list(tmp_path.iterdir()) == []


def test_a_download_tells_how_far_it_has_got(tmp_path, payer_web):
    body = payload(3 * MB + 5)
    url = payer_web.serve("/three.json.gz", Route(body))
    told: list[tuple[int, int | None]] = []
    client(retries=0).download(url, tmp_path / "three", progress=lambda written, total: told.append((written, total)))
    assert [written for written, _ in told] == sorted(written for written, _ in told) and len(told) >= 4
    assert told[-1] == (len(body), len(body)) and (tmp_path / "three").read_bytes() == body


def test_a_cancelled_download_stops_and_leaves_nothing(tmp_path, payer_web):
    body = payload(4 * MB)
    url = payer_web.serve("/big.json.gz", Route(body, bytes_per_second=len(body) // 20))  # 20 s
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    dest = tmp_path / "big.json.gz"
    with pytest.raises(DownloadCancelled, match=r"download of .*/big.json.gz cancelled at byte \d+"):
        HttpClient(offline=True).download(url, dest, cancel)
    assert list(tmp_path.iterdir()) == []
    assert len(payer_web.gets("/big.json.gz")) == 1  # not resumed: cancelling is not a broken connection


def test_429_with_retry_after_seconds_then_success(payer_web):
    url = payer_web.serve("/rate.json", Route(b"{}", fail_first=1, fail_status=429, retry_after="1"))
    with client().get(url) as response:
        assert response.content == b"{}"
    first, second = payer_web.gets("/rate.json")
    assert (first.status, second.status) == (429, 200)
    # backoff is 0, so only Retry-After can explain a gap: a lower bound cannot flake.
    assert second.at - first.at >= 0.9


def test_503_twice_then_success(tmp_path, payer_web):
    url = payer_web.serve("/busy.json.gz", Route(b"\x1f\x8bdata", fail_first=2, fail_status=503))
    assert client(backoff=0.01).download(url, tmp_path / "busy").read_bytes() == b"\x1f\x8bdata"
    assert [e.status for e in payer_web.gets("/busy.json.gz")] == [503, 503, 200]


def test_503_beyond_the_retries_fails_with_the_status(payer_web):
    url = payer_web.serve("/down.json", Route(b"{}", fail_first=9, fail_status=503))
    with pytest.raises(requests.HTTPError, match=r"^HTTP 503 for http://127\.0\.0\.1:\d+/down\.json$"):
        client(retries=1).get(url)
    assert len(payer_web.gets("/down.json")) == 2


@pytest.mark.parametrize("retry_after", ["3600", "date"])
def test_too_long_retry_after_fails_fast(payer_web, retry_after):
    if retry_after == "date":
        retry_after = email.utils.formatdate(time.time() + 3600, usegmt=True)
    url = payer_web.serve("/slow.json", Route(b"{}", fail_first=5, fail_status=429, retry_after=retry_after))
    started = time.monotonic()
    with pytest.raises(requests.HTTPError, match=r"HTTP 429 for .*Retry-After.*max_retry_after=120"):
        client(max_retry_after=120).get(url)
    assert time.monotonic() - started < 10
    assert len(payer_web.gets("/slow.json")) == 1


def test_user_agent_gate(tmp_path, payer_web):
    agent = "mrf-platform/1.0 (+mailto:data@example.org)"
    url = payer_web.serve("/gated.json", Route(b"{}", require_headers={"User-Agent": agent}))
    with pytest.raises(requests.HTTPError, match="HTTP 403"):
        client().download(url, tmp_path / "denied")
    assert client(headers={"User-Agent": agent}).download(url, tmp_path / "ok").read_bytes() == b"{}"
    assert [e.headers.get("User-Agent") == agent for e in payer_web.gets("/gated.json")] == [False, True]


def test_offline_mode_refuses_remote_hosts_without_dns(tmp_path, monkeypatch):
    lookups = []

    def no_dns(*args, **kwargs):
        lookups.append(args)
        raise AssertionError("DNS lookup in offline mode")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "gethostbyname", no_dns)
    url = "https://mrf.payer.example.com/in-network.json.gz" + SIGNED
    with pytest.raises(OfflineError, match="offline mode") as refused:
        client().get(url)
    assert_no_secret(str(refused.value))
    with pytest.raises(OfflineError):
        client().download(url, tmp_path / "x")
    with pytest.raises(OfflineError, match="proxy host proxy.corp.example"):
        client(proxy="http://proxy.corp.example:3128").get("http://127.0.0.1:9/x.json")
    assert lookups == []


def test_signed_query_strings_stay_out_of_errors_and_logs(tmp_path, payer_web, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []

    def failing(call):
        with pytest.raises(Exception) as info:
            call()
        errors.append(info.value)

    # Retries, resumptions and successes: urllib3 logs every request URL at debug level.
    busy = payer_web.serve("/busy.json", Route(b"{}", fail_first=1, fail_status=503)) + SIGNED
    client().get(busy).close()
    big = payer_web.serve("/big.json", Route(payload(300_000), drop_after=100_000, etag='"b"')) + SIGNED
    client().download(big, tmp_path / "big")
    # Failures of every kind.
    failing(lambda: client().get(payer_web.url("/missing.json") + SIGNED))
    failing(lambda: client().get(payer_web.serve("/wait.json", Route(fail_first=9, fail_status=429,
                                                                      retry_after="999"))))
    flaky = payer_web.serve("/flaky.json", Route(payload(MB), drop_after=1000, drop_times=9, etag='"f"'))
    failing(lambda: client(retries=1).download(flaky + SIGNED, tmp_path / "flaky"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    failing(lambda: client(retries=1).get(f"http://127.0.0.1:{closed_port}/x.json" + SIGNED))
    failing(lambda: client(retries=0).download(f"http://127.0.0.1:{closed_port}/x.json" + SIGNED, tmp_path / "c"))

    assert len(errors) == 5
    assert any("Max retries exceeded" in str(e) for e in errors)  # the message kept its substance
    for error in errors:
        assert_no_secret("".join(traceback.format_exception(error)))
    messages = [r.getMessage() for r in caplog.records]
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert any("REDACTED" in m for m in messages if "resuming" in m)
    for message in messages:
        assert_no_secret(message)


def test_http_proxy_is_used(tmp_path, payer_web):
    body = payload(MB)
    url = payer_web.serve("/via-proxy.json", Route(body, drop_after=200_000, etag='"p"'))
    with ForwardProxy() as proxy:
        assert client(proxy=proxy.url).download(url, tmp_path / "p").read_bytes() == body
    assert [(m, target) for m, target, _ in proxy.requests] == [("GET", url), ("GET", url)]
    assert proxy.requests[1][2].get("Range") == "bytes=200000-"
    assert [e.status for e in payer_web.gets("/via-proxy.json")] == [200, 206]


def test_https_goes_through_the_same_proxy(payer_web):
    port = payer_web.server.server_address[1]
    with ForwardProxy() as proxy:
        with pytest.raises(requests.exceptions.ProxyError):
            client(proxy=proxy.url, retries=0).get(f"https://127.0.0.1:{port}/secure.json")
    assert [(m, target) for m, target, _ in proxy.requests] == [("CONNECT", f"127.0.0.1:{port}")]


def test_payer_web_ranges_head_and_if_range(payer_web):
    body = bytes(range(256)) * 4
    url = payer_web.serve("/r.bin", Route(body, etag='"r1"', last_modified="Wed, 01 Jan 2025 00:00:00 GMT"))
    head = requests.head(url)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "1024", b"")
    assert head.headers["ETag"] == '"r1"' and head.headers["Accept-Ranges"] == "bytes"
    part = requests.get(url, headers={"Range": "bytes=1000-"})
    assert (part.status_code, part.headers["Content-Range"], part.content) == (206, "bytes 1000-1023/1024", body[1000:])
    assert requests.get(url, headers={"Range": "bytes=-4"}).content == body[-4:]
    assert requests.get(url, headers={"Range": "bytes=5-", "If-Range": '"r0"'}).status_code == 200
    assert requests.get(url, headers={"Range": "bytes=5-", "If-Range": 'W/"r1"'}).status_code == 200
    assert requests.get(url, headers={"Range": "bytes=5-9", "If-Range": '"r1"'}).content == body[5:10]
    gone = requests.get(url, headers={"Range": "bytes=2000-"})
    assert (gone.status_code, gone.headers["Content-Range"]) == (416, "bytes */1024")
    with PayerWeb() as other:
        plain = other.serve("/p", Route(body, no_range=True))
        assert requests.get(plain, headers={"Range": "bytes=0-9"}).content == body


def test_a_host_that_stops_answering_is_not_asked_again_in_the_run(payer_web):
    """CareFirst's files list 370 remote references on one host: down, each would spend every retry and
    connect timeout on it. After `silent_host_after` unanswered requests the host is skipped at once."""
    accepted = []
    with socket.create_server(("127.0.0.1", 0)) as dead:
        def hang_up() -> None:  # accepts and closes without a word, as a dying load balancer does
            while True:
                try:
                    conn, _ = dead.accept()
                except OSError:
                    return
                accepted.append(conn.getpeername())
                conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        base = f"http://127.0.0.1:{dead.getsockname()[1]}"
        http = client(retries=1, silent_host_after=2)
        for n in range(2):
            with pytest.raises(requests.ConnectionError):
                http.get(f"{base}/refs/{n}.json")
        assert len(accepted) == 4  # each request, retried once
        with pytest.raises(requests.ConnectionError, match="did not answer 2 requests in a row"):
            http.get(f"{base}/refs/2.json")
        assert len(accepted) == 4
        # other hosts are still asked
        assert http.get(payer_web.add("/ok.json", b"{}")).content == b"{}"


def test_an_error_status_is_an_answer_not_silence(payer_web):
    url = payer_web.serve("/flaky.json", Route(b"{}", fail_first=1, fail_status=503))
    http = client(retries=0, silent_host_after=1)
    with pytest.raises(requests.HTTPError):
        http.get(url)  # a 503 is an answer: the host is up
    assert http.get(url).content == b"{}"
