"""The Elasticsearch puller: the official client against the fake on loopback, a real store on disk.

What matters is the checkpoint: records and position commit together, so restarts and
failures between pages neither lose nor duplicate a document, ties at the checkpoint's
exact timestamp included. One class runs against a real cluster when
``WATCHFLOOR_TEST_ES_URL`` is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from prometheus_client import CollectorRegistry

from collectors.es_checkpoint import Checkpoint
from collectors.es_puller import ElasticsearchPuller, PullError
from store.duckdb_store import DuckDBStore
from store.interfaces import LogSearch
from store.model import LogRecord

# Read at import: the autouse fixture clears WATCHFLOOR_* variables before each test runs.
REAL_ES_URL = os.environ.get("WATCHFLOOR_TEST_ES_URL")
REAL_ES_API_KEY = os.environ.get("WATCHFLOOR_TEST_ES_API_KEY")
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


def _at(seconds_ago: float, micros: int = 0) -> str:
    """An ISO timestamp ``seconds_ago`` before NOW, with extra microseconds below the second."""
    moment = NOW - timedelta(seconds=seconds_ago) + timedelta(microseconds=micros)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _doc(name: str, timestamp: str, **fields: Any) -> dict[str, Any]:
    return {"@timestamp": timestamp, "message": name, "service.name": "catalog", **fields}


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "watchfloor.duckdb"


@pytest.fixture
def store(store_path: Path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(store_path)
    yield opened
    opened.close()


def _puller(
    store: DuckDBStore,
    url: str,
    *,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], float] | None = None,
    **options: Any,
) -> ElasticsearchPuller:
    options.setdefault("indices", ["logs-*"])
    return ElasticsearchPuller(
        store, registry or CollectorRegistry(), url=url, clock=clock or Clock(), **options
    )


def _records(store: DuckDBStore) -> list[LogRecord]:
    return store.search_logs(LogSearch(limit=100_000))


def _messages(store: DuckDBStore) -> Counter[str]:
    return Counter(r.message for r in _records(store))


def _count(registry: CollectorRegistry, name: str, index: str = "logs-*") -> float:
    return registry.get_sample_value(f"watchfloor_es_pull_{name}_total", {"index": index}) or 0.0


def _checkpoint(store: DuckDBStore, index: str = "logs-*") -> Checkpoint:
    return Checkpoint.from_json(store.checkpoint(f"es_pull:{index}"))


def test_dotted_and_nested_ecs_documents_are_stored_with_their_fields_lifted(es_fake, store):
    fake, url = es_fake
    fake.add_document(
        "logs-catalog",
        {
            "@timestamp": _at(120),
            "log.level": "ERROR",
            "message": "dotted",
            "service.name": "catalog",
            "trace.id": "4BF92F3577B34DA6A3CE929D0E0E4736",
            "span.id": "00F067AA0BA902B7",
        },
        doc_id="dotted-1",
    )
    fake.add_document(
        "logs-playback",
        {
            "@timestamp": _at(60),
            "log": {"level": "warn"},
            "message": "nested",
            "service": {"name": "playback"},
            "trace": {"id": "0af7651916cd43dd8448eb211c80319c"},
            "span": {"id": "b7ad6b7169203331"},
        },
        doc_id="nested-1",
    )
    registry = CollectorRegistry()

    assert _puller(store, url, registry=registry).pull_once() == 2

    by_message = {r.message: r for r in _records(store)}
    dotted, nested = by_message["dotted"], by_message["nested"]
    assert (dotted.level, dotted.service, dotted.index) == ("error", "catalog", "logs-catalog")
    assert (dotted.trace_id, dotted.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert (nested.level, nested.service, nested.index) == ("warn", "playback", "logs-playback")
    assert (nested.trace_id, nested.span_id) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert nested.document["log"] == {"level": "warn"}  # the document is kept whole
    assert _count(registry, "documents") == 2
    checkpoint = json.loads(store.checkpoint("es_pull:logs-*") or "")
    assert checkpoint == {
        "timestamp": _at(60).replace(".000000Z", ".000Z"),
        "ties": [["logs-playback", "nested-1"]],
    }


def test_pages_follow_the_newest_pit_id_and_close_the_pit(es_fake, store):
    fake, url = es_fake
    for n in range(25):  # five documents per timestamp: ties straddle page boundaries
        fake.add_document("logs-a", _doc(f"m{n}", _at(300 - n // 5)))

    assert _puller(store, url, page_size=4).pull_once() == 25

    assert _messages(store) == Counter(f"m{n}" for n in range(25))
    assert len(fake.searches) == 7  # six full pages, then one short one
    assert [s.newest_pit for s in fake.searches] == [True] * 7
    assert "search_after" not in fake.searches[0].body
    assert all(len(s.body["search_after"]) == 2 for s in fake.searches[1:])  # timestamp, _shard_doc
    assert (fake.pits.opened, fake.pits.closed, fake.open_pits()) == (1, 1, 0)


def test_a_restart_pulls_exactly_the_new_documents_including_ties_at_the_checkpoint(es_fake, store_path):
    fake, url = es_fake
    for name, timestamp in [("a1", _at(200)), ("a2", _at(200)), ("b1", _at(100, 250)), ("b2", _at(100, 250))]:
        fake.add_document("logs-a", _doc(name, timestamp))
    first = DuckDBStore(store_path)
    assert _puller(first, url, page_size=3).pull_once() == 4
    first.close()
    # Same millisecond as the checkpoint (the field's resolution), and later ones.
    fake.add_document("logs-a", _doc("b3", _at(100, 250)))
    fake.add_document("logs-b", _doc("b4", _at(100, 900)))
    fake.add_document("logs-a", _doc("c1", _at(50)))
    fake.add_document("logs-a", _doc("c2", _at(50)))

    reopened = DuckDBStore(store_path)
    try:
        assert _puller(reopened, url, page_size=3).pull_once() == 4
        assert _puller(reopened, url, page_size=3).pull_once() == 0
        assert _messages(reopened) == Counter(["a1", "a2", "b1", "b2", "b3", "b4", "c1", "c2"])
        assert _checkpoint(reopened).timestamp == _at(50).replace(".000000Z", ".000Z")
    finally:
        reopened.close()


def test_a_failure_between_pages_leaves_store_and_checkpoint_consistent(es_fake, store):
    fake, url = es_fake
    ids = {f"m{n}": fake.add_document("logs-a", _doc(f"m{n}", _at(100 - n // 2))) for n in range(10)}
    fake.fail_next_searches(1, after=1)  # the second page fails
    registry = CollectorRegistry()
    puller = _puller(store, url, registry=registry, page_size=3)

    with pytest.raises(PullError, match="HTTP 500 search_phase_execution_exception"):
        puller.pull_once()

    # The first page is stored with the position it leads to: m2, first of its timestamp.
    assert _messages(store) == Counter(["m0", "m1", "m2"])
    assert _checkpoint(store) == Checkpoint(
        _at(99).replace(".000000Z", ".000Z"), frozenset({("logs-a", ids["m2"])})
    )
    assert (_count(registry, "failures"), fake.open_pits()) == (1, 0)
    assert puller.pull_once() == 7
    assert _messages(store) == Counter(f"m{n}" for n in range(10))


def test_documents_newer_than_the_settle_lag_are_left_for_later(es_fake, store):
    fake, url = es_fake
    clock = Clock()
    puller = _puller(store, url, clock=clock, lag_s=30)
    fake.add_document("logs-a", _doc("settled", _at(45)))
    fake.add_document("logs-a", _doc("fresh", _at(10)))

    assert puller.pull_once() == 1
    fake.add_document("logs-a", _doc("late", _at(20)))  # indexed late, but still inside the lag
    clock.now += 30
    assert puller.pull_once() == 2
    assert _messages(store) == Counter(["settled", "fresh", "late"])


def test_a_missing_index_counts_a_failure_and_leaves_the_others_and_its_checkpoint(es_fake, store):
    fake, url = es_fake
    fake.add_document("logs-a", _doc("kept", _at(60)))
    registry = CollectorRegistry()

    with pytest.raises(PullError, match="index_not_found_exception") as raised:
        _puller(store, url, registry=registry, indices=["no-such-index", "logs-a"]).pull_once()

    assert raised.value.index == "no-such-index"
    assert _count(registry, "failures", "no-such-index") == 1
    assert _count(registry, "failures", "logs-a") == 0
    assert store.checkpoint("es_pull:no-such-index") is None
    assert _messages(store) == Counter(["kept"])


def test_an_unavailable_cluster_counts_a_failure_and_keeps_the_checkpoint(es_fake, store):
    fake, url = es_fake
    fake.add_document("logs-a", _doc("before", _at(90)))
    registry = CollectorRegistry()
    puller = _puller(store, url, registry=registry)
    assert puller.pull_once() == 1
    before = store.checkpoint("es_pull:logs-*")
    fake.add_document("logs-a", _doc("after", _at(60)))
    fake.unavailable = True

    with pytest.raises(PullError, match="HTTP 503 cluster_block_exception"):
        puller.pull_once()

    assert store.checkpoint("es_pull:logs-*") == before
    assert _count(registry, "failures") == 1
    fake.unavailable = False
    assert puller.pull_once() == 1
    assert _messages(store) == Counter(["before", "after"])


def test_an_unreachable_cluster_is_a_pull_error_that_names_no_secret(store, caplog):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    registry = CollectorRegistry()
    puller = _puller(store, url, registry=registry, basic_auth=("elastic", "hunter2-secret"))
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(PullError, match="ConnectionError") as raised:
            puller.pull_once()
    finally:
        puller.close()
        listener.close()

    assert "hunter2" not in str(raised.value) and "hunter2" not in caplog.text
    assert "hunter2" not in repr(vars(puller))
    assert _count(registry, "failures") == 1


def test_the_api_key_reaches_the_cluster_but_no_log_line(es_fake, store, caplog):
    fake, url = es_fake
    fake.add_document("logs-a", _doc("m", _at(60)))
    fake.fail_next_searches(1)
    puller = _puller(store, url, api_key="c2VjcmV0LWFwaS1rZXk=")

    with caplog.at_level(logging.DEBUG), pytest.raises(PullError):
        puller.pull_once()

    assert fake.searches[0].authorization == "ApiKey c2VjcmV0LWFwaS1rZXk="
    assert "c2VjcmV0LWFwaS1rZXk" not in caplog.text


def test_a_document_that_cannot_be_converted_is_skipped_counted_and_passed(es_fake, store, caplog):
    fake, url = es_fake
    fake.add_document("logs-a", _doc("good-1", _at(90)))
    # Elasticsearch reads a zone-less timestamp as UTC; Watchfloor's ECS reader refuses it.
    fake.add_document("logs-a", _doc("zone-less", _at(80).removesuffix("Z")), doc_id="bad-1")
    fake.add_document("logs-a", _doc("good-2", _at(70)))
    registry = CollectorRegistry()
    puller = _puller(store, url, registry=registry, page_size=2)

    with caplog.at_level(logging.WARNING, logger="collectors.es_puller"):
        assert puller.pull_once() == 2
        assert puller.pull_once() == 0

    assert _messages(store) == Counter(["good-1", "good-2"])
    assert _count(registry, "skipped") == 1
    reason = "failed to parse field [@timestamp]: a time zone is required"
    assert [r.getMessage() for r in caplog.records if "bad-1" in r.getMessage()] == [
        f"skipped document logs-a/bad-1 of 'logs-*': {reason}"
    ]
    assert _checkpoint(store).timestamp == _at(70).replace(".000000Z", ".000Z")


@pytest.mark.parametrize(
    "timestamp", ["1000-01-01T00:00:00Z", "1677-09-21T00:12:43.145224191Z", "1500-06-15T12:00:00+02:00"]
)
def test_a_timestamp_the_store_cannot_hold_is_skipped_and_passed_not_a_stuck_pull(es_fake, store, timestamp):
    fake, url = es_fake
    fake.add_document("logs-a", _doc("ancient", timestamp), doc_id="ancient")
    fake.add_document("logs-a", _doc("fine", _at(60)))
    fake.add_document("other-b", _doc("other", _at(60)))
    registry = CollectorRegistry()
    puller = _puller(store, url, registry=registry, indices=["logs-*", "other-*"], page_size=10)

    assert puller.pull_once() == 2
    assert puller.pull_once() == 0

    assert _messages(store) == Counter(["fine", "other"])
    assert _count(registry, "skipped") == 1 and _count(registry, "failures") == 0
    assert _checkpoint(store).timestamp == _at(60).replace(".000000Z", ".000Z")


def test_an_unexpected_failure_of_one_pattern_does_not_stop_the_next(es_fake, store, monkeypatch, caplog):
    fake, url = es_fake
    fake.add_document("logs-a", _doc("kept", _at(60)))
    registry = CollectorRegistry()
    puller = _puller(store, url, registry=registry, indices=["broken-*", "logs-*"])
    pull = puller._pull

    def flaky(pattern: str) -> int:
        if pattern == "broken-*":
            raise RuntimeError("something nobody expected")
        return pull(pattern)

    monkeypatch.setattr(puller, "_pull", flaky)
    with caplog.at_level(logging.ERROR), pytest.raises(PullError, match="broken-") as raised:
        puller.pull_once()

    assert raised.value.index == "broken-*" and isinstance(raised.value.__cause__, RuntimeError)
    assert _messages(store) == Counter(["kept"])
    assert _count(registry, "failures", "broken-*") == 1 and _count(registry, "failures") == 0
    assert "something nobody expected" in caplog.text  # the traceback is logged


def test_a_hit_that_cannot_be_read_is_a_document_error():
    from collectors.bulk_intake import DocumentError
    from collectors.es_puller import hit_record

    for hit in (
        {"_index": "l", "_source": {"@timestamp": "2262-04-11T23:47:16.854775808Z"}},  # one ns too late
        {"_index": "l", "_source": {"@timestamp": float("nan")}},
        {"_source": {"@timestamp": "1000-01-01T00:00:00Z"}},
        {"_index": "l"},
    ):
        with pytest.raises(DocumentError):
            hit_record(hit)
    assert hit_record({"_source": {"@timestamp": "2262-04-11T23:47:16.854775807Z"}}).timestamp_ns == 2**63 - 1


def test_an_impossible_date_in_a_checkpoint_is_a_checkpoint_error():
    from collectors.es_checkpoint import CheckpointError, parse_iso_ns

    for text in ("2024-13-01T00:00:00Z", "2024-01-01T25:00:00Z", "2024-02-30T00:00:00Z"):
        with pytest.raises(CheckpointError):
            parse_iso_ns(text)


def test_nanosecond_timestamps_keep_their_precision_in_the_checkpoint(es_fake, store):
    fake, url = es_fake
    fake.map_date_nanos("logs-nanos")
    fake.add_document("logs-nanos", _doc("n1", "2026-05-01T11:58:00.123456789Z"))
    fake.add_document("logs-nanos", _doc("n2", "2026-05-01T11:58:00.123456789Z"))
    puller = _puller(store, url, page_size=1)

    assert puller.pull_once() == 2
    fake.add_document("logs-nanos", _doc("n3", "2026-05-01T11:58:00.123456790Z"))
    assert puller.pull_once() == 1

    assert _checkpoint(store).timestamp == "2026-05-01T11:58:00.12345679Z"
    stored = {r.message: r.timestamp_ns for r in _records(store)}
    assert (stored["n1"] % 10**9, stored["n3"] % 10**9) == (123_456_789, 123_456_790)


def test_run_keeps_pulling_through_failures_until_cancelled(es_fake, store):
    fake, url = es_fake
    fake.add_document("logs-a", _doc("m", _at(60)))
    fake.unavailable = True
    registry = CollectorRegistry()
    puller = _puller(store, url, registry=registry)

    async def until(probe: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 15
        while not probe():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        task = asyncio.create_task(puller.run(interval_s=0.01))
        await until(lambda: _count(registry, "failures") >= 1, "a failed pull")
        fake.unavailable = False
        await until(lambda: _count(registry, "documents") == 1, "the document")
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert _messages(store) == Counter(["m"])


@pytest.mark.skipif(REAL_ES_URL is None, reason="set WATCHFLOOR_TEST_ES_URL to test against a real cluster")
class TestAgainstARealCluster:
    """Bulk-indexes into a fresh index, then pulls it: what the fake claims, a cluster does."""

    @pytest.fixture
    def index(self) -> Iterator[tuple[Elasticsearch, str]]:
        client = Elasticsearch(REAL_ES_URL or "", api_key=REAL_ES_API_KEY)
        name = f"watchfloor-pull-test-{uuid.uuid4().hex[:8]}"
        client.indices.create(index=name, mappings={"properties": {"@timestamp": {"type": "date"}}})
        yield client, name
        client.indices.delete(index=name, ignore_unavailable=True)
        client.close()

    def test_bulk_indexed_documents_are_pulled_once(self, index, store):
        client, name = index
        operations: list[dict[str, Any]] = []
        for n in range(7):
            operations += [
                {"create": {"_index": name}},
                _doc(f"m{n}", _at(100 - n // 2), **{"log.level": "info"}),
            ]
        assert not client.bulk(operations=operations, refresh=True)["errors"]
        puller = _puller(store, REAL_ES_URL or "", indices=[name], page_size=3, api_key=REAL_ES_API_KEY)
        try:
            assert puller.pull_once() == 7
            client.bulk(operations=[{"create": {"_index": name}}, _doc("late", _at(97))], refresh=True)
            assert puller.pull_once() == 1
        finally:
            puller.close()
        assert _messages(store) == Counter([*(f"m{n}" for n in range(7)), "late"])
        assert all(r.index == name and r.level == "info" for r in _records(store))
