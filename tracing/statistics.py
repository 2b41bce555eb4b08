"""Per-trace statistics, like the "Trace Statistics" view of Jaeger UI.

Spans are grouped by (service, operation) — or by service alone — and each group reports
its span count, total/average/minimum/maximum duration, its self time (the part of each
span not covered by the span's children) with the same aggregates, the self time as a
share of the trace's duration, and how many spans ended in error.

Self time: the children's intervals are clipped to the span, merged where they overlap and
subtracted from the span's duration. Every child counts, asynchronous ones too; clipping
is what keeps a child that outlives its parent (or runs after it ended) from taking more
than the time it shares with the parent. Times are the clock-skew adjusted ones of the
assembled tree. Everything is a flat pass over ``trace.nodes``: no recursion, so a chain
thousands of spans deep is as cheap as a wide trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from store.model import STATUS_ERROR
from tracing.assembly import SpanNode, Trace

GroupBy = Literal["operation", "service"]


@dataclass(frozen=True, slots=True)
class OperationStats:
    """One row of the statistics table; ``operation`` is "" when grouped by service only."""

    service: str
    operation: str
    count: int
    errors: int
    total_ns: int
    min_ns: int
    max_ns: int
    self_total_ns: int
    self_min_ns: int
    self_max_ns: int
    self_percent: float  # self_total_ns as a percentage of the trace's duration

    @property
    def avg_ns(self) -> float:
        return self.total_ns / self.count

    @property
    def self_avg_ns(self) -> float:
        return self.self_total_ns / self.count


def self_time_ns(node: SpanNode) -> int:
    """The time of ``node`` during which none of its children ran."""
    start, end = node.start_ns, node.end_ns
    if end <= start:
        return 0  # a zero-length (or broken, inverted) span has no time to give away
    # Sorted here rather than trusting the children's order, so that any tree works,
    # not only one whose children the assembly already put in start order.
    clipped = sorted(
        (max(child.start_ns, start), min(child.end_ns, end))
        for child in node.children
        if child.start_ns < end and child.end_ns > start
    )
    covered = 0
    run_start = run_end = start  # the current run of merged child intervals
    for lo, hi in clipped:
        if lo > run_end:
            covered += run_end - run_start
            run_start, run_end = lo, hi
        elif hi > run_end:
            run_end = hi
    covered += run_end - run_start
    return end - start - covered


def self_time_by_span(trace: Trace) -> dict[str, int]:
    """Self time in nanoseconds of every span, by span id, in waterfall order."""
    return {node.span_id: self_time_ns(node) for node in trace.nodes}


def trace_duration_ns(trace: Trace) -> int:
    """From the earliest start to the latest end over all spans (not only the root's)."""
    return max(node.end_ns for node in trace.nodes) - min(node.start_ns for node in trace.nodes)


class _Group:
    """The running figures of one group while the nodes are scanned."""

    __slots__ = ("count", "errors", "max_ns", "min_ns", "self_max", "self_min", "self_total", "total_ns")

    def __init__(self, duration: int, own: int) -> None:
        self.count = 0
        self.errors = 0
        self.total_ns = self.self_total = 0
        self.min_ns = self.max_ns = duration
        self.self_min = self.self_max = own

    def add(self, duration: int, own: int, error: bool) -> None:
        self.count += 1
        self.errors += error
        self.total_ns += duration
        self.min_ns = min(self.min_ns, duration)
        self.max_ns = max(self.max_ns, duration)
        self.self_total += own
        self.self_min = min(self.self_min, own)
        self.self_max = max(self.self_max, own)


def trace_statistics(trace: Trace, group_by: GroupBy = "operation") -> list[OperationStats]:
    """The statistics table of ``trace``, by self total descending, then service and operation.

    ``group_by="service"`` folds every operation of a service into one row (its
    ``operation`` is ""), as Jaeger's "Service Name" grouping does.
    """
    groups: dict[tuple[str, str], _Group] = {}
    for node in trace.nodes:
        key = (node.span.service, node.span.name if group_by == "operation" else "")
        duration, own = node.duration_ns, self_time_ns(node)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(duration, own)
        group.add(duration, own, node.span.status_code == STATUS_ERROR)
    trace_ns = trace_duration_ns(trace)
    rows = [
        OperationStats(
            service=service,
            operation=operation,
            count=group.count,
            errors=group.errors,
            total_ns=group.total_ns,
            min_ns=group.min_ns,
            max_ns=group.max_ns,
            self_total_ns=group.self_total,
            self_min_ns=group.self_min,
            self_max_ns=group.self_max,
            # A trace of zero-length spans has no duration to share out.
            self_percent=100.0 * group.self_total / trace_ns if trace_ns > 0 else 0.0,
        )
        for (service, operation), group in groups.items()
    ]
    rows.sort(key=lambda row: (-row.self_total_ns, row.service, row.operation))
    return rows
