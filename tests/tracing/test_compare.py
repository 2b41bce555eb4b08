"""Trace comparison: two traces collapsed into unique (service, operation) paths and merged.

Paths are written "service:operation > service:operation" from the top down; every table
row is (path, count in A, count in B) in the comparison's output order.
"""

from __future__ import annotations

import pytest

from store.model import STATUS_ERROR, Span
from tracing.assembly import Trace, assemble
from tracing.compare import DiffNode, TraceComparison, compare_traces


def _span(
    span_id: str, parent: str, start: int, end: int, where: str, status: int = 0, trace_id: str = "t"
) -> Span:
    service, operation = where.split(":", 1)
    return Span(trace_id, span_id, parent, operation, 1, start, end, service, status_code=status)


def _trace(trace_id: str, *spans: Span) -> Trace:
    return assemble(trace_id, spans)


def _label(node: DiffNode) -> str:
    return " > ".join(f"{service}:{operation}" for service, operation in node.path)


def _rows(comparison: TraceComparison) -> list[tuple[str, int, int]]:
    return [(_label(node), node.count_a, node.count_b) for node in comparison.nodes]


def _page(*extra: Span) -> list[Span]:
    """frontend GET / calling auth once, with whatever ``extra`` adds."""
    return [
        _span("r", "", 0, 1000, "frontend:GET /"),
        _span("a", "r", 10, 50, "auth:check"),
        *extra,
    ]


def _segments(n: int) -> list[Span]:
    return [_span(f"s{i}", "r", 100 + 10 * i, 105 + 10 * i, "cdn:GET /segment") for i in range(n)]


ROOT, AUTH, SEGMENT = "frontend:GET /", "frontend:GET / > auth:check", "frontend:GET / > cdn:GET /segment"


@pytest.mark.parametrize(
    ("spans_a", "spans_b", "expected"),
    [
        pytest.param(
            _page(*_segments(2)),
            _page(*_segments(2)),
            [(ROOT, 1, 1), (AUTH, 1, 1), (SEGMENT, 2, 2)],
            id="Identical traces have every node in both with no difference.",
        ),
        pytest.param(
            _page(),
            _page(_span("d", "r", 60, 90, "db:SELECT")),
            [(ROOT, 1, 1), (AUTH, 1, 1), ("frontend:GET / > db:SELECT", 0, 1)],
            id="A span added in B is a node only in B.",
        ),
        pytest.param(
            _page(_span("p", "r", 60, 90, "pay:charge"), _span("q", "p", 70, 80, "bank:debit")),
            _page(),
            [
                (ROOT, 1, 1),
                (AUTH, 1, 1),
                ("frontend:GET / > pay:charge", 1, 0),
                ("frontend:GET / > pay:charge > bank:debit", 1, 0),
            ],
            id="A subtree only in A is only in A all the way down.",
        ),
        pytest.param(
            _page(*_segments(3)),
            _page(*_segments(5)),
            [(ROOT, 1, 1), (AUTH, 1, 1), (SEGMENT, 3, 5)],
            id="Repeated calls collapse into one node with a count per trace.",
        ),
        pytest.param(
            _page(_span("c", "a", 20, 30, "cache:GET"), _span("d", "r", 60, 90, "db:SELECT")),
            _page(_span("d", "r", 60, 90, "db:SELECT"), _span("c", "d", 70, 80, "cache:GET")),
            [
                (ROOT, 1, 1),
                (AUTH, 1, 1),
                ("frontend:GET / > auth:check > cache:GET", 1, 0),
                ("frontend:GET / > db:SELECT", 1, 1),
                ("frontend:GET / > db:SELECT > cache:GET", 0, 1),
            ],
            id="The same operation under different parents is two distinct nodes.",
        ),
        pytest.param(
            _page(),
            [
                *_page(),
                _span("o", "gone", 500, 600, "worker:consume"),
                _span("w", "o", 510, 520, "db:UPDATE"),
            ],
            [
                (ROOT, 1, 1),
                (AUTH, 1, 1),
                ("worker:consume", 0, 1),
                ("worker:consume > db:UPDATE", 0, 1),
            ],
            id="An orphan starts a top-level path of its own.",
        ),
        pytest.param(
            [
                _span("r", "", 0, 1000, "frontend:GET /"),
                _span("a", "r", 10, 20, "auth:check"),
                _span("c", "r", 30, 40, "cdn:GET /segment"),
            ],
            [
                _span("r", "", 0, 1000, "frontend:GET /"),
                _span("c", "r", 10, 20, "cdn:GET /segment"),
                _span("d", "r", 30, 40, "db:SELECT"),
                _span("a", "r", 50, 60, "auth:check"),
            ],
            [(ROOT, 1, 1), (AUTH, 1, 1), (SEGMENT, 1, 1), ("frontend:GET / > db:SELECT", 0, 1)],
            id="Siblings follow A's waterfall, then what only B has in B's order.",
        ),
    ],
)
def test_compare_traces(spans_a, spans_b, expected) -> None:
    comparison = compare_traces(_trace("ta", *spans_a), _trace("tb", *spans_b))
    assert _rows(comparison) == expected
    for node, (_, count_a, count_b) in zip(comparison.nodes, expected, strict=True):
        assert node.count_difference == count_b - count_a
        assert node.presence == ("only_b" if not count_a else "only_a" if not count_b else "both")


def test_the_output_order_is_the_same_on_every_run() -> None:
    spans_a = _page(*_segments(3), _span("d", "r", 60, 90, "db:SELECT"))
    spans_b = _page(_span("d", "r", 5, 9, "db:SELECT"), *_segments(1))
    runs = {tuple(_rows(compare_traces(_trace("ta", *spans_a), _trace("tb", *spans_b)))) for _ in range(5)}
    assert len(runs) == 1


def test_durations_and_errors_are_summed_over_collapsed_spans() -> None:
    a = _trace(
        "ta",
        _span("r", "", 0, 1000, "frontend:GET /"),
        _span("s1", "r", 100, 130, "cdn:GET /segment", STATUS_ERROR),
        _span("s2", "r", 200, 250, "cdn:GET /segment"),
    )
    b = _trace(
        "tb",
        _span("r", "", 0, 800, "frontend:GET /", STATUS_ERROR),
        *[_span(f"s{i}", "r", 100 * i, 100 * i + 20, "cdn:GET /segment", STATUS_ERROR) for i in range(1, 4)],
    )
    comparison = compare_traces(a, b)
    figures = {
        _label(node): (node.duration_a_ns, node.duration_b_ns, node.errors_a, node.errors_b)
        for node in comparison.nodes
    }
    assert figures == {ROOT: (1000, 800, 0, 1), SEGMENT: (80, 60, 1, 3)}
    segment = comparison.find((("frontend", "GET /"), ("cdn", "GET /segment")))
    assert segment is not None
    assert (segment.count_difference, segment.duration_difference_ns) == (1, -20)


def test_the_summary_counts_each_class_and_changed_counts_only_shared_nodes() -> None:
    a = _trace("ta", *_page(*_segments(3), _span("p", "r", 60, 90, "pay:charge")))
    b = _trace("tb", *_page(*_segments(5), _span("d", "r", 60, 90, "db:SELECT")))
    comparison = compare_traces(a, b)
    assert (comparison.trace_id_a, comparison.trace_id_b) == ("ta", "tb")
    assert (comparison.both, comparison.only_a, comparison.only_b, comparison.changed) == (3, 1, 1, 1)
    assert comparison.find((("frontend", "GET /"), ("nope", "x"))) is None
    assert comparison.find(()) is None


def test_a_chain_ten_thousand_deep_is_compared_without_recursion() -> None:
    depth = 10_000
    spans = [
        _span(f"s{i}", f"s{i - 1}" if i else "", i, 2 * depth - i, f"svc:op{i % 2}") for i in range(depth)
    ]
    comparison = compare_traces(_trace("ta", *spans), _trace("tb", *spans[:-1]))
    assert len(comparison.nodes) == depth
    assert [node.depth for node in comparison.nodes] == list(range(depth))
    deepest = comparison.nodes[-1]
    assert (deepest.presence, len(deepest.path), deepest.path[-1]) == ("only_a", depth, ("svc", "op1"))
    assert (comparison.both, comparison.only_a) == (depth - 1, 1)
