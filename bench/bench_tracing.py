"""Trace analytics: one 10,000-span trace analysed, and the dependency graph over a million spans.

**One trace.** A seeded 10,000-span trace shaped like a fan-out request: a playback root,
nested client → server calls across six services on their own hosts (so clock-skew
adjustment runs), some async consumers, every level's children overlapping. Timed, best
of 5, each step alone and then the whole answer of ``GET /api/v1/traces/{id}``:
assembly (tree, cycles, clock skew), critical path, self-time statistics (by operation
and by service), comparison with a copy missing a tenth of its spans, and the JSON.
Reading the trace from DuckDB is timed too.

**The graph.** A million spans of playback traces (playback → drm and → cdn, cdn → an
uninstrumented origin on cache misses, one call in fifty failing) in a DuckDB file.
Timed, best of 3: :meth:`service_calls` (one hash join and one grouping in SQL) beside
the comparison — the same pairing done in Python over the same rows fetched from
DuckDB (only the needed columns, no JSON), which is what building the graph from span
objects would at least cost.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.api.trace_views import comparison_json, trace_json
from store.duckdb_store import DuckDBStore
from store.model import SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_SERVER, Span
from tracing.assembly import assemble
from tracing.compare import compare_traces
from tracing.critical_path import critical_path
from tracing.statistics import trace_statistics

SERVICES = ("playback", "drm", "cdn", "catalog", "encoding", "ratings")
MS = 1_000_000


def best(work: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def wide_trace(spans: int, seed: int = 8) -> list[Span]:
    """A fan-out trace of ``spans`` spans; each call is a client span and a server span."""
    rng = random.Random(seed)
    trace_id = "ab" * 16
    out = [
        Span(
            trace_id,
            f"{1:016x}",
            "",
            "POST /play",
            SPAN_KIND_SERVER,
            0,
            10_000 * MS,
            "playback",
            resource={"host.name": "playback-1"},
        )
    ]
    servers = [out[0]]
    while len(out) < spans:
        parent = rng.choice(servers)
        service = rng.choice(SERVICES)
        room = parent.end_ns - parent.start_ns
        start = parent.start_ns + rng.randrange(0, max(1, room // 2))
        end = start + max(1, int(room * rng.uniform(0.05, 0.5)))
        client = Span(
            trace_id,
            f"{len(out) + 1:016x}",
            parent.span_id,
            f"call {service}",
            SPAN_KIND_CLIENT,
            start,
            end,
            parent.service,
            resource=parent.resource,
        )
        skew = rng.choice((0, 0, 3 * MS, -2 * MS))  # another host's clock
        kind = SPAN_KIND_CONSUMER if rng.random() < 0.05 else SPAN_KIND_SERVER
        server = Span(
            trace_id,
            f"{len(out) + 2:016x}",
            client.span_id,
            f"handle {len(out) % 40}",
            kind,
            start + skew + 10,
            end + skew - 10,
            service,
            resource={"host.name": f"{service}-{rng.randrange(3)}"},
        )
        out += [client, server]
        servers.append(server)
    return out[:spans]


def bench_one_trace(spans: int, repeats: int, tmp: Path) -> None:
    raw = wide_trace(spans)
    trace = assemble("ab" * 16, raw)
    fewer = assemble("ab" * 16, [s for i, s in enumerate(raw) if i % 10 != 9 or i == 0])
    print(f"one trace: {len(raw):,} spans, depth {max(n.depth for n in trace.nodes)}")
    steps = {
        "assemble": lambda: assemble("ab" * 16, raw),
        "critical path": lambda: critical_path(trace),
        "statistics (both groupings)": lambda: (trace_statistics(trace), trace_statistics(trace, "service")),
        "compare with a copy less a tenth": lambda: comparison_json(
            compare_traces(trace, fewer), trace, fewer, truncated=False
        ),
        "the whole API answer": lambda: trace_json(assemble("ab" * 16, raw), truncated=False),
    }
    for name, work in steps.items():
        print(f"  {name:34s} {best(work, repeats) * 1000:8.1f} ms")
    store = DuckDBStore(tmp / "one.duckdb")
    try:
        store.write_spans(raw)
        print(f"  {'read from DuckDB':34s} {best(lambda: store.trace('ab' * 16), repeats) * 1000:8.1f} ms")
    finally:
        store.close()


def playback_traces(spans: int, seed: int = 9) -> list[Span]:
    """Playback traces like the fleet's: ~10 spans each, one call in fifty failing."""
    rng = random.Random(seed)
    out: list[Span] = []
    n = 0
    while len(out) < spans:
        n += 1
        trace_id = f"{n:032x}"
        t0 = n * 10 * MS
        ids = iter(range(1, 100))
        root = Span(
            trace_id, f"{next(ids):016x}", "", "POST /play", SPAN_KIND_SERVER, t0, t0 + 80 * MS, "playback"
        )
        out.append(root)
        for callee, route, count in (("drm", "POST /license", 1), ("cdn", "GET /segment", 3)):
            for k in range(count):
                start = t0 + (5 + 20 * k) * MS
                end = start + rng.randint(5, 15) * MS
                status = 2 if rng.random() < 0.02 else 0
                client = Span(
                    trace_id,
                    f"{next(ids):016x}",
                    root.span_id,
                    route,
                    SPAN_KIND_CLIENT,
                    start,
                    end,
                    "playback",
                    status_code=status,
                )
                server = Span(
                    trace_id,
                    f"{next(ids):016x}",
                    client.span_id,
                    route,
                    SPAN_KIND_SERVER,
                    start + MS // 2,
                    end - MS // 2,
                    callee,
                    status_code=status,
                )
                out += [client, server]
                if callee == "cdn" and rng.random() < 0.3:
                    out.append(
                        Span(
                            trace_id,
                            f"{next(ids):016x}",
                            server.span_id,
                            "origin fetch",
                            SPAN_KIND_CLIENT,
                            start + MS,
                            end - MS,
                            "cdn",
                            attributes={"peer.service": "origin"},
                        )
                    )
    return out  # whole traces: a little over ``spans``


def python_pairing(store: DuckDBStore, start: int, end: int) -> dict[tuple[str, str], int]:
    """The comparison: fetch the needed columns and pair parents with children in Python."""
    rows = (
        store.cursor()
        .execute(
            "SELECT trace_id, span_id, parent_span_id, service, kind, duration_ns, status_code FROM spans "
            "WHERE start_ns BETWEEN ? AND ?",
            [start, end],
        )
        .fetchall()
    )
    by_id = {(r[0], r[1]): r for r in rows}
    has_child: set[tuple[str, str]] = set()
    calls: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        parent = by_id.get((row[0], row[2]))
        if parent is None:
            continue
        has_child.add((parent[0], parent[1]))
        if parent[3] != row[3] or (parent[4] in (3, 4) and row[4] in (2, 5)):
            calls[(parent[3], row[3])] += 1
    for row in rows:
        if row[4] in (3, 4) and (row[0], row[1]) not in has_child:
            calls[(row[3], "peer")] += 1
    return calls


def bench_graph(spans: int, repeats: int, tmp: Path) -> None:
    generated = playback_traces(spans)
    store = DuckDBStore(tmp / "graph.duckdb")
    try:
        began = time.perf_counter()
        for offset in range(0, len(generated), 100_000):
            store.write_spans(generated[offset : offset + 100_000])
        print(f"\ngraph: {len(generated):,} spans written in {time.perf_counter() - began:.1f} s")
        window = (0, 2**62)
        calls = store.service_calls(*window)
        sql = best(lambda: store.service_calls(*window), repeats)
        python = best(lambda: python_pairing(store, *window), max(1, repeats - 1))
        for call in calls:
            print(f"  {call.caller:>8s} → {call.callee:<8s} {call.calls:>9,} calls {call.errors:>7,} errors")
        print(f"  service_calls in DuckDB SQL       {sql:8.3f} s")
        print(f"  pairing in Python (comparison)    {python:8.3f} s   ({python / sql:.1f}× the SQL)")
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace-spans", type=int, default=10_000)
    parser.add_argument("--graph-spans", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        bench_one_trace(options.trace_spans, options.repeats, Path(directory))
        bench_graph(options.graph_spans, max(1, options.repeats - 2), Path(directory))


if __name__ == "__main__":
    main()
