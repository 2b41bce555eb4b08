"""The embedded store: one DuckDB file, owned by the server process alone.

Writes are columnar batches (Arrow tables) under one lock; reads use their own cursors so
they never wait on each other. The series catalogue and its tag index live in memory and
in the ``series``/``series_tags`` tables, reloaded at start.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from store.duckdb_documents import DocumentsMixin
from store.duckdb_exemplars import ExemplarsMixin
from store.duckdb_maintenance import HOUR_MS, MINUTE_MS, UPSERT_CHECKPOINT, MaintenanceMixin, Retention
from store.duckdb_outbox import OutboxMixin
from store.duckdb_reads import ReadsMixin
from store.duckdb_trace_reads import TraceReadsMixin
from store.model import Datapoint, LogRecord, Span
from store.schema import migrate
from store.tag_query import TagIndex

__all__ = ["HOUR_MS", "MINUTE_MS", "DuckDBStore", "Retention", "tags_key"]

_IDENTITY_CACHE_LIMIT = 500_000


def tags_key(tags: Mapping[str, str]) -> str:
    """The canonical identity of a tag set."""
    return json.dumps(sorted(tags.items()), separators=(",", ":"))


# json.dumps(value, separators=(",", ":"), default=str), without building an encoder per call:
# that construction cost as much as encoding a span's attributes.
_json = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _append(connection: duckdb.DuckDBPyConnection, table: str, batch: pa.Table) -> None:
    """Insert the Arrow table ``batch`` into ``table``, its columns by name (the table may have more)."""
    columns = ", ".join(batch.column_names)
    # DuckDB reads ``batch`` straight from this frame (its replacement scan for Python objects).
    # Registering a view per batch instead changes the catalogue twice (register, unregister),
    # which cost about as much as inserting a 512-span batch.
    connection.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM batch")


class DuckDBStore(MaintenanceMixin, ReadsMixin, TraceReadsMixin, ExemplarsMixin, DocumentsMixin, OutboxMixin):
    """Series, spans and logs in one DuckDB file (``":memory:"`` for a throwaway store)."""

    def __init__(self, path: Path | str, *, retention: Retention | None = None) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = duckdb.connect(str(path))
        self.schema_version = migrate(self._connection)
        self.retention = retention or Retention()
        self._write_lock = threading.Lock()
        self.index = TagIndex()
        self._ids_by_key: dict[str, int] = {}
        # Producers reuse one tags object per series; remembering it by identity skips
        # building the canonical key for every point. The tuple keeps the object alive, so
        # its id cannot be reused while cached.
        self._ids_by_identity: dict[int, tuple[Mapping[str, str], int]] = {}
        self._load_catalogue()

    def _load_catalogue(self) -> None:
        for series_id, key, tags in self._connection.execute(
            "SELECT series_id, tags_key, tags FROM series"
        ).fetchall():
            self._ids_by_key[key] = series_id
            self.index.add(series_id, json.loads(tags))

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for one reader thread."""
        return self._connection.cursor()

    def close(self) -> None:
        with self._write_lock:
            self._connection.close()

    # --- writes ------------------------------------------------------------------------

    def _series_id(self, tags: Mapping[str, str], new: list[tuple[int, str, Mapping[str, str]]]) -> int:
        cached = self._ids_by_identity.get(id(tags))
        if cached is not None and cached[0] is tags:
            return cached[1]
        key = tags_key(tags)
        series_id = self._ids_by_key.get(key)
        if series_id is None:
            series_id = len(self._ids_by_key) + 1
            self._ids_by_key[key] = series_id
            new.append((series_id, key, tags))
        if len(self._ids_by_identity) > _IDENTITY_CACHE_LIMIT:
            self._ids_by_identity.clear()
        self._ids_by_identity[id(tags)] = (tags, series_id)
        return series_id

    def write_datapoints(self, points: Sequence[Datapoint]) -> int:
        """Append step-aligned points; new tag sets join the catalogue in the same transaction."""
        if not points:
            return 0
        return self.write_point_columns(
            [p[0] for p in points], [p[1] for p in points], [p[2] for p in points]
        )

    def write_point_columns(
        self, tags: Sequence[Mapping[str, str]], timestamps: Sequence[int], values: Sequence[float]
    ) -> int:
        """:meth:`write_datapoints` for points as parallel columns (point ``i`` is the ``i``-th of each).

        The scrape path's form: it hands over lists it built anyway, no tuple per point.
        """
        if not tags:
            return 0
        with self._write_lock:
            new: list[tuple[int, str, Mapping[str, str]]] = []
            cached_id, series_id = self._ids_by_identity.get, self._series_id
            # _series_id's identity check inlined: it is the common case, and a call per point shows.
            series_ids = [
                hit[1] if (hit := cached_id(id(t))) is not None and hit[0] is t else series_id(t, new)
                for t in tags
            ]
            try:
                batch = pa.table(
                    {
                        "series_id": pa.array(series_ids, pa.int64()),
                        "ts": pa.array(timestamps, pa.int64()),
                        "value": pa.array(values, pa.float64()),
                    }
                )
            except Exception:
                self._forget(new)  # ids handed out for this batch were never stored
                raise
            connection = self._connection
            if not new:
                _append(connection, "points", batch)  # one statement is atomic on its own
                return len(series_ids)
            connection.execute("BEGIN TRANSACTION")
            try:
                self._insert_series(new)
                _append(connection, "points", batch)
                connection.execute("COMMIT")
            except Exception:
                connection.execute("ROLLBACK")
                self._forget(new)
                raise
            for new_id, _, new_tags in new:
                self.index.add(new_id, dict(new_tags))
        return len(series_ids)

    def _forget(self, new: list[tuple[int, str, Mapping[str, str]]]) -> None:
        """Take back series ids handed out for a write that failed: memory stays in step with disk."""
        for _series_id, key, _ in new:
            self._ids_by_key.pop(key, None)
        self._ids_by_identity.clear()

    def _insert_series(self, new: list[tuple[int, str, Mapping[str, str]]]) -> None:
        rows = pa.table(
            {
                "series_id": pa.array([n[0] for n in new], pa.int64()),
                "name": pa.array([n[2].get("name", "") for n in new], pa.string()),
                "tags_key": pa.array([n[1] for n in new], pa.string()),
                "tags": pa.array([_json(dict(n[2])) for n in new], pa.string()),
            }
        )
        pairs = [(series_id, k, v) for series_id, _, tags in new for k, v in tags.items()]
        tag_rows = pa.table(
            {
                "series_id": pa.array([p[0] for p in pairs], pa.int64()),
                "key": pa.array([p[1] for p in pairs], pa.string()),
                "value": pa.array([p[2] for p in pairs], pa.string()),
            }
        )
        _append(self._connection, "series", rows)
        _append(self._connection, "series_tags", tag_rows)

    def write_spans(self, spans: Sequence[Span]) -> int:
        if not spans:
            return 0
        # The spans of one resource share its attributes dict: encode it once per batch. The
        # spans keep each dict alive meanwhile, so an id is not reused within the call.
        resources: dict[int, str] = {}

        def resource_json(resource: Mapping[str, Any]) -> str:
            text = resources.get(id(resource))
            if text is None:
                text = resources[id(resource)] = _json(dict(resource))
            return text

        # Empty attributes, events and links (most spans have no events or links) are constants.
        batch = pa.table(
            {
                "trace_id": pa.array([s.trace_id for s in spans], pa.string()),
                "span_id": pa.array([s.span_id for s in spans], pa.string()),
                "parent_span_id": pa.array([s.parent_span_id for s in spans], pa.string()),
                "name": pa.array([s.name for s in spans], pa.string()),
                "kind": pa.array([s.kind for s in spans], pa.int8()),
                "start_ns": pa.array([s.start_ns for s in spans], pa.int64()),
                "end_ns": pa.array([s.end_ns for s in spans], pa.int64()),
                "duration_ns": pa.array([s.end_ns - s.start_ns for s in spans], pa.int64()),
                "service": pa.array([s.service for s in spans], pa.string()),
                "status_code": pa.array([s.status_code for s in spans], pa.int8()),
                "status_message": pa.array([s.status_message for s in spans], pa.string()),
                "attributes": pa.array(
                    [_json(dict(s.attributes)) if s.attributes else "{}" for s in spans], pa.string()
                ),
                "resource": pa.array(
                    [resource_json(s.resource) if s.resource else "{}" for s in spans], pa.string()
                ),
                "events": pa.array([_json(list(s.events)) if s.events else "[]" for s in spans], pa.string()),
                "links": pa.array([_json(list(s.links)) if s.links else "[]" for s in spans], pa.string()),
                "scope": pa.array([s.scope for s in spans], pa.string()),
            }
        )
        self._insert("spans", batch)
        return len(spans)

    def write_logs(self, records: Sequence[LogRecord], *, checkpoint: tuple[str, str] | None = None) -> int:
        """Append log records; with ``checkpoint`` (name, value) it is set in the same transaction.

        Pullers pass their position so a crash leaves either both or neither: a restart
        neither loses nor duplicates what was pulled.
        """
        if not records:
            if checkpoint is not None:
                self.set_checkpoint(*checkpoint)
            return 0
        batch = pa.table(
            {
                "timestamp_ns": pa.array([r.timestamp_ns for r in records], pa.int64()),
                "level": [r.level for r in records],
                "message": [r.message for r in records],
                "service": [r.service for r in records],
                "trace_id": [r.trace_id for r in records],
                "span_id": [r.span_id for r in records],
                "index_name": [r.index for r in records],
                "document": [_json(dict(r.document)) for r in records],
            }
        )
        self._insert("logs", batch, checkpoint)
        return len(records)

    def _insert(self, table: str, batch: pa.Table, checkpoint: tuple[str, str] | None = None) -> None:
        with self._write_lock:
            connection = self._connection
            if checkpoint is None:
                _append(connection, table, batch)  # one statement is atomic on its own
                return
            connection.execute("BEGIN TRANSACTION")
            try:
                _append(connection, table, batch)
                connection.execute(UPSERT_CHECKPOINT, list(checkpoint))
                connection.execute("COMMIT")
            except Exception:
                connection.execute("ROLLBACK")
                raise
