"""Definitions written through the API (SLO YAML today), kept by kind and name (a mixin of the store).

Each put or delete is one transaction under the store's write lock, so a definition is
either wholly replaced or untouched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["Document", "DocumentsMixin"]


@dataclass(frozen=True, slots=True)
class Document:
    """One stored definition: its text and when it was last written (epoch ms)."""

    kind: str
    name: str
    body: str
    updated_ms: int


class DocumentsMixin:
    """Put, read and delete documents in the ``documents`` table."""

    _connection: duckdb.DuckDBPyConnection
    _write_lock: threading.Lock

    def cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def put_document(self, kind: str, name: str, body: str, updated_ms: int) -> None:
        """Insert or replace the document ``kind``/``name``."""
        with self._write_lock:
            self._connection.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) "
                "DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms",
                [kind, name, body, updated_ms],
            )

    def delete_document(self, kind: str, name: str) -> bool:
        """Remove ``kind``/``name``; answers whether it existed."""
        with self._write_lock:
            row = self._connection.execute(
                "DELETE FROM documents WHERE kind = ? AND name = ? RETURNING name", [kind, name]
            ).fetchone()
        return row is not None

    def document(self, kind: str, name: str) -> Document | None:
        """The document ``kind``/``name``, or None."""
        row = (
            self.cursor()
            .execute(
                "SELECT kind, name, body, updated_ms FROM documents WHERE kind = ? AND name = ?", [kind, name]
            )
            .fetchone()
        )
        return None if row is None else Document(*row)

    def documents(self, kind: str) -> list[Document]:
        """Every document of ``kind``, by name."""
        rows = (
            self.cursor()
            .execute(
                "SELECT kind, name, body, updated_ms FROM documents WHERE kind = ? ORDER BY name", [kind]
            )
            .fetchall()
        )
        return [Document(*row) for row in rows]
