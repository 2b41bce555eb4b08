"""The _bulk shipper delivers everything once, retries while Elasticsearch is down, counts drops."""

from __future__ import annotations

import json
import socket

import pytest
from prometheus_client import CollectorRegistry

from tests.support.polling import eventually
from tracing.log_shipper import BulkLogShipper, bulk_body


def _shipper(url: str, registry: CollectorRegistry, **options) -> BulkLogShipper:
    options.setdefault("flush_interval_s", 0.05)
    options.setdefault("max_backoff_s", 0.2)
    shipper = BulkLogShipper(url, index="logs-test-demo", registry=registry, **options)
    shipper.start()
    return shipper


def _count(registry: CollectorRegistry, result: str) -> float:
    return registry.get_sample_value("log_shipper_documents_total", {"result": result}) or 0.0


def _docs(n: int, start: int = 0) -> list[dict]:
    return [
        {"@timestamp": "2026-11-23T10:00:00.000Z", "message": f"line {i}", "seq": i}
        for i in range(start, start + n)
    ]


def test_the_bulk_body_is_create_actions_with_a_final_newline():
    body = bulk_body([{"message": "a"}, {"message": "b"}], "logs-x").decode()
    assert body.endswith("\n")
    lines = body.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"create": {"_index": "logs-x"}},
        {"message": "a"},
        {"create": {"_index": "logs-x"}},
        {"message": "b"},
    ]


def test_every_document_is_delivered_once_in_order(es_fake):
    fake, url = es_fake
    registry = CollectorRegistry()
    shipper = _shipper(f"{url}/_bulk", registry, batch_size=7)
    for document in _docs(40):
        shipper.offer(document)
    eventually(lambda: _count(registry, "shipped") == 40, what="40 shipped")
    shipper.close()
    assert [d["seq"] for d in fake.documents("logs-test-demo")] == list(range(40))
    assert _count(registry, "dropped") == 0


def test_an_unavailable_cluster_is_retried_until_it_comes_back(es_fake):
    fake, url = es_fake
    fake.unavailable = True
    registry = CollectorRegistry()
    shipper = _shipper(f"{url}/_bulk", registry)
    for document in _docs(25):
        shipper.offer(document)
    eventually(lambda: (registry.get_sample_value("log_shipper_retries_total") or 0) >= 3, what="retries")
    assert fake.documents() == []
    fake.unavailable = False
    eventually(lambda: _count(registry, "shipped") == 25, what="delivery after recovery")
    shipper.close()
    assert sorted(d["seq"] for d in fake.documents()) == list(range(25))
    assert _count(registry, "dropped") == 0


def test_an_unreachable_destination_is_retried_and_leftovers_count_as_dropped_at_shutdown():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = CollectorRegistry()
    shipper = _shipper(f"http://127.0.0.1:{port}/_bulk", registry)
    for document in _docs(10):
        shipper.offer(document)
    eventually(lambda: (registry.get_sample_value("log_shipper_retries_total") or 0) >= 2, what="retries")
    shipper.close(timeout_s=0.2)
    assert _count(registry, "dropped") == 10
    assert _count(registry, "shipped") == 0


def test_a_full_buffer_drops_and_counts_without_blocking_the_caller(es_fake):
    fake, url = es_fake
    fake.unavailable = True
    registry = CollectorRegistry()
    shipper = _shipper(f"{url}/_bulk", registry, buffer_size=10, batch_size=5)
    for document in _docs(100):
        shipper.offer(document)  # returns at once even though nothing can be delivered
    dropped = _count(registry, "dropped")
    assert dropped >= 100 - 10 - 5  # at most a buffer and one batch in flight are held
    fake.unavailable = False
    eventually(lambda: _count(registry, "shipped") + dropped == 100, what="the held documents delivered")
    shipper.close()
    assert len(fake.documents()) == 100 - dropped


def test_throttled_items_are_retried_and_refused_items_are_counted_as_rejected(es_fake):
    fake, url = es_fake
    fake.throttle_next_items(3)
    fake.reject_if = lambda doc: "mapper_parsing: seq is not a date" if doc["seq"] == 4 else None
    registry = CollectorRegistry()
    shipper = _shipper(f"{url}/_bulk", registry, batch_size=10)
    for document in _docs(10):
        shipper.offer(document)
    eventually(lambda: _count(registry, "shipped") == 9, what="nine shipped")
    shipper.close()
    assert _count(registry, "rejected") == 1
    assert sorted(d["seq"] for d in fake.documents()) == [0, 1, 2, 3, 5, 6, 7, 8, 9]


@pytest.mark.parametrize(
    ("case", "body", "reason"),
    [
        (
            "a body without the final newline fails as a whole",
            '{"create":{}}\n{"a":1}',
            "terminated by a newline",
        ),
        ("a malformed action line fails as a whole", "not json\n{}\n", "Malformed action"),
        ("an action without an index fails as a whole", '{"create":{}}\n{"a":1}\n', "index is missing"),
    ],
)
def test_the_fake_refuses_malformed_bulk_bodies_like_elasticsearch(es_fake, case, body, reason):
    import httpx

    fake, url = es_fake
    answer = httpx.post(f"{url}/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
    assert answer.status_code == 400, case
    assert answer.headers["x-elastic-product"] == "Elasticsearch"
    assert reason in answer.json()["error"]["reason"], case
    assert fake.documents() == []
