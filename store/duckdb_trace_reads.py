"""Trace analytics reads of the DuckDB store: trace search, services and operations, service calls.

The aggregations run in SQL: a dependency graph over a million spans is one hash join
and one grouping inside DuckDB, where building a million span objects would take seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from store.duckdb_reads import sql_conditions
from store.interfaces import ServiceCalls, TraceQuery, TraceSummary
from store.model import KIND_NAMES

if TYPE_CHECKING:
    import duckdb

QUANTILES = "[0.5, 0.9, 0.95, 0.99]"
# The attribute a leaf client span names its peer by, most specific first (OpenTelemetry's
# semantic conventions, new names before the older net.* ones).
# How far outside a graph's range the other end of a call is looked for: a parent starts
# before its child, a child after its parent, and a call lasting longer is rare.
PAIRING_PAD_NS = 10 * 60 * 10**9
PEER_ATTRIBUTES = ("peer.service", "db.system", "messaging.system", "server.address", "net.peer.name")


def _span_conditions(query: TraceQuery) -> tuple[list[str], list[Any]]:
    clauses, params = sql_conditions(
        ("service = ?", query.service),
        ("name = ?", query.operation),
        ("duration_ns >= ?", query.min_duration_ns),
        ("duration_ns <= ?", query.max_duration_ns),
        ("status_code = ?", query.status_code),
        ("start_ns >= ?", query.start_ns),
        ("start_ns <= ?", query.end_ns),
    )
    for key, value in query.attributes:
        # Span attributes first, then the resource's (Jaeger matches process tags too).
        path = '$."' + key.replace('"', "") + '"'
        clauses.append("(json_extract_string(attributes, ?) = ? OR json_extract_string(resource, ?) = ?)")
        params += [path, value, path, value]
    return clauses, params


class TraceReadsMixin:
    """Trace-analytics reads of :class:`store.duckdb_store.DuckDBStore`."""

    def cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def find_traces(self, query: TraceQuery) -> list[TraceSummary]:
        """Summaries of the traces with a span meeting every condition, newest or longest first."""
        clauses, params = _span_conditions(query)
        order = "start_ns DESC" if query.order == "start" else "duration_ns DESC"
        rows = (
            self.cursor()
            .execute(
                f"""
                WITH hits AS (SELECT DISTINCT trace_id FROM spans WHERE {" AND ".join(clauses)})
                SELECT trace_id,
                    coalesce(arg_min(service, start_ns) FILTER (WHERE parent_span_id = ''),
                             arg_min(service, start_ns)),
                    coalesce(arg_min(name, start_ns) FILTER (WHERE parent_span_id = ''),
                             arg_min(name, start_ns)),
                    min(start_ns) AS start_ns, max(end_ns) - min(start_ns) AS duration_ns,
                    count(*), count(*) FILTER (WHERE status_code = 2), histogram(service)
                FROM (
                    -- A span delivered twice (OTLP retries are at least once) counts once.
                    SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM hits)
                    QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY start_ns) = 1
                )
                GROUP BY trace_id ORDER BY {order}, trace_id LIMIT ?
                """,
                [*params, query.limit],
            )
            .fetchall()
        )
        return [
            TraceSummary(
                trace_id=row[0],
                root_service=row[1],
                root_operation=row[2],
                start_ns=int(row[3]),
                duration_ns=int(row[4]),
                span_count=int(row[5]),
                error_count=int(row[6]),
                services=dict(sorted(row[7].items())),
            )
            for row in rows
        ]

    def span_services(self, start_ns: int | None = None) -> dict[str, int]:
        rows = (
            self.cursor()
            .execute(
                "SELECT service, count(*) FROM spans WHERE start_ns >= ? GROUP BY service ORDER BY service",
                [start_ns if start_ns is not None else -(2**63)],
            )
            .fetchall()
        )
        return {row[0]: int(row[1]) for row in rows}

    def span_operations(self, service: str, start_ns: int | None = None) -> list[tuple[str, str, int]]:
        rows = (
            self.cursor()
            .execute(
                "SELECT name, kind, count(*) FROM spans WHERE service = ? AND start_ns >= ? "
                "GROUP BY name, kind ORDER BY name, kind",
                [service, start_ns if start_ns is not None else -(2**63)],
            )
            .fetchall()
        )
        return [(row[0], KIND_NAMES.get(row[1], str(row[1])), int(row[2])) for row in rows]

    def service_calls(self, start_ns: int, end_ns: int) -> list[ServiceCalls]:
        """Calls made in [start, end]: the callee's span (a leaf client's own) started in it.

        A call is a span whose parent is in another service, or a server (consumer) span
        under a client (producer) span — Tempo's pairing, which also counts a service
        calling itself. A client or producer span with no server or consumer child, and no
        child in another service, called a peer that records no spans (Tempo's rule): the
        peer is named by its span's attributes (``peer.service``, ``db.system``, …,
        ``server.address``), else ``unknown``. Parents and children are looked up
        :data:`PAIRING_PAD_NS` either side of the range, so a call across its edge is not
        mistaken for a call to a peer; a span delivered twice counts once.
        """
        peer = "coalesce(" + ", ".join(
            f"json_extract_string(attributes, '$.\"{a}\"')" for a in PEER_ATTRIBUTES
        )
        rows = (
            self.cursor()
            .execute(
                f"""
                WITH s AS (
                    SELECT trace_id, span_id, parent_span_id, service, kind, start_ns, duration_ns,
                        status_code, attributes
                    FROM spans WHERE start_ns BETWEEN ? AND ?
                    QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY start_ns) = 1
                ),
                paired AS (
                    SELECT p.service AS caller, c.service AS callee, false AS virtual,
                        p.kind = 4 OR c.kind = 5 AS messaging,
                        p.status_code = 2 OR c.status_code = 2 AS failed,
                        CASE WHEN p.kind IN (3, 4) THEN p.duration_ns END AS client_ns,
                        c.duration_ns AS server_ns
                    FROM s AS c JOIN s AS p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
                    WHERE c.start_ns BETWEEN ? AND ?
                        AND (c.service <> p.service OR (p.kind IN (3, 4) AND c.kind IN (2, 5)))
                ),
                leaves AS (
                    SELECT p.service AS caller, {peer}, 'unknown') AS callee, true AS virtual,
                        p.kind = 4 AS messaging, p.status_code = 2 AS failed,
                        p.duration_ns AS client_ns, NULL::BIGINT AS server_ns
                    FROM s AS p
                    WHERE p.kind IN (3, 4) AND p.start_ns BETWEEN ? AND ? AND NOT EXISTS (
                        SELECT 1 FROM s AS c
                        WHERE c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
                            AND (c.kind IN (2, 5) OR c.service <> p.service)
                    )
                ),
                calls AS (SELECT * FROM paired UNION ALL SELECT * FROM leaves)
                SELECT caller, callee, bool_and(virtual), bool_or(messaging), count(*),
                    count(*) FILTER (WHERE failed),
                    quantile_cont(client_ns, {QUANTILES}), quantile_cont(server_ns, {QUANTILES})
                FROM calls GROUP BY caller, callee ORDER BY caller, callee
                """,
                [start_ns - PAIRING_PAD_NS, end_ns + PAIRING_PAD_NS, start_ns, end_ns, start_ns, end_ns],
            )
            .fetchall()
        )
        return [
            ServiceCalls(
                caller=row[0],
                callee=row[1],
                virtual=bool(row[2]),
                messaging=bool(row[3]),
                calls=int(row[4]),
                errors=int(row[5]),
                client_latency_ns=None if row[6] is None else tuple(float(v) for v in row[6]),
                server_latency_ns=None if row[7] is None else tuple(float(v) for v in row[7]),
            )
            for row in rows
        ]
