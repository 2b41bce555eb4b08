"""A faithful fake of the parts of Elasticsearch Watchfloor talks to (``protocols.md`` §5).

No Elasticsearch server can run here, so this is the one stand-in every test shares. It
follows Elasticsearch 8's wire behaviour field by field: ``GET /`` product information,
the ``X-Elastic-Product: Elasticsearch`` header on every answer, and ``_bulk`` at
``/_bulk`` and ``/{index}/_bulk`` with per-item results in request order (a bad document
fails only its own item; a malformed body fails the whole request with 400).

Faults are switched on by tests: :attr:`unavailable` (503 for everything),
:meth:`throttle_next_items` (item-level 429), and :attr:`reject_if` (item-level 400).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PRODUCT_HEADER = {"X-Elastic-Product": "Elasticsearch"}
VERSION = "8.15.0"


def _error(status: int, kind: str, reason: str) -> JSONResponse:
    cause = {"type": kind, "reason": reason}
    return JSONResponse(
        {"error": {"root_cause": [cause], **cause}, "status": status},
        status_code=status,
        headers=PRODUCT_HEADER,
    )


class BulkSyntaxError(ValueError):
    """The body cannot be read as a bulk request at all (whole request fails with 400)."""


class FakeElasticsearch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indices: dict[str, dict[str, dict[str, Any]]] = {}
        self._seq = itertools.count()
        self.unavailable = False
        self._throttle = 0
        self.reject_if: Callable[[dict[str, Any]], str | None] | None = None
        self.bulk_requests = 0
        self.app = Starlette(
            routes=[
                Route("/", self._info, methods=["GET", "HEAD"]),
                Route("/_bulk", self._bulk, methods=["POST", "PUT"]),
                Route("/{index}/_bulk", self._bulk, methods=["POST", "PUT"]),
            ]
        )

    # --- test controls -----------------------------------------------------------------

    def throttle_next_items(self, count: int) -> None:
        """The next ``count`` bulk items answer 429, as a node with a full write queue does."""
        with self._lock:
            self._throttle = count

    def documents(self, index: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            indices = [index] if index is not None else list(self._indices)
            return [doc for name in indices for doc in self._indices.get(name, {}).values()]

    def indices(self) -> list[str]:
        with self._lock:
            return sorted(self._indices)

    # --- endpoints -------------------------------------------------------------------------

    async def _info(self, _: Request) -> JSONResponse:
        if self.unavailable:
            return _error(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE]")
        return JSONResponse(
            {
                "name": "fake-node-1",
                "cluster_name": "watchfloor-test",
                "cluster_uuid": "fake-cluster-uuid",
                "version": {
                    "number": VERSION,
                    "build_flavor": "default",
                    "lucene_version": "9.11.1",
                    "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0",
                },
                "tagline": "You Know, for Search",
            },
            headers=PRODUCT_HEADER,
        )

    async def _bulk(self, request: Request) -> JSONResponse:
        if self.unavailable:
            return _error(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE]")
        started = time.perf_counter()
        body = (await request.body()).decode("utf-8", errors="replace")
        try:
            operations = self._parse(body, request.path_params.get("index"))
        except BulkSyntaxError as error:
            return _error(400, "illegal_argument_exception", str(error))
        self.bulk_requests += 1
        items = [self._apply(*operation) for operation in operations]
        errors = any("error" in next(iter(item.values())) for item in items)
        took = int((time.perf_counter() - started) * 1000)
        return JSONResponse({"took": took, "errors": errors, "items": items}, headers=PRODUCT_HEADER)

    # --- bulk semantics ----------------------------------------------------------------------

    @staticmethod
    def _parse(body: str, default_index: str | None) -> list[tuple[str, dict[str, Any], str | None]]:
        """(action, metadata, source line) per operation; raises BulkSyntaxError for the body."""
        if not body.strip():
            raise BulkSyntaxError("request body is required")
        if not body.endswith("\n"):
            raise BulkSyntaxError("The bulk request must be terminated by a newline [\\n]")
        lines = body.split("\n")[:-1]
        operations = []
        position = 0
        while position < len(lines):
            raw = lines[position]
            position += 1
            if not raw.strip():
                continue
            try:
                action_line = json.loads(raw)
            except ValueError:
                raise BulkSyntaxError(f"Malformed action/metadata line [{position}]") from None
            if not isinstance(action_line, dict) or len(action_line) != 1:
                raise BulkSyntaxError(
                    f"Malformed action/metadata line [{position}], expected a single action"
                )
            action, metadata = next(iter(action_line.items()))
            if action not in {"index", "create", "update", "delete"} or not isinstance(metadata, dict):
                raise BulkSyntaxError(
                    f"Malformed action/metadata line [{position}], unknown action [{action}]"
                )
            metadata = dict(metadata)
            metadata.setdefault("_index", default_index)
            if metadata["_index"] is None:
                raise BulkSyntaxError("Validation Failed: 1: index is missing;")
            source = None
            if action != "delete":
                if position >= len(lines):
                    raise BulkSyntaxError(f"Malformed action/metadata line [{position}], source is missing")
                source = lines[position]
                position += 1
            operations.append((action, metadata, source))
        return operations

    def _apply(self, action: str, metadata: dict[str, Any], source: str | None) -> dict[str, Any]:
        index = str(metadata["_index"])
        doc_id = str(metadata.get("_id") or uuid.uuid4().hex[:20])
        head = {"_index": index, "_id": doc_id}
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                return {
                    action: {
                        **head,
                        "status": 429,
                        "error": {
                            "type": "es_rejected_execution_exception",
                            "reason": "rejected execution of coordinating operation",
                        },
                    }
                }
            documents = self._indices.setdefault(index, {})
            if action == "delete":
                existed = documents.pop(doc_id, None) is not None
                return {
                    action: {
                        **head,
                        "result": "deleted" if existed else "not_found",
                        "status": 200 if existed else 404,
                        **self._shards(),
                    }
                }
            try:
                document = json.loads(source or "")
            except ValueError:
                return {
                    action: {
                        **head,
                        "status": 400,
                        "error": {
                            "type": "document_parsing_exception",
                            "reason": "[1:2] failed to parse: source is not valid JSON",
                        },
                    }
                }
            if not isinstance(document, dict):
                return {
                    action: {
                        **head,
                        "status": 400,
                        "error": {
                            "type": "document_parsing_exception",
                            "reason": "source must be a JSON object",
                        },
                    }
                }
            reason = self.reject_if(document) if self.reject_if else None
            if reason is not None:
                return {
                    action: {
                        **head,
                        "status": 400,
                        "error": {"type": "document_parsing_exception", "reason": reason},
                    }
                }
            if action == "create" and doc_id in documents:
                return {
                    action: {
                        **head,
                        "status": 409,
                        "error": {
                            "type": "version_conflict_engine_exception",
                            "reason": f"[{doc_id}]: version conflict, document already exists",
                        },
                    }
                }
            if action == "update":
                if doc_id not in documents:
                    return {
                        action: {
                            **head,
                            "status": 404,
                            "error": {
                                "type": "document_missing_exception",
                                "reason": f"[{doc_id}]: document missing",
                            },
                        }
                    }
                documents[doc_id] = {**documents[doc_id], **document.get("doc", {})}
                return {action: {**head, "result": "updated", "status": 200, **self._shards()}}
            updated = doc_id in documents
            documents[doc_id] = document
            return {
                action: {
                    **head,
                    "result": "updated" if updated else "created",
                    "status": 200 if updated else 201,
                    **self._shards(),
                }
            }

    def _shards(self) -> dict[str, Any]:
        return {
            "_version": 1,
            "_shards": {"total": 1, "successful": 1, "failed": 0},
            "_seq_no": next(self._seq),
            "_primary_term": 1,
        }
