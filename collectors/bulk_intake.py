"""Log intake that answers like Elasticsearch's ``_bulk``, so Filebeat, Fluent Bit and Vector ship to it.

``protocols.md`` §5: NDJSON action and source lines with a final newline; per-item results
in request order, where one bad document fails only its own item (an unreadable source, an
``@timestamp`` the store cannot hold: before 1677-09-21 or after 2262-04-11, as int64
nanoseconds); a malformed body fails the whole request with 400, a body over the limit
413 as soon as the limit is passed; a full write queue 429 and a failed commit 503, both
with ``Retry-After``; ``X-Elastic-Product: Elasticsearch`` on every answer and product
information at ``GET /``. Lone surrogates (``"\\ud800"``), which UTF-8 cannot hold, are
replaced by U+FFFD.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from collectors.body import BodyTooLarge, may_hold_surrogates, read_capped, scrub_surrogates
from collectors.write_queue import QueueFull, WriteQueue
from store.model import LogRecord

_log = logging.getLogger(__name__)
PRODUCT_HEADER = {"X-Elastic-Product": "Elasticsearch"}
# Clients check the major version: answering as 8.x keeps Filebeat and the official client happy.
COMPATIBLE_VERSION = "8.15.0"
MAX_BODY_BYTES = 100 * 1024 * 1024  # Elasticsearch's default http.max_content_length
COMMIT_RETRY_AFTER_S = 5  # what a client is told to wait after a commit failed
# Log times are stored as int64 epoch nanoseconds: 1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z.
MIN_TIMESTAMP_NS, MAX_TIMESTAMP_NS = -(2**63), 2**63 - 1


class BulkBodyError(ValueError):
    """The body cannot be read as a bulk request at all."""


class DocumentError(ValueError):
    """One document cannot be stored; fails only its own item."""


@dataclass(frozen=True)
class BulkOperation:
    action: str
    index: str
    doc_id: str
    source: str | None


def parse_bulk(body: str, default_index: str | None) -> list[BulkOperation]:
    """The operations of a bulk body, in order; raises BulkBodyError naming the line."""
    if not body.strip():
        raise BulkBodyError("request body is required")
    if not body.endswith("\n"):
        raise BulkBodyError("The bulk request must be terminated by a newline [\\n]")
    lines = body.split("\n")
    operations: list[BulkOperation] = []
    # Shippers repeat one action line for every document: read each distinct one once.
    actions: dict[str, tuple[str, str, str | None]] = {}
    # Ids for documents sent without one: 20 hex digits each, from one read of the system's
    # random source per request (a uuid4 per document made that read a sixth of parsing).
    fresh_ids, next_id = "", 0
    line = 0
    while line < len(lines) - 1:
        text = lines[line]
        line += 1
        known = actions.get(text)
        if known is None:
            if not text.strip():
                continue
            known = actions[text] = _action(text, line, default_index)
        action, index, doc_id = known
        source = None
        if action != "delete":
            if line >= len(lines) - 1:
                raise BulkBodyError(f"Malformed action/metadata line [{line}], the source line is missing")
            source = lines[line]
            line += 1
        if not doc_id:
            if next_id >= len(fresh_ids):
                fresh_ids, next_id = os.urandom(10 * (len(lines) // 2 + 1)).hex(), 0
            doc_id = fresh_ids[next_id : next_id + 20]
            next_id += 20
        operations.append(BulkOperation(action, index, doc_id, source))
    return operations


def _action(text: str, line: int, default_index: str | None) -> tuple[str, str, str | None]:
    """(action, index, id or None) of an action line; raises BulkBodyError naming the line."""
    try:
        header = json.loads(text)
        if may_hold_surrogates(text):
            header = scrub_surrogates(header)
    except (ValueError, RecursionError):
        raise BulkBodyError(f"Malformed action/metadata line [{line}], expected a JSON object") from None
    if not isinstance(header, dict) or len(header) != 1:
        raise BulkBodyError(f"Malformed action/metadata line [{line}], expected a single action")
    action, meta = next(iter(header.items()))
    if action not in {"index", "create", "update", "delete"} or not isinstance(meta, dict):
        raise BulkBodyError(f"Malformed action/metadata line [{line}], unknown action [{action}]")
    index = meta.get("_index", default_index)
    if not index:
        raise BulkBodyError(f"Validation Failed: 1: index is missing for the action on line [{line}];")
    return action, str(index), str(meta["_id"]) if meta.get("_id") else None


def ecs_get(document: dict[str, Any], path: str) -> Any:
    """An ECS field by dotted path, whether the document spells it dotted, nested or mixed."""
    if path in document:
        return document[path]
    # The common shape first: nested one level ({"log": {"level": …}}), as ECS loggers write it.
    head, _, rest = path.partition(".")
    child = document.get(head)
    if isinstance(child, dict) and child.get(rest) is not None:
        return child[rest]
    parts = path.split(".")
    for split in range(1, len(parts)):
        child = document.get(".".join(parts[:split]))
        if isinstance(child, dict):
            found = ecs_get(child, ".".join(parts[split:]))
            if found is not None:
                return found
    return None


def _timestamp_ns(value: Any) -> int:
    """Epoch nanoseconds of an ``@timestamp``; raises DocumentError unless the store can hold it."""
    if isinstance(value, bool):
        raise DocumentError("field [@timestamp] must be a date")
    if isinstance(value, int):  # epoch milliseconds, as Elasticsearch reads numbers
        ns = value * 1_000_000
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise DocumentError(f"failed to parse field [@timestamp]: [{value}] is not a finite number")
        ns = int(value * 1_000_000)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise DocumentError(
                f"failed to parse field [@timestamp]: [{value[:64]}] is not an ISO 8601 date"
            ) from None
        if parsed.tzinfo is None:
            raise DocumentError("failed to parse field [@timestamp]: a time zone is required")
        try:
            ns = int(parsed.timestamp() * 1e9)
        except (OverflowError, ValueError):  # a year 1 or 9999 date moved out of range by its zone
            ns = MIN_TIMESTAMP_NS - 1  # refused just below
    else:
        raise DocumentError("field [@timestamp] is required")
    if not MIN_TIMESTAMP_NS <= ns <= MAX_TIMESTAMP_NS:
        raise DocumentError(
            f"failed to parse field [@timestamp]: [{str(value)[:64]}] is out of range "
            "(1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z)"
        )
    return ns


def log_record(source: str, index: str) -> LogRecord:
    """An ECS document as a LogRecord; raises DocumentError with Elasticsearch-like reasons."""
    try:
        document = json.loads(source)
        if may_hold_surrogates(source):
            document = scrub_surrogates(document)
    except ValueError:
        raise DocumentError("failed to parse: the source is not valid JSON") from None
    except RecursionError:
        raise DocumentError("failed to parse: the source is nested too deeply") from None
    if not isinstance(document, dict):
        raise DocumentError("failed to parse: the source must be a JSON object")
    try:
        message = ecs_get(document, "message")
        return LogRecord(
            timestamp_ns=_timestamp_ns(ecs_get(document, "@timestamp")),
            level=str(ecs_get(document, "log.level") or "").lower(),
            message="" if message is None else str(message),
            service=str(ecs_get(document, "service.name") or ""),
            trace_id=str(ecs_get(document, "trace.id") or "").lower(),
            span_id=str(ecs_get(document, "span.id") or "").lower(),
            document=document,
            index=index,
        )
    except DocumentError:
        raise
    except RecursionError:  # str() of a field nested too deeply
        raise DocumentError("failed to parse: a field is nested too deeply") from None
    except ValueError as error:  # str() of an integer with too many digits
        raise DocumentError(f"failed to parse: {error}") from None


def _item(operation: BulkOperation, status: int, error: tuple[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"_index": operation.index, "_id": operation.doc_id, "status": status}
    if error is not None:
        result["error"] = {"type": error[0], "reason": error[1]}
    else:
        result.update(
            {
                "_version": 1,
                "result": "created",
                "_primary_term": 1,
                "_shards": {"total": 1, "successful": 1, "failed": 0},
            }
        )
    return {operation.action: result}


def _error(status: int, kind: str, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    cause = {"type": kind, "reason": reason}
    return JSONResponse(
        {"error": {"root_cause": [cause], **cause}, "status": status},
        status_code=status,
        headers={**PRODUCT_HEADER, **(headers or {})},
    )


class BulkIntake:
    """The ``GET /``, ``/_bulk`` and ``/{index}/_bulk`` endpoints over a write queue."""

    def __init__(
        self, write_queue: WriteQueue, registry: CollectorRegistry, *, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self._write_queue = write_queue
        self._max_body_bytes = max_body_bytes
        self._rejected = Counter(
            "watchfloor_bulk_rejected_documents",
            "Bulk items refused one by one (bad document or unsupported action), by reason.",
            ["reason"],
            registry=registry,
        )

    def routes(self) -> list[Route]:
        return [
            Route("/", self.info, methods=["GET", "HEAD"]),
            Route("/_bulk", self.bulk, methods=["POST", "PUT"]),
            Route("/{index}/_bulk", self.bulk, methods=["POST", "PUT"]),
        ]

    async def info(self, _: Request) -> JSONResponse:
        return JSONResponse(
            {
                "name": "watchfloor",
                "cluster_name": "watchfloor",
                "cluster_uuid": "watchfloor-log-intake",
                "version": {
                    "number": COMPATIBLE_VERSION,
                    "build_flavor": "default",
                    "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0",
                },
                "tagline": "You Know, for Search",
            },
            headers=PRODUCT_HEADER,
        )

    async def bulk(self, request: Request) -> JSONResponse:
        started = time.perf_counter()
        try:
            body = await read_capped(request, self._max_body_bytes)
        except BodyTooLarge:
            return _error(
                413,
                "content_too_long_exception",
                f"request body is larger than {self._max_body_bytes} bytes",
            )
        try:
            operations = parse_bulk(body.decode("utf-8"), request.path_params.get("index"))
        except UnicodeDecodeError:
            return _error(400, "illegal_argument_exception", "the request body is not UTF-8")
        except BulkBodyError as error:
            return _error(400, "illegal_argument_exception", str(error))
        except RecursionError:
            return _error(400, "illegal_argument_exception", "the request body is nested too deeply")
        items: list[dict[str, Any] | None] = [None] * len(operations)
        records: list[tuple[int, LogRecord]] = []
        for position, operation in enumerate(operations):
            if operation.action in {"update", "delete"}:
                # A log store is append-only; say so per item rather than pretend.
                items[position] = _item(
                    operation,
                    400,
                    (
                        "action_request_validation_exception",
                        f"[{operation.action}] is not supported by log intake",
                    ),
                )
                self._rejected.labels("unsupported_action").inc()
                continue
            try:
                records.append((position, log_record(operation.source or "", operation.index)))
            except DocumentError as error:
                self._rejected.labels("document_parsing").inc()
                items[position] = _item(operation, 400, ("document_parsing_exception", str(error)))
            except Exception as error:  # a document must never fail the request as a whole
                _log.exception("converting document %s of the bulk request failed", position)
                self._rejected.labels("document_parsing").inc()
                reason = f"failed to parse: {type(error).__name__}"
                items[position] = _item(operation, 400, ("document_parsing_exception", reason))
        try:
            future = self._write_queue.submit("logs", [record for _, record in records])
        except QueueFull as full:
            return _error(
                429, "es_rejected_execution_exception", str(full), {"Retry-After": str(full.retry_after_s)}
            )
        try:
            await asyncio.wrap_future(future)
        except Exception as error:  # logged by the write queue; the shipper should send them again
            return _error(
                503,
                "unavailable_shards_exception",
                f"the documents could not be committed ({type(error).__name__}); retry later",
                {"Retry-After": str(COMMIT_RETRY_AFTER_S)},
            )
        for position, _ in records:
            items[position] = _item(operations[position], 201)
        took = int((time.perf_counter() - started) * 1000)
        return JSONResponse(
            {
                "took": took,
                "errors": any("error" in next(iter(i.values())) for i in items if i),
                "items": items,
            },
            headers=PRODUCT_HEADER,
        )
