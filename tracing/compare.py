"""Structural comparison of two traces, like the trace diff of Jaeger UI (``TraceDag.diff``).

Each trace is collapsed into a tree of unique paths: a node stands for one sequence of
(service, operation) from a top-level span down, and every span reached by that sequence
is collapsed into it, with a count. The two trees are merged, so each merged node carries
the count, summed duration and errors in trace A and in trace B; a node is then present in
both, only in A or only in B, and its count difference is ``count_b - count_a``.

Where this differs from Jaeger UI: every root in ``trace.roots`` (true roots, orphans and
spans cut out of a parent cycle) starts a top-level path; a leaf and a span with children
on the same path are one node (Jaeger keys leaves apart); and Jaeger's heuristics that
skip client spans or rename HTTP operations are left out, so the tree is the one the
waterfall shows.

A node holds its parent node, not its whole path: a chain 10,000 spans deep would need
tens of millions of tuple slots otherwise. ``DiffNode.path`` builds the path on demand.
All walks are iterative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from store.model import STATUS_ERROR
from tracing.assembly import Trace

Presence = Literal["both", "only_a", "only_b"]
PathKey = tuple[tuple[str, str], ...]


# eq=False: two nodes with equal figures under different parents are still distinct nodes.
@dataclass(frozen=True, slots=True, eq=False)
class DiffNode:
    """One unique (service, operation) path, with what each trace has on it."""

    service: str
    operation: str
    depth: int  # 0 for a top-level path start
    # Left out of repr so that printing a deep node does not print its ancestry.
    parent: DiffNode | None = field(repr=False)
    count_a: int
    count_b: int
    duration_a_ns: int  # summed over the collapsed spans
    duration_b_ns: int
    errors_a: int
    errors_b: int

    @property
    def path(self) -> PathKey:
        """(service, operation) from the top-level span down to this node."""
        steps: list[tuple[str, str]] = []
        node: DiffNode | None = self
        while node is not None:
            steps.append((node.service, node.operation))
            node = node.parent
        return tuple(reversed(steps))

    @property
    def presence(self) -> Presence:
        if self.count_a and self.count_b:
            return "both"
        return "only_a" if self.count_a else "only_b"

    @property
    def count_difference(self) -> int:
        return self.count_b - self.count_a

    @property
    def duration_difference_ns(self) -> int:
        return self.duration_b_ns - self.duration_a_ns


@dataclass(frozen=True, slots=True)
class TraceComparison:
    """The merged tree in depth-first order, with how many nodes fall in each class."""

    trace_id_a: str
    trace_id_b: str
    nodes: tuple[DiffNode, ...]
    only_a: int
    only_b: int
    both: int
    changed: int  # present in both, with a different span count

    def find(self, path: PathKey) -> DiffNode | None:
        """The node for ``path``, if either trace has it (a linear scan)."""
        if not path:
            return None
        depth, last = len(path) - 1, path[-1]
        for node in self.nodes:
            if node.depth == depth and (node.service, node.operation) == last and node.path == path:
                return node
        return None


class _Merged:
    """A node of the merged tree while the two traces are folded in; index 0 is A, 1 is B."""

    __slots__ = ("children", "count", "duration", "errors", "key")

    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key
        self.children: dict[tuple[str, str], _Merged] = {}  # insertion order = first seen
        self.count = [0, 0]
        self.duration = [0, 0]
        self.errors = [0, 0]


def _fold(trace: Trace, side: int, top: _Merged) -> None:
    """Add every span of ``trace`` to the merged tree under ``top``, on ``side``."""
    placed: dict[str, _Merged] = {}  # span id → its merged node
    # Waterfall order puts a parent before its children, so one pass places everything,
    # and siblings keep the order in which they first appear in the waterfall.
    for node in trace.nodes:
        parent = top if node.parent is None else placed[node.parent.span_id]
        key = (node.span.service, node.span.name)
        merged = parent.children.get(key)
        if merged is None:
            merged = parent.children[key] = _Merged(key)
        merged.count[side] += 1
        merged.duration[side] += node.duration_ns
        merged.errors[side] += node.span.status_code == STATUS_ERROR
        placed[node.span_id] = merged


def compare_traces(a: Trace, b: Trace) -> TraceComparison:
    """Merge the path trees of ``a`` and ``b``.

    The order is depth first; siblings come in the order they first appear in A's
    waterfall, then those only B has in the order of B's. The same two traces always give
    the same order, and a diff reads like A's waterfall with B's additions after.
    """
    top = _Merged(("", ""))
    _fold(a, 0, top)
    _fold(b, 1, top)
    nodes: list[DiffNode] = []
    stack: list[tuple[_Merged, DiffNode | None, int]] = [
        (child, None, 0) for child in reversed(top.children.values())
    ]
    while stack:
        merged, parent, depth = stack.pop()
        node = DiffNode(
            service=merged.key[0],
            operation=merged.key[1],
            depth=depth,
            parent=parent,
            count_a=merged.count[0],
            count_b=merged.count[1],
            duration_a_ns=merged.duration[0],
            duration_b_ns=merged.duration[1],
            errors_a=merged.errors[0],
            errors_b=merged.errors[1],
        )
        nodes.append(node)
        stack.extend((child, node, depth + 1) for child in reversed(merged.children.values()))
    presences = [node.presence for node in nodes]
    return TraceComparison(
        trace_id_a=a.trace_id,
        trace_id_b=b.trace_id,
        nodes=tuple(nodes),
        only_a=presences.count("only_a"),
        only_b=presences.count("only_b"),
        both=presences.count("both"),
        changed=sum(1 for node in nodes if node.count_a and node.count_b and node.count_difference),
    )
