"""The notification outbox and the alert history (a mixin of the store).

Outbox: written before sending, updated after.

A notification is inserted ``pending`` in its own transaction before any attempt to send
it, so a crash between deciding to page and paging loses nothing: the delivery loop finds
it after the restart. Each attempt then moves it to ``sent``, to ``failed`` (refused for
good, such as a 400: never retried) or back to ``pending`` with a later
``next_attempt_ms``. Payloads never hold credentials; senders add them when they send.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["Notification", "OutboxMixin"]

_COLUMNS = (
    "id, channel, dedup_key, payload, status, attempts, next_attempt_ms, last_status, last_error, "
    "created_ms, sent_ms"
)


@dataclass(frozen=True, slots=True)
class Notification:
    """One row of the outbox."""

    id: int
    channel: str
    dedup_key: str | None
    payload: str
    status: str
    attempts: int
    next_attempt_ms: int
    last_status: int | None
    last_error: str | None
    created_ms: int
    sent_ms: int | None


class OutboxMixin:
    """Insert, pick up and settle notifications in the ``notifications`` table."""

    _connection: duckdb.DuckDBPyConnection
    _write_lock: threading.Lock

    def cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def enqueue_notification(
        self,
        channel: str,
        payload: str,
        dedup_key: str | None,
        now_ms: int,
        document: tuple[str, str, str] | None = None,
    ) -> int:
        """Keep a notification to send (due at once); answers its id once it is committed.

        ``document`` (kind, name, body) is written in the same transaction: the alert that
        knows it paged and the page itself are kept together or not at all.
        """
        with self._write_lock:
            self._connection.execute("BEGIN TRANSACTION")
            try:
                row = self._connection.execute(
                    "INSERT INTO notifications (channel, dedup_key, payload, status, attempts, "
                    "next_attempt_ms, created_ms) VALUES (?, ?, ?, 'pending', 0, ?, ?) RETURNING id",
                    [channel, dedup_key, payload, now_ms, now_ms],
                ).fetchone()
                if document is not None:
                    self._connection.execute(
                        "INSERT INTO documents VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) "
                        "DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms",
                        [*document, now_ms],
                    )
                self._connection.execute("COMMIT")
            except Exception:
                self._connection.execute("ROLLBACK")
                raise
        assert row is not None
        return int(row[0])

    def due_notifications(self, now_ms: int, limit: int) -> list[Notification]:
        """Pending notifications whose next attempt is due, oldest first.

        One still waiting to be retried holds back the later ones with its dedup key, so a
        resolve never overtakes the trigger it resolves.
        """
        rows = (
            self.cursor()
            .execute(
                f"SELECT {_COLUMNS} FROM notifications n WHERE status = 'pending' AND next_attempt_ms <= ? "
                "AND NOT EXISTS (SELECT 1 FROM notifications o WHERE o.status = 'pending' "
                "AND o.dedup_key = n.dedup_key AND o.id < n.id) ORDER BY id LIMIT ?",
                [now_ms, limit],
            )
            .fetchall()
        )
        return [Notification(*row) for row in rows]

    def settle_notification(
        self,
        notification_id: int,
        *,
        status: str,
        next_attempt_ms: int,
        last_status: int | None,
        last_error: str | None,
        sent_ms: int | None,
        attempted: bool = True,
    ) -> None:
        """Record one attempt's outcome: ``sent``, ``failed``, or ``pending`` again later.

        ``attempted`` is False when it was held back without being sent (a rate limit).
        """
        with self._write_lock:
            self._connection.execute(
                "UPDATE notifications SET status = ?, attempts = attempts + ?, next_attempt_ms = ?, "
                "last_status = ?, last_error = ?, sent_ms = ? WHERE id = ?",
                [status, int(attempted), next_attempt_ms, last_status, last_error, sent_ms, notification_id],
            )

    def notifications(
        self,
        *,
        status: str | None = None,
        channel: str | None = None,
        dedup_key: str | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        """The newest notifications first, optionally of one status, channel or dedup key (exactly)."""
        clauses, params = ["true"], []
        for column, value in (("status", status), ("channel", channel), ("dedup_key", dedup_key)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        rows = (
            self.cursor()
            .execute(
                f"SELECT {_COLUMNS} FROM notifications WHERE {' AND '.join(clauses)} "
                "ORDER BY id DESC LIMIT ?",
                [*params, limit],
            )
            .fetchall()
        )
        return [Notification(*row) for row in rows]

    def record_alert_transition(
        self, fingerprint: str, transition: str, value: float | None, labels: str, ts_ms: int
    ) -> None:
        """One state change of an alert, for its history."""
        with self._write_lock:
            self._connection.execute(
                "INSERT INTO alert_history VALUES (?, ?, ?, ?, ?)",
                [ts_ms, fingerprint, transition, value, labels],
            )

    def alert_history(self, fingerprint: str, limit: int = 100) -> list[tuple[int, str, float | None]]:
        """(time, transition, value) of an alert's state changes, newest first."""
        rows = (
            self.cursor()
            .execute(
                "SELECT ts_ms, transition, value FROM alert_history WHERE fingerprint = ? "
                "ORDER BY ts_ms DESC, transition LIMIT ?",
                [fingerprint, limit],
            )
            .fetchall()
        )
        return [(int(r[0]), str(r[1]), r[2]) for r in rows]
