"""Calling a receiver's ASGI app directly, to see how much of a streamed body it reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from collectors.write_queue import WriteQueue
from store.duckdb_store import DuckDBStore


@contextmanager
def started_queue(tmp_path: Path) -> Iterator[tuple[WriteQueue, CollectorRegistry]]:
    """A started write queue over a fresh store, both closed on the way out."""
    registry = CollectorRegistry()
    store = DuckDBStore(tmp_path / "q.duckdb")
    queue = WriteQueue(store, registry)
    queue.start()
    try:
        yield queue, registry
    finally:
        queue.close()
        store.close()


async def call_asgi(
    app, path: str, chunks: Iterable[bytes], headers: dict[str, str], *, declared: int | None = None
):
    """Call an ASGI app with a body sent chunk by chunk; answers (status, body, chunks the app took)."""
    taken = 0
    pending = list(chunks)
    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    if declared is not None:
        raw_headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: dict[str, Any] = {"status": None, "body": b""}

    async def receive():
        nonlocal taken
        if not pending:
            return {"type": "http.disconnect"}
        taken += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return sent["status"], sent["body"], taken
