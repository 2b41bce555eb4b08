"""Trace statistics: self time with clipped, merged children; groups by operation or service.

The traces are hand-built with one service and no resource per clock, so assembly applies
no clock-skew shift and the figures below are exact.
"""

from __future__ import annotations

import pytest

from store.model import STATUS_ERROR, STATUS_OK, Span
from tracing.assembly import Trace, assemble
from tracing.statistics import OperationStats, self_time_by_span, trace_statistics


def _span(
    span_id: str,
    parent: str,
    start: int,
    end: int,
    name: str = "work",
    service: str = "api",
    status: int = 0,
) -> Span:
    return Span("t1", span_id, parent, name, 1, start, end, service, status_code=status)


def _trace(*spans: Span) -> Trace:
    return assemble("t1", spans)


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        pytest.param(
            [_span("r", "", 0, 100)],
            {"r": 100},
            id="A span with no children keeps its whole duration as self time.",
        ),
        pytest.param(
            [_span("r", "", 0, 100), _span("a", "r", 10, 30), _span("b", "r", 40, 70)],
            {"r": 50, "a": 20, "b": 30},
            id="Sequential children are each subtracted from the parent.",
        ),
        pytest.param(
            [
                _span("r", "", 0, 100),
                _span("a", "r", 10, 50),
                _span("b", "r", 30, 70),
                _span("c", "r", 60, 65),
            ],
            {"r": 40, "a": 40, "b": 40, "c": 5},
            id="Overlapping children are merged, not subtracted twice.",
        ),
        pytest.param(
            [_span("r", "", 0, 100), _span("a", "r", 0, 50), _span("b", "r", 50, 100)],
            {"r": 0, "a": 50, "b": 50},
            id="Children that together cover the parent leave it no self time.",
        ),
        pytest.param(
            [_span("r", "", 0, 100), _span("a", "r", 80, 150)],
            {"r": 80, "a": 70},
            id="A child outliving its parent only takes the time they share.",
        ),
        pytest.param(
            [_span("r", "", 100, 200), _span("a", "r", 50, 150)],
            {"r": 50, "a": 100},
            id="A child starting before its parent only takes the time they share.",
        ),
        pytest.param(
            [_span("r", "", 100, 200), _span("a", "r", 0, 50), _span("b", "r", 250, 300)],
            {"r": 100, "a": 50, "b": 50},
            id="Children entirely before or after the parent take nothing from it.",
        ),
        pytest.param(
            [_span("r", "", 0, 100), _span("a", "r", 10, 90), _span("g", "a", 20, 30)],
            {"r": 20, "a": 70, "g": 10},
            id="A grandchild counts against its own parent only.",
        ),
        pytest.param(
            [_span("r", "", 0, 100), _span("a", "r", 40, 40)],
            {"r": 100, "a": 0},
            id="A zero-length child takes nothing and has no self time.",
        ),
    ],
)
def test_self_time_by_span(spans: list[Span], expected: dict[str, int]) -> None:
    assert self_time_by_span(_trace(*spans)) == expected


def _page_load() -> Trace:
    """frontend GET / (0–1000) calling cdn three times, db once and its own render step."""
    return _trace(
        _span("r", "", 0, 1000, "GET /", "frontend"),
        _span("c1", "r", 100, 200, "GET /segment", "cdn"),
        _span("d1", "r", 150, 450, "SELECT", "db", status=STATUS_ERROR),
        _span("c2", "r", 200, 500, "GET /segment", "cdn", status=STATUS_ERROR),
        _span("c3", "r", 600, 800, "GET /segment", "cdn", status=STATUS_OK),
        _span("f1", "r", 850, 950, "render", "frontend"),
    )


def _row(service, operation, count, errors, total, lo, hi, self_total, self_lo, self_hi, percent):
    return OperationStats(
        service, operation, count, errors, total, lo, hi, self_total, self_lo, self_hi, percent
    )


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        pytest.param(
            "operation",
            [
                # Root children cover 100–500, 600–800 and 850–950: 700 of 1000.
                _row("cdn", "GET /segment", 3, 1, 600, 100, 300, 600, 100, 300, 60.0),
                _row("db", "SELECT", 1, 1, 300, 300, 300, 300, 300, 300, 30.0),
                _row("frontend", "GET /", 1, 0, 1000, 1000, 1000, 300, 300, 300, 30.0),
                _row("frontend", "render", 1, 0, 100, 100, 100, 100, 100, 100, 10.0),
            ],
            id="Repeated operations are grouped with exact figures, ties broken by service name.",
        ),
        pytest.param(
            "service",
            [
                _row("cdn", "", 3, 1, 600, 100, 300, 600, 100, 300, 60.0),
                _row("frontend", "", 2, 0, 1100, 100, 1000, 400, 100, 300, 40.0),
                _row("db", "", 1, 1, 300, 300, 300, 300, 300, 300, 30.0),
            ],
            id="Grouping by service folds the operations of one service into one row.",
        ),
    ],
)
def test_trace_statistics_groups(group_by, expected) -> None:
    assert trace_statistics(_page_load(), group_by=group_by) == expected


def test_averages_are_the_exact_means_of_each_group() -> None:
    cdn = trace_statistics(_page_load())[0]
    assert (cdn.avg_ns, cdn.self_avg_ns) == (200.0, 200.0)


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        pytest.param(
            [_span("r", "", 0, 100, "root"), _span("a", "r", 80, 200, "late")],
            {"late": 60.0, "root": 40.0},
            id="Percentages are of the whole trace, which a late child stretches past its root.",
        ),
        pytest.param(
            [_span("r", "", 0, 400, "root"), _span("a", "r", 0, 100, "x"), _span("b", "r", 0, 100, "x")],
            {"root": 75.0, "x": 50.0},
            id="Concurrent children each count their own self time, so the shares may pass 100.",
        ),
        pytest.param(
            [_span("r", "", 5, 5, "root")],
            {"root": 0.0},
            id="A trace of zero length gives every group zero percent.",
        ),
    ],
)
def test_self_percent(spans: list[Span], expected: dict[str, float]) -> None:
    rows = trace_statistics(_trace(*spans))
    assert {row.operation: row.self_percent for row in rows} == pytest.approx(expected)


def test_errors_are_counted_per_group_and_ok_status_is_not_an_error() -> None:
    rows = trace_statistics(_page_load())
    assert {(row.service, row.operation): row.errors for row in rows} == {
        ("cdn", "GET /segment"): 1,
        ("frontend", "GET /"): 0,
        ("db", "SELECT"): 1,
        ("frontend", "render"): 0,
    }


def test_a_chain_ten_thousand_deep_needs_no_recursion() -> None:
    depth = 10_000
    # Span i runs from i to 2·depth − i: each one ends 1 ns after its child on both sides.
    spans = [_span(f"s{i}", f"s{i - 1}" if i else "", i, 2 * depth - i) for i in range(depth)]
    trace = _trace(*spans)
    assert set(self_time_by_span(trace).values()) == {2}
    (row,) = trace_statistics(trace)
    assert (row.count, row.self_total_ns, row.self_min_ns, row.self_max_ns) == (depth, 2 * depth, 2, 2)
    assert row.self_percent == 100.0
