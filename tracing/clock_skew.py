"""Clock-skew adjustment between hosts, the way Jaeger's ``clockskew`` adjuster does it.

Spans recorded on one host share its clock, so a subtree on one host moves as a block.
When a child was recorded on another host than its (already adjusted) parent and does
not fit inside it, the child is shifted so it sits in the middle of the parent — the
network latency assumed equal both ways:

* a child no longer than its parent is moved to start ``(parent − child) / 2`` after it;
* a child longer than its parent can only be made to start with it: it is moved later
  when it started earlier, and left alone otherwise;
* a child that already fits is left alone.

The shift carries down to the child's descendants on the same host; a child on yet
another host is measured afresh against its adjusted parent. An async child (a consumer,
a FOLLOWS_FROM span) is never moved: its parent does not wait for it. Jaeger disables the
adjustment above a maximum delta; here a shift larger than :data:`MAX_SKEW_NS` is not
applied either, and the span says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracing.assembly import SpanNode

MAX_SKEW_NS = 60 * 10**9  # a minute: NTP-synced hosts drift by milliseconds; beyond, data is broken


def host_key(node: SpanNode) -> str:
    """Which clock recorded the span: the host, else the service instance, else the service."""
    resource = node.span.resource
    for key in ("host.name", "host.id", "service.instance.id"):
        value = resource.get(key)
        if value:
            return f"{key}={value}"
    return f"service.name={node.span.service}"


def skew_against(child_start: int, child_end: int, parent: SpanNode) -> int:
    """The shift that puts a child recorded on another host inside its adjusted parent."""
    child_duration = child_end - child_start
    parent_duration = parent.end_ns - parent.start_ns
    if child_duration > parent_duration:
        return parent.start_ns - child_start if child_start < parent.start_ns else 0
    if child_start >= parent.start_ns and child_end <= parent.end_ns:
        return 0
    latency = (parent_duration - child_duration) // 2
    return parent.start_ns + latency - child_start


def adjust_clock_skew(ordered: Sequence[SpanNode]) -> None:
    """Shift ``start_ns``/``end_ns`` of the nodes in place; ``ordered`` has parents before children."""
    hosts: dict[int, str] = {}
    for node in ordered:
        hosts[id(node)] = host_key(node)
        parent = node.parent
        if parent is None:
            continue
        if hosts[id(node)] == hosts[id(parent)]:
            node.skew_ns = parent.skew_ns  # one clock: the subtree moves with its parent
        elif node.follows_from:
            # The parent does not wait for an async child (a consumer may run minutes
            # later): there is no "inside" to put it in, so its own clock stands.
            node.skew_ns = 0
        else:
            # Another clock: the child's own times measured against where its parent now sits.
            shift = skew_against(node.span.start_ns, node.span.end_ns, parent)
            if abs(shift) > MAX_SKEW_NS:
                node.warnings.append(
                    f"clock skew of {shift / 1e6:+.3f} ms against its parent is over the "
                    f"{MAX_SKEW_NS // 10**9} s limit; not adjusted"
                )
                shift = 0
            elif shift:
                node.warnings.append(
                    f"clock skew adjusted by {shift / 1e6:+.3f} ms (recorded on {hosts[id(node)]}, "
                    f"its parent on {hosts[id(parent)]})"
                )
            node.skew_ns = shift
        node.start_ns = node.span.start_ns + node.skew_ns
        node.end_ns = node.span.end_ns + node.skew_ns
