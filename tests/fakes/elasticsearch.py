"""A faithful fake of the parts of Elasticsearch Watchfloor talks to (``protocols.md`` §5).

No Elasticsearch server can run here, so this is the one stand-in every test shares. It
follows Elasticsearch 8's wire behaviour field by field: ``GET /`` product information,
the ``X-Elastic-Product: Elasticsearch`` header on every answer, ``_bulk`` at ``/_bulk``
and ``/{index}/_bulk`` with per-item results in request order (a bad document fails only
its own item; a malformed body fails the whole request with 400), and reading back:
points in time (``POST /{index}/_pit``, ``DELETE /_pit``) and ``_search`` with or without
one, with ``aggs``. The search semantics live in :mod:`tests.fakes.elasticsearch_search`,
the aggregations in :mod:`tests.fakes.elasticsearch_aggs`. Index expressions honour
``ignore_unavailable`` (default false: a missing index is a 404) and ``allow_no_indices``
(default true: a pattern may match nothing) on both.

Faults are switched on by tests: :attr:`unavailable` (503 for everything),
:meth:`throttle_next_items` (item-level 429), :attr:`reject_if` (item-level 400),
:meth:`fail_next_searches` (whole searches fail) and :meth:`expire_pits`.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.elasticsearch_aggs import aggregate
from tests.fakes.elasticsearch_search import (
    PointsInTime,
    SearchError,
    StoredDoc,
    keep_alive_s,
    matches,
    search_hits,
    sort_keys,
)

PRODUCT_HEADER = {"X-Elastic-Product": "Elasticsearch"}
VERSION = "8.15.0"


def _error(status: int, kind: str, reason: str, **fields: Any) -> JSONResponse:
    return _failure(SearchError.simple(status, kind, reason, **fields))


def _failure(error: SearchError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=PRODUCT_HEADER)


def _ok(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=PRODUCT_HEADER)


def _flag(params: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean query parameter as Elasticsearch reads it: "true", "false" or empty (true)."""
    if name not in params:
        return default
    value = params[name]
    if value not in {"", "true", "false"}:
        raise SearchError.simple(
            400,
            "illegal_argument_exception",
            f"Failed to parse value [{value}] as only [true] or [false] are allowed.",
        )
    return value != "false"


def _no_such_index(name: str) -> SearchError:
    return SearchError.simple(
        404,
        "index_not_found_exception",
        f"no such index [{name}]",
        **{"resource.type": "index_or_alias", "resource.id": name},
        index_uuid="_na_",
        index=name,
    )


def _unavailable() -> JSONResponse:
    return _error(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE]")


async def _no_handler(request: Request, error: Exception) -> JSONResponse:
    """Unknown endpoints and methods answer as Elasticsearch does, header included."""
    uri, method = request.url.path, request.method
    if isinstance(error, HTTPException) and error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        message = f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{allowed}]"
        return _ok({"error": message, "status": 405}, 405)
    return _ok({"error": f"no handler found for uri [{uri}] and method [{method}]", "status": 400}, 400)


@dataclass
class SearchRecord:
    """One ``_search`` request as the fake received it; ``newest_pit`` is None without a PIT."""

    index: str | None
    body: dict[str, Any]
    pit_id: str | None
    authorization: str | None = None
    newest_pit: bool | None = None


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
        self._doc_seq = itertools.count()  # Lucene's doc order: a re-indexed document moves last
        self._order: dict[tuple[str, str], int] = {}
        self._date_nanos: set[str] = set()
        self._failing_searches: list[int | None] = []
        self.pits = PointsInTime()
        self.searches: list[SearchRecord] = []
        self.app = Starlette(
            routes=[
                Route("/", self._info, methods=["GET", "HEAD"]),
                Route("/_bulk", self._bulk, methods=["POST", "PUT"]),
                Route("/_search", self._search, methods=["GET", "POST"]),
                Route("/_pit", self._close_pit, methods=["DELETE"]),
                Route("/{index}/_bulk", self._bulk, methods=["POST", "PUT"]),
                Route("/{index}/_search", self._search, methods=["GET", "POST"]),
                Route("/{index}/_pit", self._open_pit, methods=["POST"]),
            ],
            exception_handlers={404: _no_handler, 405: _no_handler},
        )

    # --- test controls -----------------------------------------------------------------

    def throttle_next_items(self, count: int) -> None:
        """The next ``count`` bulk items answer 429, as a node with a full write queue does."""
        with self._lock:
            self._throttle = count

    def fail_next_searches(self, count: int, status: int = 500, *, after: int = 0) -> None:
        """After ``after`` more searches succeed, the next ``count`` fail on every shard with
        ``status`` (500; a 503 is retried by the official client)."""
        with self._lock:
            self._failing_searches.extend([None] * after + [status] * count)

    def expire_pits(self) -> None:
        """Every open point in time lapses, as if its keep-alive had run out."""
        self.pits.expire_all()

    def open_pits(self) -> int:
        return self.pits.open_count()

    def map_date_nanos(self, index: str) -> None:
        """Map ``@timestamp`` of ``index`` as ``date_nanos`` (the default is ``date``: milliseconds)."""
        with self._lock:
            self._date_nanos.add(index)

    def add_document(self, index: str, source: Mapping[str, Any], doc_id: str | None = None) -> str:
        """Index one document directly (no bulk faults apply); answers its ``_id``."""
        doc_id = doc_id or uuid.uuid4().hex[:20]
        with self._lock:
            self._store(index, doc_id, dict(source))
        return doc_id

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
            return _unavailable()
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
            return _unavailable()
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
                self._order.pop((index, doc_id), None)
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
                self._store(index, doc_id, {**documents[doc_id], **document.get("doc", {})})
                return {action: {**head, "result": "updated", "status": 200, **self._shards()}}
            updated = doc_id in documents
            self._store(index, doc_id, document)
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

    def _store(self, index: str, doc_id: str, document: dict[str, Any]) -> None:
        """Keep a document and its place in doc order (the caller holds the lock)."""
        self._indices.setdefault(index, {})[doc_id] = document
        self._order[(index, doc_id)] = next(self._doc_seq)

    # --- reading back: points in time and search ------------------------------------------------

    def _resolve(self, expression: str, params: Mapping[str, str]) -> list[str]:
        """Concrete indices of ``a,b,logs-*``: a missing name is an error unless
        ``ignore_unavailable``, matching nothing at all is one only without ``allow_no_indices``."""
        ignore_unavailable = _flag(params, "ignore_unavailable", False)
        names: list[str] = []
        for part in expression.split(","):
            if part in {"_all", "*"}:
                names.extend(n for n in self._indices if not n.startswith("."))
            elif "*" in part or "?" in part:
                names.extend(n for n in self._indices if fnmatch.fnmatchcase(n, part))
            elif part in self._indices:
                names.append(part)
            elif not ignore_unavailable:
                raise _no_such_index(part)
        if not names and not _flag(params, "allow_no_indices", True):
            raise _no_such_index(expression)
        return sorted(set(names))

    def _snapshot(self, expression: str, params: Mapping[str, str]) -> tuple[list[str], list[StoredDoc]]:
        with self._lock:
            indices = self._resolve(expression, params)
            docs = [
                StoredDoc(name, doc_id, source, self._order[(name, doc_id)], name in self._date_nanos)
                for name in indices
                for doc_id, source in self._indices[name].items()
            ]
        return indices, sorted(docs, key=lambda d: d.seq)

    @staticmethod
    async def _json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise SearchError.simple(400, "parse_exception", "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise SearchError.simple(400, "parse_exception", "request body must be a JSON object")
        return body

    async def _open_pit(self, request: Request) -> JSONResponse:
        if self.unavailable:
            return _unavailable()
        try:
            if "keep_alive" not in request.query_params:
                raise SearchError.simple(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: [keep_alive] is not set;",
                )
            keep_alive = keep_alive_s(request.query_params["keep_alive"])
            indices, docs = self._snapshot(request.path_params["index"], request.query_params)
        except SearchError as error:
            return _failure(error)
        shards = {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0}
        return _ok({"id": self.pits.open(docs, keep_alive), "_shards": shards})

    async def _close_pit(self, request: Request) -> JSONResponse:
        if self.unavailable:
            return _unavailable()
        try:
            pit_id = (await self._json_body(request)).get("id")
            if not isinstance(pit_id, str) or not pit_id:
                raise SearchError.simple(
                    400, "action_request_validation_exception", "Validation Failed: 1: [id] is missing;"
                )
            freed = self.pits.close(pit_id)
        except SearchError as error:
            return _failure(error)
        # Elasticsearch answers 404 when nothing was freed (an unknown or expired id).
        return _ok({"succeeded": True, "num_freed": freed}, 200 if freed else 404)

    async def _search(self, request: Request) -> JSONResponse:
        if self.unavailable:
            return _unavailable()
        started = time.perf_counter()
        try:
            body = await self._json_body(request)
            pit = body.get("pit")
            record = SearchRecord(
                request.path_params.get("index"),
                body,
                pit.get("id") if isinstance(pit, dict) else None,
                request.headers.get("authorization"),
            )
            self.searches.append(record)
            self._injected_failure()
            answer = self._run_search(record, request.query_params)
        except SearchError as error:
            return _failure(error)
        return _ok({**answer, "took": int((time.perf_counter() - started) * 1000)})

    def _injected_failure(self) -> None:
        with self._lock:
            status = self._failing_searches.pop(0) if self._failing_searches else None
        if status is not None:
            kind = "no_shard_available_action_exception" if status == 503 else "illegal_state_exception"
            raise SearchError.all_shards_failed(status, kind, "injected failure")

    def _run_search(self, record: SearchRecord, params: Mapping[str, str]) -> dict[str, Any]:
        body, pit = record.body, record.body.get("pit")
        if pit is not None:
            if record.index:
                raise SearchError.simple(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify "
                    "any index with point in time.;",
                )
            keep_alive = keep_alive_s(pit["keep_alive"]) if "keep_alive" in pit else None
            docs, pit_id, record.newest_pit = self.pits.use(str(pit.get("id", "")), keep_alive)
            shard_count = len({d.index for d in docs})
        else:
            indices, docs = self._snapshot(record.index or "_all", params)
            shard_count = len(indices)
        keys = sort_keys(body, params, pit is not None)
        hits = search_hits(body, params, keys, docs)
        shards = {"total": shard_count, "successful": shard_count, "skipped": 0, "failed": 0}
        answer: dict[str, Any] = {"took": 0, "timed_out": False, "_shards": shards, "hits": hits}
        aggs = body.get("aggs", body.get("aggregations"))
        if aggs is not None:  # over every document the query matches, whatever from, size and search_after
            answer["aggregations"] = aggregate(aggs, [d for d in docs if matches(body.get("query"), d)])
        return {"pit_id": pit_id, **answer} if pit is not None else answer
