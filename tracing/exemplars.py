"""Exemplars: from a span-derived RED series to the spans that made its points.

``collectors/span_metrics.py`` writes, per service, operation, kind, status and cluster, the
series ``span.calls`` (count) and ``span.duration`` (count, totalTime, max, and percentile
buckets tagged ``le``). :func:`span_filter` maps such a series' tags back to the spans it
counts; :func:`series_exemplars` reads them per step and shapes the answer, in the manner
of Prometheus's ``/api/v1/query_exemplars``.

Choices:

* a series is span-derived only when its tags are exactly those span metrics write, with
  known kind, status and bucket values; any other series gets no filter (and no entry);
* a bucket series (``le``) gets spans of that bucket alone, (previous le, le], as a
  Prometheus bucket's exemplars are, though the series itself is cumulative;
* ``span.name="other"`` (operations collapsed once span metrics hit their key cap) cannot be
  told apart afterwards, so it matches every operation of the same service, kind, status
  and cluster: its exemplar may be a span that was counted under its own name.

The kind, status and bucket names are restated from ``collectors/span_metrics.py``:
``tracing`` may import only ``store`` (tests check the two agree).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from store.interfaces import Exemplar, SeriesValues, SpanFilter
from store.model import DURATION_BUCKETS, KIND_NAMES, OTHER_OPERATION, STATUS_NAMES
from tracing.search import STATUS_CODES

KINDS = {name: code for code, name in KIND_NAMES.items()}

_BUCKET_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    format(bound, "g"): (DURATION_BUCKETS[i - 1] if i else None, bound)
    for i, bound in enumerate(DURATION_BUCKETS)
}
_BUCKET_BOUNDS["+Inf"] = (DURATION_BUCKETS[-1], None)
_REQUIRED = {"name", "statistic", "nf.app", "span.name", "span.kind", "status.code"}
_STATISTICS = {"span.calls": {"count"}, "span.duration": {"count", "totalTime", "max", "percentile"}}


def span_filter(tags: Mapping[str, str]) -> SpanFilter | None:
    """The spans behind a span-derived series, or None for any other series."""
    keys = set(tags)
    percentile = tags.get("statistic") == "percentile"
    expected = _REQUIRED | ({"le"} if percentile else set())
    if not expected <= keys or keys - expected - {"nf.cluster"}:
        return None
    if tags["statistic"] not in _STATISTICS.get(tags["name"], set()):
        return None
    kind, status = KINDS.get(tags["span.kind"]), STATUS_CODES.get(tags["status.code"])
    if kind is None or status is None:
        return None
    longer_than, at_most = None, None
    if percentile:
        if tags["le"] not in _BUCKET_BOUNDS:
            return None
        longer_than, at_most = _BUCKET_BOUNDS[tags["le"]]
    operation = tags["span.name"]
    return SpanFilter(
        service=tags["nf.app"],
        operation=None if operation == OTHER_OPERATION else operation,
        kind=kind,
        status_code=status,
        # Span metrics leave nf.cluster off when the resource has none: then only such spans.
        cluster=tags.get("nf.cluster", ""),
        longer_than_s=longer_than,
        at_most_s=at_most,
    )


def exemplar_json(exemplar: Exemplar, series: SeriesValues) -> dict[str, Any]:
    """One exemplar as the API answers it, with the series' value at its step when there is one."""
    answer: dict[str, Any] = {
        "timestamp_ms": exemplar.timestamp_ms,
        "trace_id": exemplar.trace_id,
        "span_id": exemplar.span_id,
        "operation": exemplar.name,
        "duration_ms": round(exemplar.duration_ns / 1e6, 3),
        "status": STATUS_NAMES.get(exemplar.status_code, "unset"),
    }
    # values[i] covers the step ending at start + (i + 1) * step.
    index = (exemplar.timestamp_ms - series.start_ms) // series.step_ms - 1
    if 0 <= index < len(series.values):
        value = float(series.values[index])
        if not math.isnan(value):
            answer["value"] = value
    return answer


def series_exemplars(
    found: Sequence[SeriesValues], read: Callable[[SpanFilter], Sequence[Exemplar]]
) -> list[dict[str, Any]]:
    """``{"tags", "exemplars"}`` for each span-derived series of ``found``, in its order.

    ``read`` gives a filter's exemplars over the range; it is called once per distinct
    filter (a key's calls, count, totalTime and max series share theirs).
    """
    read_already: dict[SpanFilter, Sequence[Exemplar]] = {}
    answers: list[dict[str, Any]] = []
    for series in found:
        spans = span_filter(series.tags)
        if spans is None:
            continue
        if spans not in read_already:
            read_already[spans] = read(spans)
        exemplars = [exemplar_json(e, series) for e in read_already[spans]]
        answers.append({"tags": dict(series.tags), "exemplars": exemplars})
    return answers
