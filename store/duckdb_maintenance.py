"""Checkpoints, rollups and retention of the DuckDB store (a mixin of :class:`DuckDBStore`).

Run by the server's maintenance loop, off the event loop; each step is one transaction
under the store's write lock, so readers never see half a rollup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
UPSERT_CHECKPOINT = (
    "INSERT INTO checkpoints VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


@dataclass(frozen=True)
class Retention:
    """How long each signal is kept, in milliseconds. Defaults suit one machine's disk."""

    metrics_raw_ms: int = 2 * 24 * HOUR_MS
    # 35 days: SLO windows (28 d, 30 d, a calendar month) are read at a 1-minute step.
    metrics_1m_ms: int = 35 * 24 * HOUR_MS
    metrics_1h_ms: int = 400 * 24 * HOUR_MS
    spans_ms: int = 3 * 24 * HOUR_MS
    logs_ms: int = 7 * 24 * HOUR_MS
    # Rollups wait this long past a minute's end for late points before sealing it.
    rollup_grace_ms: int = 2 * MINUTE_MS


class MaintenanceMixin:
    """Checkpoint, rollup and retention methods over the store's connection."""

    _connection: duckdb.DuckDBPyConnection
    _write_lock: threading.Lock
    retention: Retention

    def cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def checkpoint(self, name: str) -> str | None:
        row = self.cursor().execute("SELECT value FROM checkpoints WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def set_checkpoint(self, name: str, value: str) -> None:
        with self._write_lock:
            self._connection.execute(
                UPSERT_CHECKPOINT,
                [name, value],
            )

    def watermark(self, rollup: str) -> int:
        value = self.checkpoint(f"rollup_{rollup}")
        return int(value) if value is not None else 0

    def roll_up(self, now_ms: int) -> None:
        """Seal whole minutes (after the grace period) into 1 m rollups, whole hours into 1 h."""
        sealed_minute = (now_ms - self.retention.rollup_grace_ms) // MINUTE_MS * MINUTE_MS
        self._roll("1m", "points", "value", MINUTE_MS, sealed_minute)
        sealed_hour = self.watermark("1m") // HOUR_MS * HOUR_MS
        self._roll("1h", "points_1m", None, HOUR_MS, sealed_hour)

    def _roll(self, rollup: str, source: str, value: str | None, width: int, until: int) -> None:
        start = self.watermark(rollup)
        if until <= start:
            return
        if start == 0:  # first run: begin at the oldest data rather than the epoch
            row = self.cursor().execute(f"SELECT min(ts) FROM {source}").fetchone()
            if row is None or row[0] is None:
                return
            start = (int(row[0]) - 1) // width * width
        bucket = f"(ts + {width - 1}) // {width} * {width}"
        if value is not None:  # from step data: NaN means no data and is left out
            aggregates = f"sum({value}), count({value}), min({value}), max({value})"
            where = f"NOT isnan({value})"
        else:  # from a finer rollup: combine its aggregates
            aggregates = "sum(sum), sum(count), min(min), max(max)"
            where = "true"
        with self._write_lock:
            self._connection.execute("BEGIN TRANSACTION")
            try:
                self._connection.execute(
                    f"INSERT INTO points_{rollup} SELECT series_id, {bucket}, {aggregates} FROM {source} "
                    f"WHERE ts > ? AND ts <= ? AND {where} GROUP BY ALL",
                    [start, until],
                )
                self._connection.execute(
                    UPSERT_CHECKPOINT,
                    [f"rollup_{rollup}", str(until)],
                )
                self._connection.execute("COMMIT")
            except Exception:
                self._connection.execute("ROLLBACK")
                raise

    def enforce_retention(self, now_ms: int) -> None:
        """Delete what each signal's retention no longer keeps.

        Step data and 1 m rollups are kept until the next coarser rollup has taken them in,
        whatever their retention says: a short retention must not lose data before its rollup.
        """
        r = self.retention
        deletes = [
            ("DELETE FROM points WHERE ts <= ?", min(now_ms - r.metrics_raw_ms, self.watermark("1m"))),
            ("DELETE FROM points_1m WHERE ts <= ?", min(now_ms - r.metrics_1m_ms, self.watermark("1h"))),
            ("DELETE FROM points_1h WHERE ts <= ?", now_ms - r.metrics_1h_ms),
            ("DELETE FROM spans WHERE end_ns <= ?", (now_ms - r.spans_ms) * 1_000_000),
            ("DELETE FROM logs WHERE timestamp_ns <= ?", (now_ms - r.logs_ms) * 1_000_000),
        ]
        with self._write_lock:
            for statement, cutoff in deletes:
                self._connection.execute(statement, [cutoff])
