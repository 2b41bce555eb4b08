"""The service dependency graph over a time range, like Tempo's service graph and Jaeger's DAG.

The store pairs the spans (a call is a span whose parent is in another service, or a
server span under a client span; a client span with no child called an uninstrumented
peer) and aggregates them in SQL; this module shapes the answer: nodes with their
traffic, edges with calls, errors and latency percentiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from store.interfaces import ServiceCalls, SpanReader

PERCENTILES = ("p50", "p90", "p95", "p99")  # the quantiles the store computes, in that order


@dataclass
class ServiceNode:
    """A service that records spans, or a peer (``virtual``) that only its callers name."""

    name: str
    virtual: bool
    calls_in: int = 0
    errors_in: int = 0
    calls_out: int = 0
    errors_out: int = 0


@dataclass
class DependencyGraph:
    start_ns: int
    end_ns: int
    nodes: list[ServiceNode] = field(default_factory=list)
    edges: list[ServiceCalls] = field(default_factory=list)


def build_graph(calls: Sequence[ServiceCalls], start_ns: int, end_ns: int) -> DependencyGraph:
    """Nodes from the calls' ends (a name seen both instrumented and as a peer is instrumented)."""
    nodes: dict[str, ServiceNode] = {}
    for call in calls:
        caller = nodes.setdefault(call.caller, ServiceNode(call.caller, virtual=False))
        caller.virtual = False
        callee = nodes.setdefault(call.callee, ServiceNode(call.callee, virtual=call.virtual))
        callee.virtual = callee.virtual and call.virtual
        caller.calls_out += call.calls
        caller.errors_out += call.errors
        callee.calls_in += call.calls
        callee.errors_in += call.errors
    edges = sorted(calls, key=lambda c: (c.caller, c.callee, c.virtual))
    return DependencyGraph(start_ns, end_ns, sorted(nodes.values(), key=lambda n: n.name), edges)


def dependency_graph(reader: SpanReader, start_ns: int, end_ns: int) -> DependencyGraph:
    """The graph of the calls among spans that started in [start, end]."""
    return build_graph(reader.service_calls(start_ns, end_ns), start_ns, end_ns)


def _latency_ms(quantiles: tuple[float, ...] | None) -> dict[str, float] | None:
    if quantiles is None:
        return None
    return {name: round(value / 1e6, 3) for name, value in zip(PERCENTILES, quantiles, strict=True)}


def graph_json(graph: DependencyGraph) -> dict[str, Any]:
    """The API's answer: nodes and edges, latencies in milliseconds."""
    return {
        "start_ns": graph.start_ns,
        "end_ns": graph.end_ns,
        "nodes": [
            {
                "name": node.name,
                "virtual": node.virtual,
                "calls_in": node.calls_in,
                "errors_in": node.errors_in,
                "calls_out": node.calls_out,
                "errors_out": node.errors_out,
            }
            for node in graph.nodes
        ],
        "edges": [
            {
                "caller": edge.caller,
                "callee": edge.callee,
                # Tempo's connection types: a peer without spans is a virtual node.
                "connection_type": "virtual_node"
                if edge.virtual
                else ("messaging_system" if edge.messaging else "rpc"),
                "calls": edge.calls,
                "errors": edge.errors,
                "error_rate": round(edge.errors / edge.calls, 6) if edge.calls else 0.0,
                "client_latency_ms": _latency_ms(edge.client_latency_ns),
                "server_latency_ms": _latency_ms(edge.server_latency_ns),
            }
            for edge in graph.edges
        ],
    }
