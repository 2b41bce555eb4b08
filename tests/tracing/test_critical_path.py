"""Critical path by Jaeger UI's algorithm: Jaeger's own unit-test traces, boundaries, scale."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from store.model import (
    SPAN_KIND_CONSUMER,
    SPAN_KIND_INTERNAL,
    SPAN_KIND_PRODUCER,
    SPAN_KIND_SERVER,
    Span,
)
from tracing.assembly import Trace, assemble
from tracing.critical_path import Section, critical_path, critical_time_by_span

FOLLOWS_FROM = {"opentracing.ref_type": "follows_from"}


def sp(
    span_id: str,
    parent: str,
    start: int,
    end: int,
    *,
    kind: int = SPAN_KIND_INTERNAL,
    links: tuple[Mapping[str, Any], ...] = (),
) -> Span:
    """A span of the one service "svc", so assembly applies no clock-skew shift."""
    return Span("t1", span_id, parent, f"op-{span_id}", kind, start, end, "svc", links=links)


def path_of(spans: Sequence[Span]) -> list[tuple[str, int, int]]:
    return [(s.span_id, s.start_ns, s.end_ns) for s in critical_path(assemble("t1", spans))]


CASES = [
    pytest.param(
        [sp("a", "", 0, 100)],
        [("a", 0, 100)],
        id="A lone span is its own critical path from start to end.",
    ),
    pytest.param(
        # Jaeger's test1 and the blog's first picture: C waits for D, then for E.
        [sp("C", "", 1, 101), sp("D", "C", 20, 40), sp("E", "C", 50, 60)],
        [("C", 60, 101), ("E", 50, 60), ("C", 40, 50), ("D", 20, 40), ("C", 1, 20)],
        id="Sequential children with gaps put the parent's gaps and each child on the path, latest first.",
    ),
    pytest.param(
        # Jaeger's test2: A ends after C starts, so A never finishes before C's start.
        [sp("X", "", 1, 101), sp("A", "X", 10, 50), sp("C", "X", 20, 60)],
        [("X", 60, 101), ("C", 20, 60), ("X", 1, 20)],
        id="Of two overlapping children only the later finishing one is on the path.",
    ),
    pytest.param(
        [sp("X", "", 0, 100), sp("A", "X", 10, 30), sp("C", "X", 20, 60), sp("B", "X", 0, 15)],
        [("X", 60, 100), ("C", 20, 60), ("X", 15, 20), ("B", 0, 15)],
        id="After the last finisher the path takes the latest child that ended strictly before it started.",
    ),
    pytest.param(
        [sp("X", "", 0, 100), sp("B", "X", 10, 40), sp("C", "X", 40, 90)],
        [("X", 90, 100), ("C", 40, 90), ("X", 0, 40)],
        id="A child ending exactly when the next one starts is not before it: the comparison is strict.",
    ),
    pytest.param(
        # Jaeger's test7: B outlives A and C outlives B; both are cut at A's end.
        [sp("A", "", 1, 30), sp("B", "A", 15, 35), sp("C", "B", 20, 40)],
        [("C", 20, 30), ("B", 15, 20), ("A", 1, 15)],
        id="Children that outlive their parent are clipped to end with it.",
    ),
    pytest.param(
        # Jaeger's test8.
        [sp("A", "", 10, 30), sp("B", "A", 5, 35)],
        [("B", 10, 30)],
        id="A child starting before and ending after its parent is clipped at both ends.",
    ),
    pytest.param(
        [sp("A", "", 10, 50), sp("B", "A", 5, 30)],
        [("A", 30, 50), ("B", 10, 30)],
        id="A child starting before its parent is clipped to start with it.",
    ),
    pytest.param(
        # Jaeger's test6: C is compared with B after B was clipped to [15, 30].
        [sp("A", "", 1, 30), sp("B", "A", 15, 35), sp("C", "B", 10, 25)],
        [("B", 25, 30), ("C", 15, 25), ("A", 1, 15)],
        id="A grandchild is clipped against its parent as already clipped, not as recorded.",
    ),
    pytest.param(
        [sp("A", "", 0, 50), sp("B", "A", 40, 80), sp("C", "B", 60, 70)],
        [("B", 40, 50), ("A", 0, 40)],
        id="A grandchild outside its clipped parent is dropped even though it fits the recorded parent.",
    ),
    pytest.param(
        # Jaeger's test4: B lies after A, and C goes with it.
        [sp("A", "", 1, 31), sp("B", "A", 40, 80), sp("C", "B", 50, 60)],
        [("A", 1, 31)],
        id="A child entirely after its parent is dropped with its subtree.",
    ),
    pytest.param(
        # Jaeger's test9.
        [sp("A", "", 10, 30), sp("B", "A", 1, 5)],
        [("A", 10, 30)],
        id="A child entirely before its parent is dropped.",
    ),
    pytest.param(
        [sp("A", "", 0, 50), sp("B", "A", 50, 60)],
        [("A", 0, 50)],
        id="A child starting exactly at its parent's end is dropped.",
    ),
    pytest.param(
        [sp("A", "", 10, 50), sp("B", "A", 0, 10)],
        [("A", 10, 50)],
        id="A child ending exactly at its parent's start is dropped.",
    ),
    pytest.param(
        [
            sp("R", "", 0, 100, kind=SPAN_KIND_SERVER),
            sp("Q", "R", 50, 150, kind=SPAN_KIND_CONSUMER),
            sp("C", "R", 10, 40),
        ],
        [("R", 40, 100), ("C", 10, 40), ("R", 0, 10)],
        id="A consumer child is asynchronous and left off even when it finishes last.",
    ),
    pytest.param(
        [
            sp("R", "", 0, 100, kind=SPAN_KIND_SERVER),
            sp("P", "R", 10, 30, kind=SPAN_KIND_PRODUCER),
            sp("W", "P", 20, 90),
        ],
        [("R", 30, 100), ("P", 10, 30), ("R", 0, 10)],
        id="A child of a producer is asynchronous and left off, so the producer has no children on the path.",
    ),
    pytest.param(
        [
            sp("R", "", 0, 100),
            sp("F", "R", 10, 120, links=({"span_id": "R", "attributes": FOLLOWS_FROM},)),
            sp("C", "R", 20, 50),
        ],
        [("R", 50, 100), ("C", 20, 50), ("R", 0, 20)],
        id="A child with a follows_from link to its parent is left off.",
    ),
    pytest.param(
        [sp("R", "", 0, 100), sp("Q", "R", 10, 90, kind=SPAN_KIND_CONSUMER), sp("D", "Q", 20, 95)],
        [("R", 0, 100)],
        id="The synchronous children of an asynchronous span are left off with it.",
    ),
    pytest.param(
        [
            sp("R", "", 0, 100),
            sp("A", "R", 10, 80),
            sp("A1", "A", 20, 40),
            sp("A2", "A", 50, 70),
            sp("B", "R", 85, 95),
        ],
        [
            ("R", 95, 100),
            ("B", 85, 95),
            ("R", 80, 85),
            ("A", 70, 80),
            ("A2", 50, 70),
            ("A", 40, 50),
            ("A1", 20, 40),
            ("A", 10, 20),
            ("R", 0, 10),
        ],
        id="Nested grandchildren are walked into and back out of, level by level.",
    ),
    pytest.param(
        [sp("R", "", 0, 100), sp("C", "R", 20, 60), sp("B", "R", 10, 60)],
        [("R", 60, 100), ("B", 10, 60), ("R", 0, 10)],
        id="Of children ending at the same time the one that started first is taken.",
    ),
    pytest.param(
        [sp("R", "", 0, 100), sp("c", "R", 10, 60), sp("b", "R", 10, 60)],
        [("R", 60, 100), ("b", 10, 60), ("R", 0, 10)],
        id="Of children with the same start and end the smaller span id is taken.",
    ),
    pytest.param(
        [sp("R", "", 0, 100), sp("B", "R", 50, 100), sp("A", "R", 0, 30)],
        [("B", 50, 100), ("R", 30, 50), ("A", 0, 30)],
        id="A child starting at time zero hands back a start of zero, a real time and not a missing one.",
    ),
    pytest.param(
        [sp("R", "", 0, 100), sp("X", "gone", 50, 200)],
        [("R", 0, 100)],
        id="An orphan finishing after the root is outside the root's tree and not on its path.",
    ),
]


@pytest.mark.parametrize(("spans", "expected"), CASES)
def test_critical_path_sections(spans: list[Span], expected: list[tuple[str, int, int]]) -> None:
    assert path_of(spans) == expected


def test_a_chain_ten_thousand_deep_is_walked_without_recursion_and_covers_each_span_where_expected() -> None:
    n = 10_000
    ids = [f"s{i:05d}" for i in range(n)]
    # Span i runs [i, 2n - i]: each one nests inside the one above it.
    spans = [sp(ids[i], ids[i - 1] if i else "", i, 2 * n - i) for i in range(n)]
    trace = assemble("t1", spans)
    sections = critical_path(trace)
    going_down = [(ids[i], 2 * n - i - 1, 2 * n - i) for i in range(n - 1)]
    innermost = [(ids[n - 1], n - 1, n + 1)]
    coming_up = [(ids[i], i, i + 1) for i in reversed(range(n - 1))]
    assert [(s.span_id, s.start_ns, s.end_ns) for s in sections] == going_down + innermost + coming_up


def test_a_span_with_ten_thousand_sequential_children_alternates_with_its_gaps() -> None:
    n = 10_000
    spans = [sp("root", "", 0, 2 * n)] + [sp(f"c{i:05d}", "root", 2 * i, 2 * i + 1) for i in range(n)]
    trace = assemble("t1", spans)
    sections = critical_path(trace)
    assert len(sections) == 2 * n
    assert sum(s.duration_ns for s in sections) == 2 * n
    assert critical_time_by_span(sections)["root"] == n


def _snapshot(trace: Trace) -> list[tuple[object, ...]]:
    return [
        (
            node.span_id,
            node.start_ns,
            node.end_ns,
            node.span,
            node.parent.span_id if node.parent else None,
            [child.span_id for child in node.children],
            node.follows_from,
            list(node.warnings),
        )
        for node in trace.nodes
    ]


def test_the_input_trace_is_not_changed_by_clipping_dropping_or_sorting() -> None:
    trace = assemble(
        "t1",
        [
            sp("A", "", 10, 50),
            sp("B", "A", 5, 70),
            sp("C", "B", 60, 80),
            sp("D", "A", 20, 30),
            sp("E", "A", 15, 45, kind=SPAN_KIND_CONSUMER),
        ],
    )
    before = _snapshot(trace)
    roots = list(trace.roots)
    critical_path(trace)
    assert _snapshot(trace) == before
    assert trace.roots == roots


def test_critical_time_by_span_adds_up_each_span_s_sections() -> None:
    sections = [Section("C", 60, 101), Section("E", 50, 60), Section("C", 40, 50), Section("C", 1, 20)]
    assert critical_time_by_span(sections) == {"C": 70, "E": 10}
    assert critical_time_by_span([]) == {}


def _random_trace(rng: random.Random, size: int) -> list[Span]:
    """Spans that often overflow their parents, with some asynchronous ones mixed in."""
    spans = [sp("n0", "", 0, 1_000)]
    for i in range(1, size):
        parent = spans[rng.randrange(len(spans))]
        start = rng.randint(parent.start_ns - 50, parent.end_ns + 20)
        end = start + rng.randint(0, max(1, parent.duration_ns))
        kind = SPAN_KIND_CONSUMER if rng.random() < 0.1 else SPAN_KIND_INTERNAL
        spans.append(sp(f"n{i}", parent.span_id, start, end, kind=kind))
    return spans


@pytest.mark.parametrize("seed", range(12))
def test_sections_of_random_trees_tile_the_root_without_overlap(seed: int) -> None:
    rng = random.Random(seed)
    trace = assemble("t1", _random_trace(rng, rng.randint(1, 200)))
    root = trace.root
    by_id = trace.by_id()
    sections = critical_path(trace)
    assert sections, "a root with a duration always has a path"
    assert sections[0].end_ns == root.end_ns
    assert sections[-1].start_ns == root.start_ns
    for earlier, later in zip(sections[1:], sections, strict=False):
        assert earlier.end_ns == later.start_ns, "each section ends where the one found before it starts"
    for section in sections:
        node = by_id[section.span_id]
        assert section.start_ns < section.end_ns
        assert root.start_ns <= section.start_ns and section.end_ns <= root.end_ns
        assert node.start_ns <= section.start_ns and section.end_ns <= node.end_ns
        ancestor = node
        while ancestor is not root:
            assert not ancestor.follows_from, "no section belongs to an asynchronous subtree"
            assert ancestor.parent is not None
            ancestor = ancestor.parent
    assert sum(s.duration_ns for s in sections) == root.duration_ns
    assert sum(critical_time_by_span(sections).values()) == root.duration_ns
