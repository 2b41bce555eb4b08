"""Trace assembly: the tree, orphans, malformed traces, Jaeger's clock-skew adjustment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from store.model import SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER, Span
from tracing.assembly import EmptyTrace, assemble
from tracing.clock_skew import MAX_SKEW_NS

TRACE = "ab" * 16


def span(
    n: int,
    parent: int | None,
    start: int,
    end: int,
    service: str = "playback",
    *,
    kind: int = SPAN_KIND_SERVER,
    host: str | None = None,
    status: int = 0,
    links: tuple[Mapping[str, Any], ...] = (),
) -> Span:
    return Span(
        TRACE,
        f"{n:016x}",
        "" if parent is None else f"{parent:016x}",
        f"op{n}",
        kind,
        start,
        end,
        service,
        status_code=status,
        resource={"host.name": host} if host else {},
        links=links,
    )


def layout(spans: list[Span]) -> list[tuple[int, int, int, int]]:
    """(span number, depth, adjusted start, adjusted end) in waterfall order."""
    trace = assemble(TRACE, spans)
    return [(int(n.span_id, 16), n.depth, n.start_ns, n.end_ns) for n in trace.nodes]


def test_the_tree_is_in_waterfall_order_siblings_by_start():
    spans = [span(1, None, 0, 100), span(3, 1, 50, 90), span(2, 1, 10, 40), span(4, 2, 20, 30)]
    assert layout(spans) == [(1, 0, 0, 100), (2, 1, 10, 40), (4, 2, 20, 30), (3, 1, 50, 90)]


def test_the_summary_counts_spans_errors_and_services():
    trace = assemble(
        TRACE,
        [
            # One host, one clock: the cdn span outliving the root stays as recorded.
            span(1, None, 0, 100, "playback", host="node-1"),
            span(2, 1, 10, 40, "drm", status=2, host="node-1"),
            span(3, 1, 50, 120, "cdn", host="node-1"),
            span(4, 1, 50, 60, "cdn", host="node-1"),
        ],
    )
    summary = trace.summary()
    assert (summary.root_service, summary.root_operation) == ("playback", "op1")
    assert (summary.start_ns, summary.duration_ns, summary.span_count, summary.error_count) == (0, 120, 4, 1)
    assert summary.services == {"cdn": 2, "drm": 1, "playback": 1}


def test_a_span_whose_parent_is_missing_is_an_orphan_after_the_true_roots():
    trace = assemble(TRACE, [span(2, 9, 5, 6), span(1, None, 10, 20), span(3, 2, 5, 6)])
    assert [n.span_id[-1] for n in trace.roots] == ["1", "2"]
    orphan = trace.roots[1]
    assert orphan.orphan and orphan.warnings == ["parent span 0000000000000009 is not in the trace"]
    assert [c.span_id[-1] for c in orphan.children] == ["3"]
    assert not trace.malformed  # a missing parent is common (not sent yet), not a malformed trace
    assert trace.summary().root_operation == "op1"


def test_a_trace_of_orphans_only_is_rooted_at_its_earliest_span():
    trace = assemble(TRACE, [span(3, 8, 7, 9), span(2, 9, 5, 6)])
    assert trace.root.span_id.endswith("2") and all(root.orphan for root in trace.roots)


def test_repeated_span_ids_are_reported_and_the_later_copy_left_out():
    trace = assemble(TRACE, [span(1, None, 0, 100), span(2, 1, 10, 20), span(2, 1, 30, 40)])
    assert trace.malformed
    assert trace.problems == ["span id 0000000000000002 appears more than once; the later copy is left out"]
    assert [(n.span_id[-1], n.start_ns) for n in trace.nodes] == [("1", 0), ("2", 10)]


@pytest.mark.parametrize(
    ("spans", "cut"),
    [
        pytest.param([span(1, 2, 0, 10), span(2, 1, 5, 8)], "1", id="two spans that are each other's parent"),
        pytest.param(
            [span(1, None, 0, 100), span(2, 4, 10, 20), span(3, 2, 12, 14), span(4, 3, 11, 19)],
            "2",
            id="a three-span loop beside a sound root",
        ),
    ],
)
def test_a_parent_cycle_is_cut_reported_and_never_followed_forever(spans, cut):
    trace = assemble(TRACE, spans)
    assert trace.malformed and "form a parent cycle" in trace.problems[0]
    assert trace.problems[0].endswith(f"cut at span {int(cut):016x}")
    assert sorted(n.span_id for n in trace.nodes) == sorted(s.span_id for s in spans)


def test_a_span_that_is_its_own_parent_is_malformed():
    trace = assemble(TRACE, [span(1, 1, 0, 10)])
    assert trace.problems == ["span 0000000000000001 is its own parent"] and trace.root.orphan


def test_an_empty_trace_is_refused():
    with pytest.raises(EmptyTrace):
        assemble(TRACE, [])


def test_a_chain_ten_thousand_deep_is_assembled_without_recursion():
    spans = [span(n, n - 1 if n > 1 else None, n, 40_000 - n) for n in range(1, 10_001)]
    trace = assemble(TRACE, spans)
    assert trace.nodes[-1].depth == 9_999 and len(trace.nodes) == 10_000


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        pytest.param((120, 170), (25, 75), id="a child starting after its parent ends is centred in it"),
        pytest.param((-40, 10), (25, 75), id="a child starting before its parent is centred in it"),
        pytest.param((30, 70), (30, 70), id="a child that fits is left alone"),
        pytest.param((-50, 150), (0, 200), id="a longer child starting earlier starts with its parent"),
        pytest.param((120, 320), (120, 320), id="a longer child starting later is left alone"),
    ],
)
def test_a_child_on_another_host_is_adjusted_into_its_parent(child, expected):
    spans = [
        span(1, None, 100, 200, host="edge-1"),
        span(2, 1, 100 + child[0], 100 + child[1], "drm", host="drm-1"),
    ]
    # Offsets from the parent's start.
    assert layout(spans)[1][2:] == (100 + expected[0], 100 + expected[1])


def test_the_shift_carries_to_descendants_on_the_same_host_and_not_to_another_host():
    spans = [
        span(1, None, 0, 100, host="edge-1"),
        span(2, 1, 1_000, 1_060, "drm", host="drm-1"),  # skewed +980: centred at 20..80
        span(3, 2, 1_010, 1_020, "drm", host="drm-1"),  # same host: moves with it
        span(4, 2, 30, 50, "hsm", host="hsm-1"),  # another host, fits its adjusted parent
    ]
    assert layout(spans) == [(1, 0, 0, 100), (2, 1, 20, 80), (3, 2, 30, 40), (4, 2, 30, 50)]
    trace = assemble(TRACE, spans)
    assert trace.by_id()[f"{2:016x}"].skew_ns == -980
    assert "clock skew adjusted by -0.001 ms" in trace.by_id()[f"{2:016x}"].warnings[0]


def test_spans_on_one_host_share_a_clock_and_are_not_adjusted():
    spans = [span(1, None, 100, 200, host="edge-1"), span(2, 1, 50, 150, "drm", host="edge-1")]
    assert layout(spans)[1][2:] == (50, 150)


def test_a_shift_over_the_limit_is_not_applied_and_the_span_says_why():
    far = MAX_SKEW_NS * 2
    spans = [span(1, None, 0, 100, host="a"), span(2, 1, far, far + 10, "drm", host="b")]
    trace = assemble(TRACE, spans)
    child = trace.by_id()[f"{2:016x}"]
    assert (child.start_ns, child.skew_ns) == (far, 0) and "not adjusted" in child.warnings[0]


@pytest.mark.parametrize(
    ("parent_kind", "child_kind", "links", "follows"),
    [
        pytest.param(SPAN_KIND_CLIENT, SPAN_KIND_SERVER, (), False, id="a server span under a client waits"),
        pytest.param(SPAN_KIND_PRODUCER, SPAN_KIND_SERVER, (), True, id="any child of a producer is async"),
        pytest.param(SPAN_KIND_SERVER, SPAN_KIND_CONSUMER, (), True, id="a consumer span is async"),
        pytest.param(
            SPAN_KIND_SERVER,
            SPAN_KIND_SERVER,
            ({"span_id": f"{1:016x}", "attributes": {"opentracing.ref_type": "follows_from"}},),
            True,
            id="an OpenTracing follows_from link to the parent is async",
        ),
    ],
)
def test_which_children_follow_from_their_parent(parent_kind, child_kind, links, follows):
    spans = [span(1, None, 0, 100, kind=parent_kind), span(2, 1, 10, 20, kind=child_kind, links=links)]
    assert assemble(TRACE, spans).nodes[1].follows_from is follows


def test_an_async_child_on_another_host_keeps_its_own_clock():
    spans = [
        span(1, None, 0, 1_000, kind=SPAN_KIND_PRODUCER, host="encoder-1"),
        span(2, 1, 1_800_000, 1_800_500, "drm", kind=SPAN_KIND_CONSUMER, host="drm-1"),
    ]
    assert layout(spans)[1][2:] == (1_800_000, 1_800_500)


def test_many_parent_cycles_are_each_cut_once():
    spans = [s for n in range(1, 2_001, 2) for s in (span(n, n + 1, n, n + 5), span(n + 1, n, n + 1, n + 4))]
    trace = assemble(TRACE, spans)
    assert len(trace.problems) == 1_000 and len(trace.nodes) == 2_000


def test_a_long_cycle_is_reported_elided():
    spans = [span(n, n % 50 + 1, n, n + 1) for n in range(1, 51)]
    [problem] = assemble(TRACE, spans).problems
    assert "… 30 more →" in problem and problem.count("→") == 21
