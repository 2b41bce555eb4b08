"""Log intake answers like Elasticsearch's _bulk: per-item results in order, whole-body 400s."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from collectors.bulk_intake import ecs_get
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
