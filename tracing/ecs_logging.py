"""ECS JSON log records: one JSON object per line, written to a file and handed to a shipper.

Field names follow Elastic Common Schema (``../shared/specs/protocols.md`` §5). Records
are built as nested objects, the shape Elasticsearch itself stores; readers accept both
nested and dotted keys.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from opentelemetry import trace

ECS_VERSION = "8.11.0"

# Keys of ``extra={"ecs": {...}}`` are merged into the document; this is how callers add
# http.*, event.*, error.* and labels without the handler knowing every field.
ECS_EXTRA_KEY = "ecs"


class DocumentSink(Protocol):
    """Receives each finished ECS document; must not block (called on request paths)."""

    def offer(self, document: dict[str, Any]) -> None: ...


def _set_dotted(document: dict[str, Any], dotted: str, value: Any) -> None:
    """Store ``value`` at a dotted ECS path as nested objects."""
    node = document
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value


def ecs_document(
    record: logging.LogRecord, service: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    """Build the ECS document for one log record, with the active span's ids."""
    timestamp = datetime.fromtimestamp(record.created, tz=UTC)
    document: dict[str, Any] = {
        "@timestamp": timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "ecs": {"version": ECS_VERSION},
        "message": record.getMessage(),
        "log": {"level": record.levelname.lower(), "logger": record.name},
        "service": dict(service),
        "labels": dict(labels),
    }
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        document["trace"] = {"id": format(span_context.trace_id, "032x")}
        document["span"] = {"id": format(span_context.span_id, "016x")}
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc_value, exc_tb = record.exc_info
        document["error"] = {
            "type": exc_type.__name__,
            "message": str(exc_value),
            "stack_trace": "".join(traceback.format_exception(exc_type, exc_value, exc_tb)),
        }
    extra = getattr(record, ECS_EXTRA_KEY, None)
    if isinstance(extra, dict):
        for dotted, value in extra.items():
            _set_dotted(document, dotted, value)
    return document


class ECSHandler(logging.Handler):
    """Logging handler that appends ECS JSON lines to a file and offers each to a sink.

    Called on the thread that logs (often an event loop): the file append is a small
    buffered write, and the sink's ``offer`` must never block.
    """

    def __init__(
        self,
        service: dict[str, Any],
        *,
        path: Path | None,
        sink: DocumentSink | None,
        labels: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._service = service
        self._labels = labels or {}
        self._sink = sink
        self._lock_file = threading.Lock()
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Line buffered: a crash loses at most the line being written.
            self._file = path.open("a", encoding="utf-8", buffering=1)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            document = ecs_document(record, self._service, self._labels)
            if self._file is not None:
                line = json.dumps(document, separators=(",", ":"), default=str)
                with self._lock_file:
                    self._file.write(line + "\n")
            if self._sink is not None:
                self._sink.offer(document)
        except Exception:  # a log line must never break the request that wrote it
            self.handleError(record)

    def close(self) -> None:
        with self._lock_file:
            if self._file is not None:
                self._file.close()
                self._file = None
        super().close()
