"""The DuckDB store: catalogue and tag index, consolidation, rollups, retention, spans, logs, restarts."""

from __future__ import annotations

import math

import pytest

from store.duckdb_store import HOUR_MS, MINUTE_MS, DuckDBStore, Retention
from store.interfaces import LogSearch, SpanSearch
from store.model import STATUS_ERROR, Datapoint, LogRecord, Span
from store.schema import MIGRATIONS
from store.tag_query import And, Eq, Has, MatchAll, Not, Regex, parse_simple

STEP = 10_000
T0 = 1_800_000_000_000  # a whole hour, so minute and hour buckets line up with it


def _tags(app: str, cluster: str, name: str = "http_server_requests") -> dict[str, str]:
    return {"name": name, "statistic": "count", "nf.app": app, "nf.cluster": cluster}


def _ramp(tags: dict[str, str], steps: int, value=lambda i: float(i), start: int = T0) -> list[Datapoint]:
    return [Datapoint(tags, start + (i + 1) * STEP, value(i)) for i in range(steps)]


def _scalar(store, sql, params=()):
    row = store.cursor().execute(sql, list(params)).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "watchfloor.duckdb")
    yield opened
    opened.close()


def test_a_new_file_is_migrated_to_the_latest_schema_version(store):
    assert store.schema_version == MIGRATIONS[-1][0]


def test_reopening_keeps_data_and_the_catalogue_and_does_not_migrate_twice(tmp_path):
    path = tmp_path / "w.duckdb"
    first = DuckDBStore(path)
    first.write_datapoints(_ramp(_tags("drm", "drm-v1"), 6))
    first.close()
    again = DuckDBStore(path)
    try:
        [series] = again.series(Eq("nf.app", "drm"), T0, T0 + 6 * STEP, STEP)
        assert list(series.values) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        # The same tag set written after a restart is the same series, not a new one.
        again.write_datapoints([Datapoint(_tags("drm", "drm-v1"), T0 + 7 * STEP, 9.0)])
        assert len(again.series(MatchAll(), T0, T0 + 8 * STEP, STEP)) == 1
        assert again.schema_version == MIGRATIONS[-1][0]
    finally:
        again.close()


def test_series_are_selected_through_the_tag_index(store):
    store.write_datapoints(
        _ramp(_tags("drm", "drm-v1"), 3)
        + _ramp(_tags("drm", "drm-v2-canary"), 3)
        + _ramp(_tags("cdn", "cdn-v1"), 3)
        + _ramp(_tags("cdn", "cdn-v1", name="cdn_bytes_served"), 3)
    )

    def clusters(query):
        return sorted(
            s.tags["nf.cluster"] + "/" + s.tags["name"] for s in store.series(query, T0, T0 + 3 * STEP, STEP)
        )

    assert clusters(Eq("nf.app", "drm")) == [
        "drm-v1/http_server_requests",
        "drm-v2-canary/http_server_requests",
    ]
    assert clusters(And(Eq("nf.app", "cdn"), Eq("name", "cdn_bytes_served"))) == ["cdn-v1/cdn_bytes_served"]
    assert clusters(Regex("nf.cluster", ".*-canary")) == ["drm-v2-canary/http_server_requests"]
    assert clusters(And(Eq("name", "http_server_requests"), Not(Eq("nf.app", "drm")))) == [
        "cdn-v1/http_server_requests"
    ]
    assert clusters(Eq("nf.app", "billing")) == []
    assert store.tag_values("nf.app") == ["cdn", "drm"]
    assert "nf.cluster" in store.tag_keys()
    assert store.tag_values("nf.cluster", Eq("nf.app", "drm")) == ["drm-v1", "drm-v2-canary"]


def test_a_larger_step_averages_the_steps_inside_it_and_gaps_are_nan(store):
    tags = _tags("drm", "drm-v1")
    points = _ramp(tags, 12)
    del points[6:9]  # no data for three steps
    store.write_datapoints([*points, Datapoint(tags, T0 + 13 * STEP, math.nan)])
    [by_30s] = store.series(MatchAll(), T0, T0 + 12 * STEP, 3 * STEP)
    assert list(by_30s.values)[:2] == [1.0, 4.0]  # mean of 0,1,2 and of 3,4,5
    assert math.isnan(by_30s.values[2])
    assert by_30s.values[3] == 10.0
    [exact] = store.series(MatchAll(), T0 + 12 * STEP, T0 + 13 * STEP, STEP)
    assert math.isnan(exact.values[0]), "a NaN point is no data"


def test_rollups_seal_whole_minutes_and_hours_and_reads_join_them_with_raw_data(store):
    tags = _tags("cdn", "cdn-v1")
    store.write_datapoints(_ramp(tags, 6 * 70, value=lambda i: 2.0))  # 70 minutes of 10 s steps
    now = T0 + 70 * MINUTE_MS
    store.roll_up(now)
    assert store.watermark("1m") == T0 + 68 * MINUTE_MS  # two minutes of grace
    assert store.watermark("1h") == T0 + HOUR_MS
    # Remove the raw data that has been rolled up: reads must come from the rollups.
    store.cursor().execute("DELETE FROM points WHERE ts <= ?", [store.watermark("1m")])
    [by_minute] = store.series(MatchAll(), T0, now, MINUTE_MS)
    assert list(by_minute.values) == [2.0] * 70
    [by_hour] = store.series(MatchAll(), T0, T0 + HOUR_MS, HOUR_MS)
    assert list(by_hour.values) == [2.0]
    assert _scalar(store, "SELECT sum(count) FROM points_1h") == 360, "an hour of 10 s steps"


def test_rolling_up_twice_does_not_double_count(store):
    store.write_datapoints(_ramp(_tags("cdn", "cdn-v1"), 6 * 10, value=lambda i: 1.0))
    store.roll_up(T0 + 20 * MINUTE_MS)
    store.roll_up(T0 + 20 * MINUTE_MS)
    assert _scalar(store, "SELECT sum(count) FROM points_1m") == 60


def test_retention_deletes_each_signal_after_its_own_age(tmp_path):
    retention = Retention(metrics_raw_ms=HOUR_MS, spans_ms=2 * HOUR_MS, logs_ms=3 * HOUR_MS)
    store = DuckDBStore(tmp_path / "r.duckdb", retention=retention)
    try:
        store.write_datapoints([Datapoint(_tags("drm", "drm-v1"), T0, 1.0)])
        store.write_spans([_span("a" * 32, "b" * 16, start_ns=T0 * 1_000_000)])
        store.write_logs([_log(T0 * 1_000_000, "hello")])
        store.enforce_retention(T0 + HOUR_MS + 1)
        counts = [_scalar(store, f"SELECT count(*) FROM {t}") for t in ("points", "spans", "logs")]
        assert counts == [1, 1, 1]  # step data waits for its rollup, whatever its age
        store.roll_up(T0 + HOUR_MS + 1)
        store.enforce_retention(T0 + HOUR_MS + 1)
        counts = [_scalar(store, f"SELECT count(*) FROM {t}") for t in ("points", "spans", "logs")]
        assert counts == [0, 1, 1]
        assert _scalar(store, "SELECT sum FROM points_1m") == 1.0
        store.enforce_retention(T0 + 3 * HOUR_MS + 1)
        counts = [_scalar(store, f"SELECT count(*) FROM {t}") for t in ("points", "spans", "logs")]
        assert counts == [0, 0, 0]
    finally:
        store.close()


def _span(
    trace_id, span_id, parent="", *, name="GET /x", service="cdn", start_ns=1_000, duration_ns=5_000, status=0
) -> Span:
    return Span(
        trace_id,
        span_id,
        parent,
        name,
        2,
        start_ns,
        start_ns + duration_ns,
        service,
        status,
        "",
        {"http.route": "/x", "n": 1},
        {"service.name": service},
        ({"name": "e", "time_ns": 3},),
        (),
        "s",
    )


def _log(timestamp_ns, message, *, level="info", service="cdn", trace_id="", span_id="") -> LogRecord:
    return LogRecord(
        timestamp_ns, level, message, service, trace_id, span_id, {"message": message}, "logs-cdn"
    )


def test_a_trace_comes_back_whole_in_start_order(store):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    store.write_spans(
        [
            _span(trace_id, "2" * 16, "1" * 16, start_ns=20),
            _span(trace_id, "1" * 16, start_ns=10),
            _span("f" * 32, "3" * 16),
        ]
    )
    spans = store.trace(trace_id.upper())
    assert [s.span_id for s in spans] == ["1" * 16, "2" * 16]
    assert spans[0].attributes == {"http.route": "/x", "n": 1}
    assert spans[0].events == ({"name": "e", "time_ns": 3},)


def test_spans_are_searched_by_service_operation_duration_and_status(store):
    store.write_spans(
        [
            _span("a" * 32, "1" * 16, service="drm", name="POST /license", duration_ns=50_000_000),
            _span(
                "b" * 32,
                "2" * 16,
                service="drm",
                name="POST /license",
                duration_ns=5_000_000,
                status=STATUS_ERROR,
            ),
            _span("c" * 32, "3" * 16, service="cdn", name="GET /manifest", duration_ns=70_000_000),
        ]
    )

    def ids(**search):
        return [s.span_id[0] for s in store.search_spans(SpanSearch(**search))]

    assert sorted(ids(service="drm")) == ["1", "2"]
    assert ids(service="drm", min_duration_ns=10_000_000) == ["1"]
    assert ids(status_code=STATUS_ERROR) == ["2"]
    assert ids(operation="GET /manifest", max_duration_ns=80_000_000) == ["3"]
    assert len(ids(limit=2)) == 2


def test_logs_are_searched_by_level_service_trace_text_and_paged_newest_first(store):
    store.write_logs(
        [
            _log(i, f"line {i}", level="error" if i % 2 else "info", trace_id="t" * 32 if i == 3 else "")
            for i in range(1, 8)
        ]
    )

    def messages(**search):
        return [r.message for r in store.search_logs(LogSearch(**search))]

    assert messages(level="error") == ["line 7", "line 5", "line 3", "line 1"]
    assert messages(trace_id="t" * 32) == ["line 3"]
    assert messages(text="LINE 6") == ["line 6"]
    assert messages(limit=2) == ["line 7", "line 6"]
    page = store.search_logs(LogSearch(limit=2))
    assert messages(limit=2, before=(page[-1].timestamp_ns, page[-1].seq)) == ["line 5", "line 4"]


def test_paging_through_logs_with_one_timestamp_skips_nothing_and_repeats_nothing(store):
    store.write_logs([_log(5, f"same {n}") for n in range(7)])
    seen: list[str] = []
    before = None
    while True:
        page = store.search_logs(LogSearch(limit=3, before=before))
        seen += [r.message for r in page]
        if len(page) < 3:
            break
        before = (page[-1].timestamp_ns, page[-1].seq)
    assert sorted(seen) == [f"same {n}" for n in range(7)]


def test_reading_logs_after_a_record_goes_forward_oldest_first_with_the_filters(store):
    store.write_logs([_log(i, f"line {i}", level="error" if i % 2 else "info") for i in range(1, 8)])
    store.write_logs([_log(4, "line 4 again")])  # same timestamp, logged later: a higher seq
    newest_first = store.search_logs(LogSearch(limit=100))
    line3 = next(r for r in newest_first if r.message == "line 3")

    def messages(**search):
        return [r.message for r in store.search_logs(LogSearch(**search))]

    after3 = (line3.timestamp_ns, line3.seq)
    assert messages(after=after3, limit=3) == ["line 4", "line 4 again", "line 5"]
    assert messages(after=after3, level="error") == ["line 5", "line 7"]
    assert messages(after=after3, end_ns=5) == ["line 4", "line 4 again", "line 5"]
    # Forward from a record is the backward read down to it, reversed.
    assert messages(after=(0, 0)) == [r.message for r in reversed(newest_first)]
    line4 = next(r for r in newest_first if r.message == "line 4")
    assert messages(after=(line4.timestamp_ns, line4.seq)) == ["line 4 again", "line 5", "line 6", "line 7"]


def test_paging_forward_through_logs_with_one_timestamp_keeps_their_order(store):
    store.write_logs([_log(5, f"same {n}") for n in range(7)])
    seen: list[str] = []
    after = (0, 0)
    while True:
        page = store.search_logs(LogSearch(limit=3, after=after))
        seen += [r.message for r in page]
        if len(page) < 3:
            break
        after = (page[-1].timestamp_ns, page[-1].seq)
    backward = [r.message for r in store.search_logs(LogSearch(limit=100))]
    assert seen == list(reversed(backward)) and sorted(seen) == [f"same {n}" for n in range(7)]


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        ("nf.app=drm", ["drm-v1"]),
        ("nf.app=drm,nf.cluster=drm-v1", ["drm-v1"]),
        ("nf.cluster=~cdn", ["cdn-v1"]),
        ("nf.app", ["cdn-v1", "drm-v1"]),
        ("", ["cdn-v1", "drm-v1"]),
    ],
)
def test_the_simple_filter_reads_key_value_terms(store, text, matching):
    store.write_datapoints(
        [Datapoint(_tags("drm", "drm-v1"), T0 + STEP, 1.0), Datapoint(_tags("cdn", "cdn-v1"), T0 + STEP, 1.0)]
    )
    found = store.series(parse_simple(text), T0, T0 + STEP, STEP)
    assert sorted(s.tags["nf.cluster"] for s in found) == matching


def test_a_write_that_fails_leaves_no_phantom_series_behind(tmp_path):
    path = tmp_path / "p.duckdb"
    store = DuckDBStore(path)
    with pytest.raises((TypeError, ValueError)):  # pyarrow refuses a string as a double
        store.write_point_columns([{"name": "a"}], [T0 + STEP], ["oops"])  # type: ignore[list-item]
    store.write_datapoints([Datapoint({"name": "a"}, T0 + STEP, 1.0)])
    assert [list(s.values) for s in store.series(Eq("name", "a"), T0, T0 + STEP, STEP)] == [[1.0]]
    store.close()
    again = DuckDBStore(path)
    try:
        again.write_datapoints([Datapoint({"name": "b"}, T0 + STEP, 7.0)])
        assert list(again.series(Eq("name", "b"), T0, T0 + STEP, STEP)[0].values) == [7.0]
        assert list(again.series(Eq("name", "a"), T0, T0 + STEP, STEP)[0].values) == [1.0]
    finally:
        again.close()


def test_readers_never_trip_over_the_writer_growing_the_tag_index(store):
    import threading

    stop = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            try:
                store.tag_values("nf.node", Eq("name", "cpu"))
                store.tag_keys(Has("nf.node"))
                store.series(Eq("name", "cpu"), T0, T0 + STEP, STEP)
            except BaseException as error:
                failures.append(error)
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for batch in range(80):
        store.write_datapoints(
            [Datapoint({"name": "cpu", "nf.node": f"i-{batch}-{n}"}, T0 + STEP, 1.0) for n in range(25)]
        )
    stop.set()
    for reader in readers:
        reader.join()
    assert failures == []
    assert len(store.tag_values("nf.node")) == 2_000


def test_documents_are_put_replaced_listed_by_kind_and_deleted(tmp_path):
    path = tmp_path / "docs.duckdb"
    store = DuckDBStore(path)
    store.put_document("slo", "b", "text b", 1)
    store.put_document("slo", "a", "text a", 2)
    store.put_document("canary", "a", "other kind", 3)
    store.put_document("slo", "a", "text a again", 4)
    assert [(d.name, d.body, d.updated_ms) for d in store.documents("slo")] == [
        ("a", "text a again", 4),
        ("b", "text b", 1),
    ]
    assert store.delete_document("slo", "b") is True
    assert store.delete_document("slo", "b") is False
    store.close()
    again = DuckDBStore(path)  # documents survive a restart
    assert [d.name for d in again.documents("slo")] == ["a"]
    assert [d.body for d in again.documents("canary")] == ["other kind"]
    again.close()


def test_log_counts_per_step_honour_the_filters_and_the_step_ending_convention(store):
    def record(ms, cluster, level="error"):
        document = {"message": "m", "labels": {"nf_cluster": cluster}}
        return LogRecord(ms * 1_000_000, level, "m", "drm", "", "", document, "logs-drm")

    store.write_logs(
        [
            record(10_000, "drm-v1"),  # exactly at a step's end: counts in the step ending at 10 s
            record(10_001, "drm-v1"),
            record(15_000, "drm-v1"),
            record(25_000, "drm-v1", level="info"),
            record(25_000, "drm-v2-canary"),
            record(31_000, "drm-v1"),  # after the range
        ]
    )
    search = LogSearch(service="drm", level="error", labels=(("nf_cluster", "drm-v1"),))
    assert store.log_counts(search, 0, 30_000, 10_000) == [1, 2, 0]
    assert store.log_counts(LogSearch(service="drm"), 0, 30_000, 10_000) == [1, 2, 2]
    canary = LogSearch(labels=(("nf_cluster", "drm-v2-canary"),))
    assert store.log_counts(canary, 5_000, 30_000, 10_000) == [0, 0, 1]
    assert [r.timestamp_ns for r in store.search_logs(canary)] == [25_000_000_000]


def test_one_document_is_read_by_kind_and_name(store):
    store.put_document("canary_config", "a", "{}", 5)
    assert store.document("canary_config", "a").body == "{}"
    assert store.document("canary_config", "b") is None
