"""OTLP/HTTP traces receiver at ``/v1/traces`` (``protocols.md`` §4).

Protobuf or JSON, optionally gzip; answers in the request's content type. Full success is
an empty ``ExportTraceServiceResponse``; individually invalid spans give ``partialSuccess``
(never retried by clients); an undecodable body (or a truncated gzip stream) gives 400 with
a ``google.rpc.Status``; a body over the size limit 413, as soon as the limit is passed; a
full write queue, or a commit that failed, 503 with ``Retry-After`` (clients retry). The
answer is sent only after the spans are committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Callable

from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from prometheus_client import CollectorRegistry, Counter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collectors.body import BodyTooLarge, read_capped
from collectors.otlp_decode import DecodedSpans, OtlpDecodeError, decode_protobuf
from collectors.otlp_json import decode_json
from collectors.write_queue import QueueFull, WriteQueue
from store.model import Span

_log = logging.getLogger(__name__)
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_BODY_BYTES = 64 * 1024 * 1024  # the spec's recommended limit, after decompression
COMMIT_RETRY_AFTER_S = 5  # what a client is told to wait after a commit failed


class _TooLarge(Exception):
    pass


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress without ever holding more than ``limit`` bytes (a zip bomb is a 413, not an OOM).

    Every gzip member must be complete (a truncated stream raises zlib.error, a 400, rather
    than yielding what could be read); members written one after another are all read.
    """
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = inflater.decompress(rest, limit + 1 - size)  # never 0, which would mean "no limit"
        size += len(out)
        if size > limit or inflater.unconsumed_tail:
            raise _TooLarge
        if not inflater.eof:
            raise zlib.error("the gzip stream is truncated")
        parts.append(out)
        rest = inflater.unused_data.lstrip(b"\0")  # gzip allows zero padding after a member
        if not rest:
            return parts[0] if len(parts) == 1 else b"".join(parts)


class OtlpReceiver:
    def __init__(
        self,
        write_queue: WriteQueue,
        registry: CollectorRegistry,
        max_body_bytes: int = MAX_BODY_BYTES,
        on_committed: Callable[[list[Span]], None] | None = None,
    ) -> None:
        self._write_queue = write_queue
        # Called with each batch once it is stored (span-derived metrics); must not block.
        self._on_committed = on_committed
        self._max_body_bytes = max_body_bytes
        self._rejected = Counter(
            "watchfloor_otlp_rejected_spans",
            "Spans refused as individually invalid (partialSuccess).",
            registry=registry,
        )
        self._bad_requests = Counter(
            "watchfloor_otlp_bad_requests",
            "OTLP requests refused as a whole, by HTTP status.",
            ["status"],
            registry=registry,
        )

    def routes(self) -> list[Route]:
        return [Route("/v1/traces", self.traces, methods=["POST"])]

    def _status(
        self, status: int, code: int, message: str, as_json: bool, headers: dict[str, str] | None = None
    ) -> Response:
        self._bad_requests.labels(str(status)).inc()
        if as_json:
            return Response(json.dumps({"code": code, "message": message}), status, headers, JSON)
        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return Response(body, status, headers, PROTOBUF)

    async def traces(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        as_json = content_type == JSON
        if content_type not in {PROTOBUF, JSON}:
            return self._status(
                415,
                code_pb2.INVALID_ARGUMENT,
                f"content-type must be {PROTOBUF} or {JSON}, got {content_type or 'none'}",
                as_json,
            )
        try:
            body = await read_capped(request, self._max_body_bytes)
        except BodyTooLarge:
            return self._status(
                413,
                code_pb2.RESOURCE_EXHAUSTED,
                f"request body is over {self._max_body_bytes} bytes",
                as_json,
            )
        encoding = request.headers.get("content-encoding", "identity").lower()
        try:
            if encoding == "gzip":
                body = _gunzip(body, self._max_body_bytes)
            elif encoding not in {"identity", ""}:
                return self._status(
                    415,
                    code_pb2.INVALID_ARGUMENT,
                    f"content-encoding {encoding!r} is not supported (gzip is)",
                    as_json,
                )
        except _TooLarge:
            return self._status(
                413,
                code_pb2.RESOURCE_EXHAUSTED,
                f"request body is over {self._max_body_bytes} bytes after decompression",
                as_json,
            )
        except (zlib.error, EOFError) as error:
            return self._status(400, code_pb2.INVALID_ARGUMENT, f"body is not valid gzip: {error}", as_json)
        try:
            decoded: DecodedSpans = decode_json(body) if as_json else decode_protobuf(body)
        except OtlpDecodeError as error:
            return self._status(400, code_pb2.INVALID_ARGUMENT, str(error), as_json)
        except RecursionError:
            return self._status(400, code_pb2.INVALID_ARGUMENT, "body is nested too deeply", as_json)
        try:
            future = self._write_queue.submit("spans", decoded.spans)
        except QueueFull as full:
            return self._status(
                503, code_pb2.UNAVAILABLE, str(full), as_json, {"Retry-After": str(full.retry_after_s)}
            )
        try:
            await asyncio.wrap_future(future)
        except Exception as error:  # logged by the write queue; the client should send them again
            return self._status(
                503,
                code_pb2.UNAVAILABLE,
                f"the spans could not be committed ({type(error).__name__}); retry later",
                as_json,
                {"Retry-After": str(COMMIT_RETRY_AFTER_S)},
            )
        if self._on_committed is not None:
            try:
                self._on_committed(decoded.spans)
            except Exception:  # the spans are stored: derived metrics failing must not fail the export
                _log.exception("deriving metrics from %d committed spans failed", len(decoded.spans))
        return self._success(decoded, as_json)

    def _success(self, decoded: DecodedSpans, as_json: bool) -> Response:
        if decoded.rejected:
            self._rejected.inc(decoded.rejected)
        if as_json:
            answer = (
                {}
                if not decoded.rejected
                else {
                    "partialSuccess": {
                        "rejectedSpans": decoded.rejected,
                        "errorMessage": decoded.error_message,
                    }
                }
            )
            return Response(json.dumps(answer), 200, media_type=JSON)
        response = ExportTraceServiceResponse()
        if decoded.rejected:
            response.partial_success.rejected_spans = decoded.rejected
            response.partial_success.error_message = decoded.error_message
        return Response(response.SerializeToString(), 200, media_type=PROTOBUF)
