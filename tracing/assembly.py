"""Trace assembly: stored spans → a tree, with orphans, broken links and clock skew handled.

Every walk here is iterative: a trace can be a chain thousands of spans deep, and a
malformed one (a cycle, a repeated span id) must be reported, never followed forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from store.interfaces import TraceSummary
from store.model import SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, STATUS_ERROR, Span
from tracing.clock_skew import adjust_clock_skew


@dataclass(eq=False, slots=True)
class SpanNode:
    """One span in the tree; ``start_ns``/``end_ns`` are after clock-skew adjustment."""

    span: Span
    start_ns: int
    end_ns: int
    parent: SpanNode | None = None
    children: list[SpanNode] = field(default_factory=list)
    depth: int = 0
    # Whether the parent waits for this span (CHILD_OF) or not (FOLLOWS_FROM, messaging).
    follows_from: bool = False
    orphan: bool = False  # its parent span is not in the trace
    skew_ns: int = 0  # the clock-skew shift applied to this span's times
    warnings: list[str] = field(default_factory=list)

    @property
    def span_id(self) -> str:
        return self.span.span_id

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass
class Trace:
    """An assembled trace: ``nodes`` in waterfall order (depth first, siblings by start)."""

    trace_id: str
    roots: list[SpanNode]  # the true roots first, then orphans, each group by start
    nodes: list[SpanNode]
    problems: list[str]  # why the trace is malformed (repeated ids, cycles); empty when sound

    @property
    def root(self) -> SpanNode:
        return self.roots[0]

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    def by_id(self) -> dict[str, SpanNode]:
        return {node.span_id: node for node in self.nodes}

    def summary(self) -> TraceSummary:
        services: dict[str, int] = {}
        for node in self.nodes:
            services[node.span.service] = services.get(node.span.service, 0) + 1
        start = min(node.start_ns for node in self.nodes)
        end = max(node.end_ns for node in self.nodes)
        return TraceSummary(
            trace_id=self.trace_id,
            root_service=self.root.span.service,
            root_operation=self.root.span.name,
            start_ns=start,
            duration_ns=end - start,
            span_count=len(self.nodes),
            error_count=sum(1 for node in self.nodes if node.span.status_code == STATUS_ERROR),
            services=dict(sorted(services.items())),
        )


class EmptyTrace(ValueError):
    """A trace needs at least one span."""


def is_follows_from(child: Span, parent: Span) -> bool:
    """Whether ``child`` runs without its parent waiting for it.

    OpenTelemetry has no reference types; the OpenTracing shim and Jaeger's translator carry
    FOLLOWS_FROM as a link with ``opentracing.ref_type=follows_from``, and a consumer of a
    message (or any child of a producer) is asynchronous by the messaging conventions.
    """
    if child.kind == SPAN_KIND_CONSUMER or parent.kind == SPAN_KIND_PRODUCER:
        return True
    return any(
        link.get("span_id") == parent.span_id
        and (link.get("attributes") or {}).get("opentracing.ref_type") == "follows_from"
        for link in child.links
    )


def assemble(trace_id: str, spans: Sequence[Span]) -> Trace:
    """Build the tree of ``spans`` (one trace), adjust clock skew, and report what is malformed."""
    if not spans:
        raise EmptyTrace(f"trace {trace_id} has no spans")
    problems: list[str] = []
    nodes: dict[str, SpanNode] = {}
    for span in sorted(spans, key=lambda s: (s.start_ns, s.span_id)):
        if span.span_id in nodes:
            problems.append(f"span id {span.span_id} appears more than once; the later copy is left out")
            continue
        nodes[span.span_id] = SpanNode(span, span.start_ns, span.end_ns)
    roots: list[SpanNode] = []
    orphans: list[SpanNode] = []
    for node in nodes.values():
        parent_id = node.span.parent_span_id
        parent = nodes.get(parent_id) if parent_id else None
        if not parent_id:
            roots.append(node)
        elif parent is None or parent is node:
            node.orphan = True
            reason = "is its own parent" if parent is node else "is not in the trace"
            node.warnings.append(f"parent span {parent_id} {reason}")
            if parent is node:
                problems.append(f"span {node.span_id} is its own parent")
            orphans.append(node)
        else:
            node.parent = parent
            node.follows_from = is_follows_from(node.span, parent.span)
            parent.children.append(node)
    top = roots + orphans
    seen = _walk_order(top)
    # Whatever no root reaches hangs off a cycle: cut each cycle at its earliest span.
    for stray in nodes.values():  # one pass: each cut makes everything it reaches seen
        if stray.span_id in seen:
            continue
        cut = _cycle_entry(stray)
        assert cut.parent is not None
        problems.append(f"spans {_cycle_text(cut)} form a parent cycle; cut at span {cut.span_id}")
        cut.parent.children.remove(cut)
        cut.parent = None
        cut.orphan = True
        cut.warnings.append("its parent chain loops back to it")
        top.append(cut)
        seen.update(_walk_order([cut]))
    ordered = _waterfall(top)
    adjust_clock_skew(ordered)
    roots_first = sorted(top, key=lambda n: (n.orphan, n.start_ns, n.span_id))
    return Trace(trace_id=trace_id, roots=roots_first, nodes=_waterfall(roots_first), problems=problems)


def _walk_order(tops: Iterable[SpanNode]) -> dict[str, SpanNode]:
    """Every node reachable from ``tops``, by id."""
    seen: dict[str, SpanNode] = {}
    stack = list(tops)
    while stack:
        node = stack.pop()
        if node.span_id in seen:
            continue
        seen[node.span_id] = node
        stack.extend(node.children)
    return seen


def _cycle_entry(start: SpanNode) -> SpanNode:
    """Follow parents from ``start`` until one repeats; the earliest span of that loop."""
    visited: set[str] = set()
    node = start
    while node.span_id not in visited:
        visited.add(node.span_id)
        assert node.parent is not None  # unreachable nodes always have a parent
        node = node.parent
    return min(_cycle_members(node), key=lambda n: (n.span.start_ns, n.span_id))


def _cycle_members(on_cycle: SpanNode) -> list[SpanNode]:
    members = [on_cycle]
    node = on_cycle.parent
    while node is not None and node is not on_cycle:
        members.append(node)
        node = node.parent
    return members


def _cycle_text(cut: SpanNode, shown: int = 20) -> str:
    """The loop from ``cut`` up through its parents and back, child → parent; a long one elided."""
    ids = [node.span_id for node in _cycle_members(cut)]
    if len(ids) > shown:
        return " → ".join(ids[:shown]) + f" → … {len(ids) - shown} more → {cut.span_id}"
    return " → ".join([*ids, cut.span_id])


def _waterfall(tops: Sequence[SpanNode]) -> list[SpanNode]:
    """Depth-first order, each node's children by (start, id); sets ``depth``."""
    ordered: list[SpanNode] = []
    stack = [(node, 0) for node in reversed(tops)]
    while stack:
        node, depth = stack.pop()
        node.depth = depth
        ordered.append(node)
        node.children.sort(key=lambda n: (n.start_ns, n.span_id))
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return ordered
