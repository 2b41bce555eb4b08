"""The critical path of an assembled trace, computed the way Jaeger UI does it.

Jaeger UI (``components/TracePage/CriticalPath``) walks back from the end of the root span:
a span is blocked by its *last finishing child* (LFC), so the path runs through that
child; when a span has no child left that finished before the point we returned from,
the span itself was doing the work and the path climbs back to its parent at the span's
start. The steps, and how this module matches them:

1. ``getChildOfSpans``: FOLLOWS_FROM children (``SpanNode.follows_from``: consumers,
   children of producers, follows_from links) are dropped with their whole subtree; the
   parent never waited for them.
2. ``sanitizeOverFlowingChildren``: top-down, each child is compared with its parent as
   already clipped. Jaeger's comparisons, kept exactly:

   * ``child.start >= parent.start``: dropped when ``child.start >= parent.end``, else its
     end is clipped to ``parent.end``;
   * ``child.start < parent.start``: dropped when ``child.end <= parent.start``, else its
     start becomes ``parent.start`` and its end is clipped to ``parent.end``.

   So a zero-length child exactly at its parent's start is kept, one at its end dropped.
3. Children in order of end time, latest first; ties by start time, then span id (Jaeger
   sorts stably by end over siblings already in start order).
4. The LFC is the first child in that order or, when returning from a child that started
   at ``R``, the first child ending strictly before ``R``.

Two deliberate differences from the TypeScript: a returning start of ``0`` is a real time
(Jaeger tests it for truthiness, which only works because epoch microseconds are never
0), and a span whose end is before its start is treated as zero-length. Everything is
iterative, since traces can be chains thousands of spans deep, and the input trace is
never modified: clipped times live in this module's own arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracing.assembly import SpanNode, Trace


@dataclass(frozen=True, slots=True)
class Section:
    """A stretch of one span's own time that lies on the critical path."""

    span_id: str
    start_ns: int
    end_ns: int

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


def critical_path(trace: Trace) -> list[Section]:
    """The critical path from ``trace.root``, as sections from the end of the trace backwards.

    The first section ends at the root's end and each next one ends where the previous one
    started, so together they tile ``[root.start_ns, root.end_ns]`` (empty sections are
    left out, as Jaeger does). Orphans and other roots are not part of the root's tree and
    never appear.
    """
    nodes, parent, start, end, kids = _sanitized_tree(trace.root)
    sections: list[Section] = []
    # ``cursor[i]``: where the search for node i's next LFC resumes. Returning start times
    # only decrease at a node, and every child before the cursor ends at or after the
    # child we returned from started, so Jaeger's scan from the front would skip them
    # too; resuming keeps the walk linear instead of quadratic on wide spans.
    cursor = [0] * len(nodes)
    current = 0
    returning: int | None = None  # start of the child we came back from, if any
    while True:
        upto = end[current] if returning is None else returning
        children = kids[current]
        k = cursor[current]
        if returning is not None:
            while k < len(children) and end[children[k]] >= returning:
                k += 1
        if k < len(children):
            lfc = children[k]
            cursor[current] = k + 1
            _push(sections, nodes[current], end[lfc], upto)
            current, returning = lfc, None
            continue
        cursor[current] = k
        _push(sections, nodes[current], start[current], upto)
        if parent[current] < 0:
            return sections
        current, returning = parent[current], start[current]


def _push(sections: list[Section], node: SpanNode, start_ns: int, end_ns: int) -> None:
    if start_ns != end_ns:  # Jaeger leaves empty sections out
        sections.append(Section(node.span_id, start_ns, end_ns))


def _sanitized_tree(
    root: SpanNode,
) -> tuple[list[SpanNode], list[int], list[int], list[int], list[list[int]]]:
    """Steps 1–3: the synchronous subtree of ``root``, clipped, children sorted by end.

    Returns parallel arrays indexed by position (the root is 0): the nodes, each one's
    parent index (-1 for the root), clipped start and end, and child indexes latest
    finishing first.
    """
    nodes = [root]
    parent = [-1]
    start = [root.start_ns]
    end = [max(root.end_ns, root.start_ns)]
    kids: list[list[int]] = [[]]
    # Parents are always processed before their children (a node is appended only after
    # its parent is clipped), so each child is measured against its clipped parent.
    pos = 0
    while pos < len(nodes):
        p_start, p_end = start[pos], end[pos]
        for child in nodes[pos].children:
            if child.follows_from:
                continue  # the parent did not wait for it; its subtree is never reached
            c_start, c_end = child.start_ns, max(child.end_ns, child.start_ns)
            if c_start >= p_start:
                if c_start >= p_end:
                    continue  # starts at or after the parent's end
            else:
                if c_end <= p_start:
                    continue  # ends at or before the parent's start
                c_start = p_start
            kids[pos].append(len(nodes))
            nodes.append(child)
            parent.append(pos)
            start.append(c_start)
            end.append(min(c_end, p_end))
            kids.append([])
        pos += 1
    for children in kids:
        if len(children) > 1:
            children.sort(key=lambda c: (-end[c], nodes[c].start_ns, nodes[c].span_id))
    return nodes, parent, start, end, kids


def critical_time_by_span(sections: list[Section]) -> dict[str, int]:
    """Nanoseconds on the critical path per span id (a span can own several sections)."""
    totals: dict[str, int] = {}
    for section in sections:
        totals[section.span_id] = totals.get(section.span_id, 0) + section.duration_ns
    return totals
