"""The console's API client against a real server on loopback: same answers, errors, token, paging."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from console.ui.api_client import ApiError, ServerUnreachable, WatchfloorClient
from store.model import LogRecord
from tests.console.test_slo_api import AVAILABILITY
from tests.console.test_traces_api import MS, NOW_S, T0, A, B, play
from tests.support.ports import free_port
from tests.support.server import RunningServer

TOKEN = "s3cret-t0ken-for-writes"
NOW_MS = int(NOW_S * 1000)
HOUR_AGO = NOW_MS - 3_600_000
LOG_COUNT = 23


def log(n: int) -> LogRecord:
    level = "error" if n % 5 == 0 else "info"
    trace = A if n % 2 else B
    return LogRecord(T0 + n * 1_000 * MS, level, f"request {n} served", "playback", trace, "", {"n": n})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = RunningServer(tmp_path_factory.mktemp("api-client"), clock=lambda: NOW_S, api_token=TOKEN)
    running.store.write_spans(play(A, 3, drm_error=True) + play(B, 4, start=1_000))
    running.store.write_logs([log(n) for n in range(LOG_COUNT)])
    stamps = [NOW_MS - 60_000 * k for k in range(30, 0, -1)]
    running.store.write_point_columns([{"name": "up", "nf.app": "drm"}] * 30, stamps, [1.0] * 30)
    yield running
    running.stop()


@pytest.fixture
def client(server):
    with WatchfloorClient(server.url, token=TOKEN) as made:
        yield made


@pytest.fixture
def anonymous(server):
    with WatchfloorClient(server.url) as made:
        yield made


# (method, args, kwargs, the path and query the same figures come from)
READS = [
    ("health", (), {}, "/healthz", {}),
    ("targets", (), {}, "/api/v1/targets", {}),
    ("series", ("name,up,:eq",), {"start": HOUR_AGO, "end": NOW_MS}, "/api/v1/series", {}),
    ("graph", ("name,up,:eq",), {"s": "e-1h"}, "/api/v1/graph", {"q": "name,up,:eq", "s": "e-1h"}),
    ("tag_keys", (), {}, "/api/v1/tags", {}),
    ("tag_values", ("name",), {}, "/api/v1/tags/name", {}),
    ("exemplars", ("name,span.duration,:eq",), {}, "/api/v1/exemplars", {"q": "name,span.duration,:eq"}),
    ("trace_search", (), {"service": "cdn"}, "/api/v1/traces", {"service": "cdn"}),
    (
        "trace_search",
        (),
        {"attrs": {"host.name": "node-1"}, "sort": "duration", "limit": 1, "min_duration_ms": 27},
        "/api/v1/traces",
        {"attr": "host.name=node-1", "sort": "duration", "limit": 1, "min_duration_ms": 27},
    ),
    ("trace", (A,), {}, f"/api/v1/traces/{A}", {}),
    ("compare_traces", (A, B), {}, f"/api/v1/traces/{A}/compare/{B}", {}),
    ("dependencies", (), {}, "/api/v1/dependencies", {}),
    ("services", (), {}, "/api/v1/services", {}),
    ("operations", ("cdn",), {}, "/api/v1/services/cdn/operations", {}),
    (
        "spans",
        (),
        {"service": "drm", "status": "error"},
        "/api/v1/spans",
        {"service": "drm", "status": "error"},
    ),
    ("logs", (), {"level": "error", "trace_id": B}, "/api/v1/logs", {"level": "error", "trace_id": B}),
    ("slos", (), {}, "/api/v1/slos", {}),
    ("alerts", (), {"state": "firing", "labels": {"slo": "x"}}, "/api/v1/alerts", {"state": "firing"}),
    ("silences", (), {}, "/api/v1/silences", {}),
    ("notifications", (), {"limit": 5}, "/api/v1/notifications", {"limit": 5}),
    ("annotations", (), {"service": "drm"}, "/api/v1/annotations", {"service": "drm"}),
    ("canary_analyses", (), {}, "/api/v1/canary/analyses", {}),
    ("canary_configs", (), {"application": ["drm"]}, "/canaryConfig", {"application": "drm"}),
    ("alert_rules", (), {}, "/api/v1/alert-rules", {}),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "path", "params"), READS, ids=[r[0] for r in READS])
def test_each_read_answers_what_the_api_answers(client, server, method, args, kwargs, path, params):
    if method == "series":
        params = {"q": args[0], **kwargs}
    got = getattr(client, method)(*args, **kwargs)
    assert got == httpx.get(f"{server.url}{path}", params=params).raise_for_status().json()


def test_the_reads_find_the_seeded_figures(client):
    assert [t["trace_id"] for t in client.trace_search(service="cdn")["traces"]] == [B, A]
    assert [t["trace_id"] for t in client.trace_search(status="error")["traces"]] == [A]
    assert {s["name"] for s in client.services()["services"]} == {"playback", "drm", "cdn"}
    up = client.series("name,up,:eq", start=HOUR_AGO, end=NOW_MS)["series"]
    assert [(s["tags"]["nf.app"], [v for v in s["values"] if v is not None]) for s in up] == [
        ("drm", [1.0] * 30)
    ]
    assert client.tag_values("nf.app") == ["drm"]
    errors = client.logs(level="error")["logs"]
    assert len(errors) == len([n for n in range(LOG_COUNT) if n % 5 == 0])
    assert client.spans(service="drm", status="error")["spans"][0]["trace_id"] == A
    # An aware datetime is sent as epoch milliseconds, the same range as the number.
    as_datetime = datetime.fromtimestamp(HOUR_AGO / 1000, tz=UTC)
    assert client.dependencies(start=as_datetime) == client.dependencies(start=HOUR_AGO)


def test_paging_through_the_logs_gives_every_record_once(client):
    pages = list(client.iter_pages(client.logs, limit=5))
    seen = [record["message"] for page in pages for record in page["logs"]]
    assert sorted(seen) == sorted(f"request {n} served" for n in range(LOG_COUNT))
    assert len(pages) == 5 and pages[-1]["next_cursor"] is None
    bounded = list(client.iter_pages(client.logs, limit=5, max_pages=2))
    assert len(bounded) == 2 and bounded[-1]["next_cursor"] is not None


def test_a_write_with_the_token_succeeds_and_without_it_is_refused(client, anonymous):
    made = client.create_annotation({"kind": "deploy", "service": "drm", "summary": "v2", "time": NOW_MS})
    assert made["service"] == "drm" and made in client.annotations(service="drm")["annotations"]
    with pytest.raises(ApiError) as refused:
        anonymous.create_annotation({"service": "drm", "summary": "sneaky"})
    assert refused.value.status == 401
    assert refused.value.problems == [("authorization", "a bearer token is required")]
    assert "a bearer token is required" in str(refused.value)
    with WatchfloorClient(client.base_url, token="wrong") as wrong, pytest.raises(ApiError) as bad:
        wrong.ack_alert("0" * 16, by="me")
    assert bad.value.reason_for("authorization") == "the bearer token is not valid"


def test_silences_are_created_listed_and_expired(client):
    starts = datetime.fromtimestamp(NOW_S, tz=UTC)
    made = client.create_silence(
        {"service": "drm"},
        created_by="ops",
        comment="maintenance",
        starts_at=starts,
        duration=timedelta(hours=1),
    )
    silence_id = made["silenceID"]
    assert made["silence"]["endsAt"] == "2027-01-15T09:00:00.000Z"  # the server's now and an hour
    assert client.silence(silence_id)["status"]["state"] == "active"
    assert [s["id"] for s in client.silences(state="active")["silences"]] == [silence_id]
    assert client.expire_silence(silence_id)["status"]["state"] == "expired"
    with pytest.raises(ApiError) as past:
        client.create_silence({"service": "drm"}, created_by="ops", comment="late", ends_at=NOW_MS - 1)
    assert past.value.status == 400 and past.value.reason_for("endsAt") == "must be after startsAt"
    with pytest.raises(ValueError, match="exactly one"):
        client.create_silence({"service": "drm"}, created_by="ops", comment="x")


def test_an_slo_put_read_and_deleted(client):
    assert client.put_slo("checkout", AVAILABILITY)["created"] is True
    assert "name: checkout" in client.slo_definition("checkout")
    detail = client.slo("checkout", points=10)
    assert detail["name"] == "checkout"
    assert "checkout" in [s["name"] for s in client.slos(service="shop")["slos"]]
    client.delete_slo("checkout")
    with pytest.raises(ApiError) as gone:
        client.slo("checkout")
    assert gone.value.status == 404 and gone.value.problems == [("name", "no SLO named 'checkout'")]


def test_bad_input_becomes_an_api_error_naming_the_field(client):
    with pytest.raises(ApiError) as bad:
        client.logs(trace_id="not-hex")
    assert bad.value.status == 400
    assert bad.value.problems == [("trace_id", "must be 32 hexadecimal characters")]
    assert str(bad.value) == "HTTP 400: trace_id: must be 32 hexadecimal characters"
    with pytest.raises(ApiError) as unknown:
        client.operations("nobody")
    assert unknown.value.status == 400 and unknown.value.problems[0][0] == "service"
    with pytest.raises(ApiError) as too_small:
        client.series("name,up,:eq", step=10)
    assert too_small.value.status == 422 and too_small.value.problems[0][0] == "step"


def test_missing_things_are_404s(client):
    for call, field in [
        (lambda: client.alert("f" * 16), "fingerprint"),
        (lambda: client.ack_alert("f" * 16, by="me"), "fingerprint"),
        (lambda: client.canary_verdict("nope"), "id"),
        (lambda: client.standalone_analysis("nope"), "id"),
        (lambda: client.canary_execution("nope"), "id"),
        (lambda: client.trace("ab" * 16), "trace_id"),
    ]:
        with pytest.raises(ApiError) as missing:
            call()
        assert missing.value.status == 404 and missing.value.problems[0][0] == field, missing.value


def test_an_answer_in_another_shape_keeps_its_text_truncated():
    page = "<html><body>" + "Bad gateway. " * 100 + "</body></html>"

    def gateway(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/canary/x":
            return httpx.Response(400, json={"message": "scope missing"})
        return httpx.Response(502, text=page)

    with WatchfloorClient("http://console.test", transport=httpx.MockTransport(gateway)) as proxied:
        with pytest.raises(ApiError) as html:
            proxied.health()
        assert html.value.status == 502 and html.value.problems == []
        assert html.value.detail.startswith("<html><body>Bad gateway.") and len(str(html.value)) <= 300
        with pytest.raises(ApiError) as kayenta:
            proxied.canary_execution("x")
        assert str(kayenta.value) == "HTTP 400: scope missing"


def test_a_closed_port_or_a_timeout_is_server_unreachable():
    url = f"http://127.0.0.1:{free_port()}"
    with WatchfloorClient(url, token=TOKEN, timeout_s=2) as nobody, pytest.raises(ServerUnreachable) as down:
        nobody.health()
    assert down.value.url == url and url in str(down.value) and len(str(down.value)) < 300

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    stuck = WatchfloorClient(url, timeout_s=2, transport=httpx.MockTransport(slow))
    with stuck, pytest.raises(ServerUnreachable, match="no answer within 2 s"):
        stuck.logs()


def test_the_token_goes_on_writes_only_and_never_shows(client, caplog):
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(401, json={"detail": "nope", "errors": []})

    with WatchfloorClient("http://user:pw@proxy.test") as behind_proxy:
        shown = [repr(behind_proxy), behind_proxy.base_url]  # a URL's password stays out of sight too
    with WatchfloorClient("http://console.test", token=TOKEN, transport=httpx.MockTransport(record)) as c:
        shown += [repr(c), str(c), c.base_url]
        for call in (c.health, lambda: c.ack_alert("x", by="me")):
            with pytest.raises(ApiError) as refused:
                call()
            shown += [str(refused.value), repr(refused.value)]
    assert [r.headers.get("authorization") for r in sent] == [None, f"Bearer {TOKEN}"]
    caplog.set_level(logging.DEBUG)
    with WatchfloorClient(f"http://127.0.0.1:{free_port()}", token=TOKEN) as down:
        with pytest.raises(ServerUnreachable) as unreachable:
            down.create_annotation({"service": "drm", "summary": "x"})
        shown += [str(unreachable.value), repr(unreachable.value), repr(down)]
    with pytest.raises(ApiError) as refused_write:
        client.ack_alert("f" * 16, by="me")
    shown += [str(refused_write.value), repr(refused_write.value), repr(client), caplog.text]
    assert not [text for text in shown if TOKEN in text or "pw@" in text]
    assert repr(client) == f"WatchfloorClient({client.base_url!r}, token=***)"
