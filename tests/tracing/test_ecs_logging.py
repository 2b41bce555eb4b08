"""ECS documents: span ids from the active span, nested fields, errors with stack traces."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from tracing.ecs_logging import ECSHandler, ecs_document

SERVICE = {"name": "drm", "version": "1.0.0"}


def _record(message: str = "hello", exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("test", logging.WARNING, __file__, 1, message, (), exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_record_written_inside_a_span_carries_its_trace_and_span_ids():
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        document = ecs_document(_record(), SERVICE, {})
    context = span.get_span_context()
    assert document["trace"]["id"] == format(context.trace_id, "032x")
    assert document["span"]["id"] == format(context.span_id, "016x")


def test_a_record_written_outside_any_span_has_no_trace_fields():
    document = ecs_document(_record(), SERVICE, {})
    assert "trace" not in document and "span" not in document


def test_dotted_extra_fields_become_nested_ecs_objects():
    document = ecs_document(
        _record(ecs={"http.response.status_code": 503, "event.outcome": "failure", "labels.route": "/x"}),
        SERVICE,
        {"nf_cluster": "drm-v1"},
    )
    assert document["http"] == {"response": {"status_code": 503}}
    assert document["event"] == {"outcome": "failure"}
    assert document["labels"] == {"nf_cluster": "drm-v1", "route": "/x"}
    assert document["log"]["level"] == "warning"


def test_an_exception_fills_the_error_fields_with_its_stack_trace():
    try:
        raise TimeoutError("key server did not answer")
    except TimeoutError as error:
        document = ecs_document(_record(exc_info=(type(error), error, error.__traceback__)), SERVICE, {})
    assert document["error"]["type"] == "TimeoutError"
    assert document["error"]["message"] == "key server did not answer"
    assert "raise TimeoutError" in document["error"]["stack_trace"]


def test_the_handler_writes_one_json_object_per_line_and_offers_each_to_the_sink(tmp_path):
    offered = []

    class Sink:
        def offer(self, document):
            offered.append(document)

    path = tmp_path / "logs" / "drm.ndjson"
    handler = ECSHandler(SERVICE, path=path, sink=Sink())
    logger = logging.getLogger("test.ecs.handler")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("first %d", 1)
        logger.warning("second, with a\nnewline")
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["first 1", "second, with a\nnewline"]
    assert [d["message"] for d in offered] == ["first 1", "second, with a\nnewline"]
