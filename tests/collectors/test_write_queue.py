"""The write queue commits before it acknowledges, groups commits, and refuses when full."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from collectors.normalise import PointColumns
from collectors.write_queue import QueueFull, WriteQueue
from store.duckdb_store import DuckDBStore
from store.model import Datapoint, LogRecord


def _logs(n: int) -> list[LogRecord]:
    return [LogRecord(i, "info", f"m{i}", "cdn", "", "", {"message": f"m{i}"}, "logs") for i in range(n)]


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "q.duckdb")
    yield opened
    opened.close()


def test_a_resolved_submission_is_already_in_the_store(store):
    registry = CollectorRegistry()
    queue = WriteQueue(store, registry)
    queue.start()
    futures = [queue.submit("logs", _logs(10)) for _ in range(5)]
    assert [f.result(timeout=10) for f in futures] == [10] * 5
    row = store.cursor().execute("SELECT count(*) FROM logs").fetchone()
    assert row is not None and row[0] == 50
    assert registry.get_sample_value("watchfloor_ingested_total", {"signal": "logs"}) == 50
    queue.close()


def test_a_submission_over_capacity_is_refused_and_counted(store):
    registry = CollectorRegistry()
    queue = WriteQueue(store, registry, capacity=15)  # not started: nothing drains
    queue.submit("logs", _logs(10))
    with pytest.raises(QueueFull) as refused:
        queue.submit("logs", _logs(10))
    assert refused.value.retry_after_s >= 1
    assert registry.get_sample_value("watchfloor_ingest_refused_total", {"signal": "logs"}) == 10
    assert registry.get_sample_value("watchfloor_write_queue_depth") == 10


def test_a_failing_commit_is_reported_to_its_callers_and_the_writer_carries_on(store):
    queue = WriteQueue(store, CollectorRegistry())
    queue.start()
    bad = queue.submit("spans", [object()])  # not a Span: the store cannot write it
    with pytest.raises(AttributeError):
        bad.result(timeout=10)
    assert queue.submit("logs", _logs(1)).result(timeout=10) == 1
    queue.close()


def test_datapoints_as_lists_and_as_columns_are_committed_together_in_order(store):
    queue = WriteQueue(store, CollectorRegistry())  # not started: both wait, then commit as one group
    tags = {"name": "m", "nf.app": "cdn"}
    columns = PointColumns()
    columns.add(tags, 20_000, 2.0)
    first = queue.submit("datapoints", [Datapoint(tags, 10_000, 1.0)])
    second = queue.submit("datapoints", columns)
    queue.start()
    assert (first.result(timeout=10), second.result(timeout=10)) == (1, 1)
    rows = store.cursor().execute("SELECT ts, value FROM points ORDER BY ts").fetchall()
    assert rows == [(10_000, 1.0), (20_000, 2.0)]
    queue.close()


def test_a_bad_datapoints_batch_fails_its_callers_and_the_writer_carries_on(store):
    queue = WriteQueue(store, CollectorRegistry())
    queue.start()
    with pytest.raises(TypeError):
        queue.submit("datapoints", [object()]).result(timeout=10)
    assert queue.submit("logs", _logs(1)).result(timeout=10) == 1
    queue.close()


def test_a_submitter_that_stops_waiting_does_not_stop_the_writer(store):
    queue = WriteQueue(store, CollectorRegistry())  # not started: the first submission waits
    abandoned = queue.submit("logs", _logs(3))
    assert abandoned.cancel()  # what asyncio.wrap_future does when the awaiting task is cancelled
    queue.start()
    assert queue.submit("logs", _logs(1)).result(timeout=10) == 1
    row = store.cursor().execute("SELECT count(*) FROM logs").fetchone()
    assert row is not None and row[0] == 4  # the abandoned items were committed all the same
    queue.close()


def test_one_bad_submission_in_a_group_fails_alone_and_the_others_are_committed(store):
    queue = WriteQueue(store, CollectorRegistry())  # not started: the three wait, then commit as one group
    first = queue.submit("logs", _logs(2))
    # Past int64 nanoseconds (year 9999): the store's column cannot hold it.
    poison = queue.submit(
        "logs", [LogRecord(253_402_300_799 * 10**9, "info", "bad", "cdn", "", "", {}, "logs")]
    )
    last = queue.submit("logs", _logs(3))
    queue.start()
    assert (first.result(timeout=10), last.result(timeout=10)) == (2, 3)
    with pytest.raises(OverflowError):
        poison.result(timeout=10)
    row = store.cursor().execute("SELECT count(*) FROM logs").fetchone()
    assert row is not None and row[0] == 5
    queue.close()


def test_one_bad_datapoints_submission_in_a_group_fails_alone(store):
    queue = WriteQueue(store, CollectorRegistry())
    tags = {"name": "m", "nf.app": "cdn"}
    good = queue.submit("datapoints", [Datapoint(tags, 10_000, 1.0)])
    poison = queue.submit("datapoints", [Datapoint(tags, 2**64, 2.0)])  # past int64 milliseconds
    columns = PointColumns()
    columns.add(tags, 20_000, 3.0)
    also_good = queue.submit("datapoints", columns)
    queue.start()
    assert (good.result(timeout=10), also_good.result(timeout=10)) == (1, 1)
    with pytest.raises(OverflowError):
        poison.result(timeout=10)
    rows = store.cursor().execute("SELECT ts, value FROM points ORDER BY ts").fetchall()
    assert rows == [(10_000, 1.0), (20_000, 3.0)]
    assert queue._pending == 0
    queue.close()
