"""Exemplars: series tags to span filters, and the store's example spans per step, against span metrics."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from collectors.span_metrics import SpanMetrics
from store.duckdb_store import DuckDBStore
from store.interfaces import SeriesValues, SpanFilter
from store.model import DURATION_BUCKETS, OTHER_OPERATION, STATUS_ERROR, STATUS_OK, Span
from tracing.exemplars import (
    exemplar_json,
    series_exemplars,
    span_filter,
)

STEP = 10_000
T0 = 1_800_000_000_000
MS = 1_000_000  # nanoseconds


def _span(
    n: int,
    end_ms: int,
    duration_ms: float,
    *,
    name: str = "POST /license",
    kind: int = 2,
    status: int = 0,
    cluster: str | None = "drm-v1",
    extra_ns: int = 0,
) -> Span:
    end_ns = end_ms * MS + extra_ns
    resource = {} if cluster is None else {"nf.cluster": cluster}
    return Span(
        f"{n:032x}",
        f"{n:016x}",
        "",
        name,
        kind,
        end_ns - int(duration_ms * MS),
        end_ns,
        "drm",
        status,
        resource=resource,
    )


def _tags(**extra: str) -> dict[str, str]:
    base = {"nf.app": "drm", "span.name": "POST /license", "span.kind": "server", "status.code": "unset"}
    return {**base, "name": "span.duration", "statistic": "max", **extra}


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "watchfloor.duckdb")
    yield opened
    opened.close()


def _drm(**fields) -> SpanFilter:
    return SpanFilter(**{"service": "drm", "operation": "POST /license", "cluster": "drm-v1", **fields})


def _found(store, spans: SpanFilter, steps: int = 4, **options):
    found = store.span_exemplars(spans, T0, T0 + steps * STEP, STEP, **options)
    return [(e.timestamp_ms, e.trace_id[-2:]) for e in found]


# --- the store ------------------------------------------------------------------------------


def test_per_step_the_slowest_span_is_the_exemplar_and_a_step_without_spans_has_none(store):
    store.write_spans([_span(1, T0 + 1_000, 20), _span(2, T0 + 2_000, 40), _span(3, T0 + 25_000, 300)])
    assert _found(store, _drm()) == [(T0 + STEP, "02"), (T0 + 3 * STEP, "03")]
    [slowest] = store.span_exemplars(_drm(), T0 + 2 * STEP, T0 + 3 * STEP, STEP)
    assert slowest.duration_ns == 300 * MS and slowest.name == "POST /license"


def test_an_error_span_is_reported_beside_the_slowest_and_not_twice(store):
    store.write_spans(
        [
            _span(1, T0 + 1_000, 900),
            _span(2, T0 + 2_000, 50, status=STATUS_ERROR),
            _span(3, T0 + 3_000, 10, status=STATUS_ERROR),
            _span(4, T0 + 12_000, 700, status=STATUS_ERROR),  # the slowest is the error
            _span(5, T0 + 13_000, 5),
        ]
    )
    found = store.span_exemplars(_drm(), T0, T0 + 2 * STEP, STEP)
    assert [(e.timestamp_ms, e.trace_id[-2:], e.status_code) for e in found] == [
        (T0 + STEP, "01", 0),
        (T0 + STEP, "02", STATUS_ERROR),
        (T0 + 2 * STEP, "04", STATUS_ERROR),
    ]
    # The two slowest of each step; the first step's error is one of them, so nothing more.
    two = [(T0 + STEP, "01"), (T0 + STEP, "02"), (T0 + 2 * STEP, "04"), (T0 + 2 * STEP, "05")]
    assert _found(store, _drm(), per_step=2) == two


def test_a_bucket_series_gets_spans_of_its_own_bucket_bounds_inclusive_above(store):
    # 100 ms is exactly the 0.1 bound: in le=0.1, not in le=0.25 (a bucket is (previous, le]).
    store.write_spans([_span(1, T0 + 1_000, 100), _span(2, T0 + 2_000, 30), _span(3, T0 + 3_000, 12_000)])
    bucket = {}
    for le in ("0.1", "0.25", "0.05", "+Inf"):
        spans = span_filter(_tags(statistic="percentile", le=le, **{"nf.cluster": "drm-v1"}))
        assert spans is not None
        bucket[le] = spans
    assert _found(store, bucket["0.1"]) == [(T0 + STEP, "01")]
    assert _found(store, bucket["0.25"]) == []
    assert _found(store, bucket["0.05"]) == [(T0 + STEP, "02")]
    assert _found(store, bucket["+Inf"]) == [(T0 + STEP, "03")]


def test_the_cluster_filter_and_spans_without_a_cluster(store):
    store.write_spans(
        [
            _span(1, T0 + 1_000, 10),
            _span(2, T0 + 1_000, 20, cluster="drm-v2"),
            _span(3, T0 + 1_000, 5, cluster=None),
        ]
    )
    assert _found(store, _drm()) == [(T0 + STEP, "01")]
    assert _found(store, _drm(cluster="")) == [(T0 + STEP, "03")]
    assert _found(store, _drm(cluster=None)) == [(T0 + STEP, "02")]


def test_kind_and_status_are_compared_as_span_metrics_name_them(store):
    # Kind 9 and status 7 are not OTLP values: span metrics count them as unspecified and unset.
    store.write_spans(
        [
            _span(1, T0 + 1_000, 10, kind=9, status=7),
            _span(2, T0 + 1_000, 20, kind=3, status=STATUS_OK),
            _span(3, T0 + 1_000, 30, kind=3, status=STATUS_ERROR),
        ]
    )
    for kind, status, trace in (
        ("unspecified", "unset", "01"),
        ("client", "ok", "02"),
        ("client", "error", "03"),
    ):
        spans = span_filter(_tags(**{"span.kind": kind, "status.code": status, "nf.cluster": "drm-v1"}))
        assert spans is not None and _found(store, spans) == [(T0 + STEP, trace)], (kind, status)
    assert _found(store, _drm(kind=2)) == []


def test_steps_are_those_of_span_metrics_by_end_time_floored_to_milliseconds(store):
    store.write_spans(
        [
            _span(1, T0, 10),  # the step ending at T0: before the range
            _span(2, T0 + STEP, 10),  # exactly on the step's end: in it
            _span(3, T0 + STEP, 20, extra_ns=999_999),  # floored to T0 + STEP: still in it
            _span(4, T0 + STEP + 1, 10),  # a millisecond later: the next step
        ]
    )
    assert _found(store, _drm(), steps=2) == [(T0 + STEP, "03"), (T0 + 2 * STEP, "04")]
    # An unaligned start is aligned down, as series reads align it.
    assert _found(store, _drm(), steps=2) == [
        (e.timestamp_ms, e.trace_id[-2:]) for e in store.span_exemplars(_drm(), T0 + 5, T0 + 2 * STEP, STEP)
    ]


def test_exemplars_agree_with_the_span_metrics_points_of_every_series(store):
    """Every series span metrics write: exemplars on exactly its steps with data; max's is the slowest."""
    rng = random.Random(7)
    bounds = [b * 1000 for b in DURATION_BUCKETS]
    spans = [
        _span(
            n,
            T0 + rng.randrange(1, 6 * STEP + 1),
            rng.choice([*bounds, rng.uniform(0, 12_000), rng.uniform(0, 60)]),
            name=rng.choice(["GET /a", "GET /b"]),
            kind=rng.choice([1, 2, 3]),
            status=rng.choice([0, 0, 1, 2]),
            cluster=rng.choice(["c1", None]),
            extra_ns=rng.choice([0, 1, 999_999]),
        )
        for n in range(1, 400)
    ]
    store.write_spans(spans)
    metrics = SpanMetrics(STEP, clock=lambda: (T0 + 10 * STEP) / 1000)
    metrics.observe(spans)
    points: dict[tuple[tuple[str, str], ...], dict[int, float]] = defaultdict(dict)
    for tags, timestamp_ms, value in metrics.flush(T0 + 20 * STEP):
        points[tuple(sorted(tags.items()))][timestamp_ms] = value
    les = [format(b, "g") for b in DURATION_BUCKETS] + ["+Inf"]
    for key, values in points.items():
        tags = dict(key)
        spans_filter = span_filter(tags)
        assert spans_filter is not None, tags
        found = store.span_exemplars(spans_filter, T0, T0 + 6 * STEP, STEP)
        expected = set(values)  # span metrics write a key's series on each step it has spans
        if "le" in tags:
            # Cumulative buckets: a bucket (previous, le] has spans where the count grew over the previous.
            index = les.index(tags["le"])
            below = points[tuple(sorted({**tags, "le": les[index - 1]}.items()))] if index else {}
            expected = {t for t, v in values.items() if v > below.get(t, 0.0)}
        assert {e.timestamp_ms for e in found} == expected, tags
        if tags["statistic"] == "max":
            slowest = {e.timestamp_ms: e.duration_ns / 1e9 for e in reversed(found)}
            assert slowest == values, tags


# --- tags to filters, and the answer ---------------------------------------------------------


def test_a_span_derived_series_maps_to_its_spans():
    assert span_filter(_tags(**{"nf.cluster": "drm-v1"})) == _drm(kind=2, status_code=0)
    calls = span_filter({**_tags(statistic="count"), "name": "span.calls", "status.code": "error"})
    assert calls == _drm(kind=2, status_code=STATUS_ERROR, cluster="")
    first = span_filter(_tags(statistic="percentile", le="0.005"))
    assert first is not None and (first.longer_than_s, first.at_most_s) == (None, 0.005)
    other = span_filter(_tags(**{"span.name": OTHER_OPERATION}))
    assert other is not None and other.operation is None, "collapsed operations match any operation"


@pytest.mark.parametrize(
    "tags",
    [
        {"name": "http_server_requests", "statistic": "count", "nf.app": "drm"},
        _tags(name="span.calls"),  # span.calls has only the count statistic
        _tags(statistic="percentile"),  # a bucket without its bound
        _tags(statistic="percentile", le="0.3"),  # not a span metrics bound
        _tags(le="0.1"),  # a bound on a series that is not a bucket
        _tags(**{"span.kind": "server-ish"}),
        _tags(**{"status.code": "failed"}),
        _tags(**{"nf.node": "i-1"}),  # span metrics write no such tag
        {k: v for k, v in _tags().items() if k != "span.name"},
    ],
)
def test_other_series_are_not_span_derived(tags):
    assert span_filter(tags) is None


def test_the_answer_carries_the_series_value_at_the_exemplars_step(store):
    import numpy as np

    store.write_spans([_span(1, T0 + 1_000, 40), _span(2, T0 + 21_000, 10)])
    values = SeriesValues(_tags(**{"nf.cluster": "drm-v1"}), T0, STEP, np.array([0.04, 0.0, np.nan]))
    other = SeriesValues({"name": "up", "nf.app": "drm"}, T0, STEP, np.array([1.0, 1.0, 1.0]))
    calls: list[SpanFilter] = []

    def read(spans: SpanFilter):
        calls.append(spans)
        return store.span_exemplars(spans, T0, T0 + 3 * STEP, STEP)

    answer, again = series_exemplars([values, other, values], read)
    assert len(calls) == 1 and again == answer, "one read per distinct filter; other series left out"
    assert answer["tags"] == dict(values.tags)
    first, third = answer["exemplars"]
    assert first == {
        "timestamp_ms": T0 + STEP,
        "trace_id": f"{1:032x}",
        "span_id": f"{1:016x}",
        "operation": "POST /license",
        "duration_ms": 40.0,
        "status": "unset",
        "value": 0.04,
    }
    assert "value" not in third, "no value where the series has none"
    assert exemplar_json(store.span_exemplars(_drm(), T0, T0 + STEP, STEP)[0], other)["value"] == 1.0
