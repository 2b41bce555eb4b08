"""Log intake answers like Elasticsearch's _bulk: per-item results in order, whole-body 400s."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from starlette.applications import Starlette

from collectors.bulk_intake import BulkIntake, ecs_get
from store.interfaces import LogSearch
from tests.collectors.asgi import call_asgi, started_queue
from tests.support.polling import eventually
from tests.support.server import RunningServer

NDJSON = {"content-type": "application/x-ndjson"}


def _bulk(lines: list[Any]) -> str:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def _logs(server, **params) -> list[dict]:
    return httpx.get(f"{server.url}/api/v1/logs", params=params).json()["logs"]


def test_product_information_and_header_say_elasticsearch(server):
    answer = httpx.get(f"{server.url}/")
    assert answer.headers["x-elastic-product"] == "Elasticsearch"
    assert answer.json()["version"]["number"].startswith("8.")


def test_dotted_and_nested_ecs_documents_are_stored_and_answered_in_order(server):
    body = _bulk(
        [
            {"create": {"_index": "logs-drm-demo"}},
            {
                "@timestamp": "2026-11-23T10:00:00.000Z",
                "log.level": "ERROR",
                "message": "license failed",
                "service.name": "drm",
                "trace.id": "4BF92F3577B34DA6A3CE929D0E0E4736",
                "span.id": "00f067aa0ba902b7",
            },
            {"index": {"_index": "logs-cdn-demo", "_id": "fixed-id"}},
            {
                "@timestamp": "2026-11-23T10:00:01+00:00",
                "log": {"level": "info"},
                "message": "cache miss",
                "service": {"name": "cdn"},
            },
            {"create": {"_index": "logs-cdn-demo"}},
            {"@timestamp": 1795428002000, "message": "epoch millis", "service": {"name": "cdn"}},
        ]
    )
    answer = httpx.post(f"{server.url}/_bulk", content=body, headers=NDJSON)
    assert answer.status_code == 200
    assert answer.headers["x-elastic-product"] == "Elasticsearch"
    result = answer.json()
    assert result["errors"] is False
    assert [next(iter(i)) for i in result["items"]] == ["create", "index", "create"]
    assert [i[next(iter(i))]["status"] for i in result["items"]] == [201, 201, 201]
    assert result["items"][1]["index"]["_id"] == "fixed-id"
    [drm] = _logs(server, service="drm")
    assert (drm["level"], drm["message"], drm["trace_id"]) == (
        "error",
        "license failed",
        "4bf92f3577b34da6a3ce929d0e0e4736",
    )
    assert drm["index"] == "logs-drm-demo"
    assert {r["message"] for r in _logs(server, service="cdn")} == {"cache miss", "epoch millis"}
    assert _logs(server, trace_id="4bf92f3577b34da6a3ce929d0e0e4736")[0]["span_id"] == "00f067aa0ba902b7"


def test_a_bad_document_fails_only_its_own_item(server):
    good = {"@timestamp": "2026-11-23T10:00:00Z", "message": "fine", "service.name": "cdn"}
    body = _bulk(
        [
            {"create": {}},
            good,
            {"create": {}},
            "{not json",
            {"create": {}},
            {"message": "no timestamp"},
            {"create": {}},
            {"@timestamp": "yesterday", "message": "bad timestamp"},
            {"create": {}},
            ["an", "array"],
            {"delete": {"_id": "x"}},
            {"create": {}},
            good,
        ]
    )
    answer = httpx.post(f"{server.url}/logs-cdn-demo/_bulk", content=body, headers=NDJSON).json()
    assert answer["errors"] is True
    statuses = [next(iter(i.values()))["status"] for i in answer["items"]]
    assert statuses == [201, 400, 400, 400, 400, 400, 201]
    reasons = [next(iter(i.values())).get("error", {}).get("reason", "") for i in answer["items"]]
    assert "not valid JSON" in reasons[1]
    assert "@timestamp" in reasons[2] and "@timestamp" in reasons[3]
    assert "not supported" in reasons[5]
    assert [r["message"] for r in _logs(server, service="cdn")] == ["fine", "fine"]


@pytest.mark.parametrize(
    ("case", "body", "reason"),
    [
        ("a body without the final newline", '{"create":{"_index":"x"}}\n{"a":1}', "terminated by a newline"),
        ("a malformed action line", "not json\n{}\n", "Malformed action"),
        ("an unknown action", '{"upsert":{"_index":"x"}}\n{}\n', "unknown action"),
        (
            "an action without an index",
            '{"create":{}}\n{"@timestamp":"2026-01-01T00:00:00Z"}\n',
            "index is missing",
        ),
        ("a source line missing at the end", '{"create":{"_index":"x"}}\n', "source line is missing"),
        ("an empty body", "", "body is required"),
    ],
)
def test_a_malformed_body_fails_the_whole_request_with_400(server, case, body, reason):
    answer = httpx.post(f"{server.url}/_bulk", content=body, headers=NDJSON)
    assert answer.status_code == 400, case
    assert answer.headers["x-elastic-product"] == "Elasticsearch"
    assert reason in answer.json()["error"]["reason"], case
    assert _logs(server) == []


def test_a_full_write_queue_answers_429_with_retry_after_and_keeps_what_it_accepted(tmp_path):
    running = RunningServer(tmp_path / "small", write_queue_capacity=2)
    try:
        doc = {"@timestamp": "2026-11-23T10:00:00Z", "message": "m"}
        url = f"{running.url}/_bulk"
        accepted: list[httpx.Response] = []
        # Hold the store's write lock: the writer stalls and the first request's documents stay queued.
        with running.store._write_lock:
            first = threading.Thread(
                target=lambda: accepted.append(
                    httpx.post(
                        url, headers=NDJSON, content=_bulk([{"create": {"_index": "l"}}, doc] * 2), timeout=30
                    )
                )
            )
            first.start()
            eventually(lambda: running.server.write_queue._pending == 2, what="the first request queued")
            answer = httpx.post(url, headers=NDJSON, content=_bulk([{"create": {"_index": "l"}}, doc]))
            assert answer.status_code == 429
            assert answer.json()["error"]["type"] == "es_rejected_execution_exception"
            assert int(answer.headers["retry-after"]) >= 1
        first.join(30)
        assert accepted[0].status_code == 200 and not accepted[0].json()["errors"]
        assert len(_logs(running)) == 2
    finally:
        running.stop()


def test_one_request_larger_than_the_whole_queue_is_still_taken_when_the_queue_is_empty(tmp_path):
    running = RunningServer(tmp_path / "small", write_queue_capacity=2)
    try:
        doc = {"@timestamp": "2026-11-23T10:00:00Z", "message": "m"}
        body = _bulk([{"create": {"_index": "l"}}, doc] * 5)
        answer = httpx.post(f"{running.url}/_bulk", headers=NDJSON, content=body)
        assert answer.status_code == 200  # refusing it would make the client retry forever
        assert len(_logs(running)) == 5
    finally:
        running.stop()


def test_the_official_elasticsearch_client_ships_to_the_intake(server):
    client = Elasticsearch(server.url)
    result = client.bulk(
        operations=[
            {"create": {"_index": "logs-playback-demo"}},
            {
                "@timestamp": "2026-11-23T10:00:00Z",
                "message": "from the official client",
                "service.name": "playback",
            },
        ]
    )
    assert result["errors"] is False
    assert _logs(server, service="playback")[0]["message"] == "from the official client"
    client.close()


def test_writes_need_the_bearer_token_when_one_is_configured(tmp_path):
    running = RunningServer(tmp_path / "guarded", api_token="t0ken")
    try:
        body = _bulk([{"create": {"_index": "l"}}, {"@timestamp": "2026-11-23T10:00:00Z", "message": "m"}])
        refused = httpx.post(f"{running.url}/_bulk", content=body, headers=NDJSON)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["field"] == "authorization"
        wrong = httpx.post(
            f"{running.url}/_bulk", content=body, headers={**NDJSON, "Authorization": "Bearer x"}
        )
        assert wrong.status_code == 401
        ok = httpx.post(
            f"{running.url}/_bulk", content=body, headers={**NDJSON, "Authorization": "Bearer t0ken"}
        )
        assert ok.status_code == 200
        assert httpx.get(f"{running.url}/healthz").status_code == 200  # reads stay open
        config = httpx.get(f"{running.url}/api/v1/config").json()
        assert config["api_token"] == "***" and "t0ken" not in json.dumps(config)
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("document", "path", "value"),
    [
        ({"log.level": "warn"}, "log.level", "warn"),
        ({"log": {"level": "warn"}}, "log.level", "warn"),
        ({"service": {"node.name": "n1"}}, "service.node.name", "n1"),
        ({"service.node": {"name": "n2"}}, "service.node.name", "n2"),
        ({"service": {"name": "x"}}, "service.version", None),
    ],
)
def test_ecs_fields_are_read_dotted_nested_or_mixed(document, path, value):
    assert ecs_get(document, path) == value


@pytest.mark.parametrize(
    "timestamp",
    [
        "1e400",  # an infinite float to json.loads
        "NaN",
        "-Infinity",
        "1e300",
        "99999999999999999999999",
        '"9999-12-31T23:59:59Z"',
        '"0001-01-01T00:00:00+01:00"',
        '"1000-01-01T00:00:00Z"',
        '"2262-04-12T00:00:00Z"',
    ],
)
def test_a_timestamp_the_store_cannot_hold_fails_only_its_own_item(server, timestamp):
    good = {"@timestamp": "2026-11-23T10:00:00Z", "message": "fine", "service.name": "cdn"}
    bad = '{"@timestamp": ' + timestamp + ', "message": "bad", "service.name": "cdn"}'
    body = _bulk([{"create": {}}, good, {"create": {}}, bad, {"create": {}}, good])
    answer = httpx.post(f"{server.url}/logs-cdn-demo/_bulk", content=body, headers=NDJSON)
    assert answer.status_code == 200
    items = [next(iter(i.values())) for i in answer.json()["items"]]
    assert [i["status"] for i in items] == [201, 400, 201]
    assert items[1]["error"]["type"] == "document_parsing_exception"
    assert "@timestamp" in items[1]["error"]["reason"]
    assert [r["message"] for r in _logs(server, service="cdn")] == ["fine", "fine"]


def test_the_edges_of_the_storable_range_are_taken(server):
    body = _bulk(
        [
            {"create": {}},
            {"@timestamp": "1677-09-21T00:12:44Z", "message": "earliest", "service.name": "edge"},
            {"create": {}},
            {"@timestamp": "2262-04-11T23:47:16Z", "message": "latest", "service.name": "edge"},
        ]
    )
    answer = httpx.post(f"{server.url}/logs/_bulk", content=body, headers=NDJSON)
    assert answer.json()["errors"] is False


def test_lone_surrogates_are_replaced_rather_than_failing_the_commit(server):
    body = (
        '{"create": {"_index": "logs-\\ud800"}}\n'
        '{"@timestamp": "2026-11-23T10:00:00Z", "message": "bad \\ud800 text", "service.name": "s\\udfff",'
        ' "k\\udc00": ["v\\ud800"]}\n'
    )
    answer = httpx.post(f"{server.url}/_bulk", content=body, headers=NDJSON)
    assert answer.status_code == 200 and answer.json()["errors"] is False
    assert answer.json()["items"][0]["create"]["_index"] == "logs-\ufffd"
    [record] = server.store.search_logs(LogSearch(limit=10))
    assert (record.message, record.service, record.index) == ("bad \ufffd text", "s\ufffd", "logs-\ufffd")
    assert record.document["k\ufffd"] == ["v\ufffd"]


def test_a_document_nested_too_deeply_fails_only_its_own_item(server):
    good = {"@timestamp": "2026-11-23T10:00:00Z", "message": "fine"}
    deep = '{"@timestamp": "2026-11-23T10:00:00Z", "a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = httpx.post(
        f"{server.url}/logs/_bulk",
        content=_bulk([{"create": {}}, deep, {"create": {}}, good]),
        headers=NDJSON,
    )
    assert answer.status_code == 200
    items = [next(iter(i.values())) for i in answer.json()["items"]]
    assert [i["status"] for i in items] == [400, 201]
    assert "nested too deeply" in items[0]["error"]["reason"]


def test_an_action_line_nested_too_deeply_fails_the_whole_request_with_400(server):
    body = "[" * 100_000 + "]" * 100_000 + "\n{}\n"
    answer = httpx.post(f"{server.url}/_bulk", content=body, headers=NDJSON)
    assert answer.status_code == 400
    assert answer.headers["x-elastic-product"] == "Elasticsearch"
    assert "Malformed action" in answer.json()["error"]["reason"]


def test_a_failed_commit_answers_503_with_retry_after_as_elasticsearch_would(server):
    def broken(records):
        raise OSError("disk full")

    server.server.write_queue._writers["logs"] = broken
    body = _bulk([{"create": {"_index": "logs"}}, {"@timestamp": "2026-11-23T10:00:00Z", "message": "m"}])
    answer = httpx.post(f"{server.url}/_bulk", content=body, headers=NDJSON)
    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.headers["x-elastic-product"] == "Elasticsearch"
    error = answer.json()
    assert error["status"] == 503 and error["error"]["root_cause"][0]["type"] == error["error"]["type"]
    assert "retry" in error["error"]["reason"]


def test_a_streamed_body_over_the_limit_is_refused_without_reading_the_rest(tmp_path):
    chunks = [b"x" * 1_000] * 1_000  # 1 MB, chunked: no Content-Length to go by
    with started_queue(tmp_path) as (queue, registry):
        app = Starlette(routes=BulkIntake(queue, registry, max_body_bytes=10_000).routes())
        status, body, taken = asyncio.run(call_asgi(app, "/_bulk", chunks, NDJSON))
    assert status == 413
    assert json.loads(body)["error"]["type"] == "content_too_long_exception"
    assert taken == 11  # the chunk that passed the limit was the last one read


def test_a_declared_length_over_the_limit_is_refused_before_reading_anything(tmp_path):
    with started_queue(tmp_path) as (queue, registry):
        app = Starlette(routes=BulkIntake(queue, registry, max_body_bytes=10_000).routes())
        status, _, taken = asyncio.run(call_asgi(app, "/_bulk", [b"x" * 100], NDJSON, declared=10_001))
    assert (status, taken) == (413, 0)


def test_a_body_within_the_limit_is_read_whole_from_its_chunks(tmp_path):
    body = _bulk(
        [{"create": {"_index": "logs"}}, {"@timestamp": "2026-11-23T10:00:00Z", "message": "m"}] * 20
    )
    chunks = [body[n : n + 7].encode() for n in range(0, len(body), 7)]
    with started_queue(tmp_path) as (queue, registry):
        app = Starlette(routes=BulkIntake(queue, registry, max_body_bytes=len(body)).routes())
        status, answer, taken = asyncio.run(call_asgi(app, "/_bulk", chunks, NDJSON))
    assert (status, taken) == (200, len(chunks))
    assert json.loads(answer)["errors"] is False
