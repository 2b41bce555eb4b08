"""Elasticsearch requests for a LogSearch and the reading of their answers (pure, no I/O).

The query of a search and how its pages of hits become the answer (records, seq, the cut at
``limit``); the per-step count aggregations and how their buckets become counts.

What each LogSearch field becomes, and why, is in :mod:`store.backends.elasticsearch_logs`.
Bounds go as ``strict_date_optional_time_nanos`` strings so ``date_nanos`` fields keep every
nanosecond; a ``date`` field resolves them to the millisecond (``toEpochMilli``, a floor).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from collectors.bulk_intake import DocumentError, log_record
from collectors.es_checkpoint import format_iso_ns
from store.interfaces import LogSearch
from store.model import LogRecord

DATE_FORMAT = "strict_date_optional_time_nanos"
MS = 1_000_000  # nanoseconds in a millisecond
# Distinct log.level values asked for per step; more fail loudly rather than count short.
MAX_LEVELS = 500


def sort(order: str) -> list[dict[str, Any]]:
    """``@timestamp`` as full-precision strings, whether an index maps it ``date`` or ``date_nanos``."""
    return [{"@timestamp": {"order": order, "format": DATE_FORMAT, "numeric_type": "date_nanos"}}]


def time_range(at_least_ns: int | None, at_most_ns: int | None) -> dict[str, Any]:
    """``at_least <= @timestamp <= at_most`` in nanoseconds, exact on ``date`` fields too.

    The lower bound goes as ``gt at_least - 1``: a ``date`` field floors the bound to its
    millisecond and then adds one, which is ``ceil(at_least / 1 ms)`` — the first millisecond
    at or after it. ``gte`` would floor and take a millisecond just before the bound. The upper
    bound floors correctly as it is.
    """
    if at_least_ns is None and at_most_ns is None:
        return {"exists": {"field": "@timestamp"}}
    bounds: dict[str, Any] = {"format": DATE_FORMAT}
    if at_least_ns is not None:
        bounds["gt"] = format_iso_ns(at_least_ns - 1)
    if at_most_ns is not None:
        bounds["lte"] = format_iso_ns(at_most_ns)
    return {"range": {"@timestamp": bounds}}


def keyword_equals(field: str, value: str, *, lowered: bool) -> dict[str, Any]:
    """``field`` equal to ``value`` as the store compares the column lifted from it.

    ``lowered``: the store lower-cases the column (levels, trace ids), so any spelling of a
    lower-case value matches and a value with capitals matches nothing. The store lifts a
    missing field as "", so "" also matches documents without the field.
    """
    if lowered and value != value.lower():
        return {"match_none": {}}
    term: dict[str, Any] = {"term": {field: {"value": value, "case_insensitive": True} if lowered else value}}
    if value:
        return term
    missing = {"bool": {"must_not": [{"exists": {"field": field}}]}}
    return {"bool": {"should": [term, missing], "minimum_should_match": 1}}


def filters(search: LogSearch) -> list[dict[str, Any]]:
    """The field conditions of a search, without its time bounds and cursors."""
    clauses: list[dict[str, Any]] = []
    if search.service is not None:
        clauses.append(keyword_equals("service.name", search.service, lowered=False))
    if search.level is not None:
        clauses.append(keyword_equals("log.level", search.level, lowered=True))
    if search.levels:
        either = [keyword_equals("log.level", level, lowered=True) for level in search.levels]
        clauses.append({"bool": {"should": either, "minimum_should_match": 1}})
    if search.trace_id is not None:
        clauses.append(keyword_equals("trace.id", search.trace_id, lowered=True))
    if search.text:
        clauses.append({"match_phrase": {"message": {"query": search.text}}})
    for key, value in search.labels:
        # The store drops double quotes from a label key (its JSON path quotes it); so here.
        clauses.append({"term": {f"labels.{key.replace(chr(34), '')}": value}})
    return clauses


def search_query(search: LogSearch) -> dict[str, Any]:
    """The query of ``search_logs``: fields, inclusive time bounds, and the cursors' timestamps.

    A cursor narrows by timestamp only (``before`` keeps ``<= t``, ``after`` ``>= t``); the
    reader drops the records at ``t`` on the wrong side of the cursor's seq itself.
    """
    lows = [t for t in (search.start_ns, search.after[0] if search.after else None) if t is not None]
    highs = [t for t in (search.end_ns, search.before[0] if search.before else None) if t is not None]
    bounds = time_range(max(lows) if lows else None, min(highs) if highs else None)
    return {"bool": {"filter": [*filters(search), bounds]}}


def document_seq(index: str, doc_id: str) -> int:
    """A record's seq: a stable 63-bit hash of where its document lives."""
    digest = hashlib.blake2b(f"{index}\x00{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def hit_record(hit: dict[str, Any], timestamp_ns: int) -> LogRecord:
    """A search hit as a LogRecord at ``timestamp_ns`` (its sort value); raises DocumentError."""
    source = hit.get("_source")
    if not isinstance(source, dict):
        raise DocumentError("the hit carries no _source")
    index, doc_id = str(hit.get("_index", "")), str(hit.get("_id", ""))
    # The intake's converter reads every field but the time, which comes from the sort value:
    # it is what Elasticsearch indexed, in spellings the intake refuses (no zone) too.
    record = log_record(json.dumps({**source, "@timestamp": 0}), index)
    document = dict(record.document)
    if "@timestamp" in source:
        document["@timestamp"] = source["@timestamp"]
    else:
        del document["@timestamp"]
    return replace(record, timestamp_ns=timestamp_ns, document=document, seq=document_seq(index, doc_id))


class Collected:
    """The records of one search as pages arrive, and when the answer is settled."""

    def __init__(self, search: LogSearch) -> None:
        self.search = search
        self.forward = search.after is not None
        self.records: list[LogRecord] = []

    def _wanted(self, record: LogRecord) -> bool:
        key = (record.timestamp_ns, record.seq)
        before, after = self.search.before, self.search.after
        return (before is None or key < before) and (after is None or key > after)

    def add(
        self, hits: list[dict[str, Any]], timestamps: list[int]
    ) -> list[tuple[dict[str, Any], DocumentError]]:
        """Take a page's hits (with their sort timestamps); answers those that cannot be converted."""
        skipped = []
        for hit, ns in zip(hits, timestamps, strict=True):
            try:
                record = hit_record(hit, ns)
            except DocumentError as error:
                skipped.append((hit, error))
                continue
            if self._wanted(record):
                self.records.append(record)
        return skipped

    def settled(self, last_ns: int) -> bool:
        """Whether ``limit`` records lie strictly before ``last_ns`` in reading order.

        Those are complete (pages come in timestamp order); the records at ``last_ns`` may not
        be, and seq, not the page, orders them.
        """
        done = sum(
            1
            for r in self.records
            if (r.timestamp_ns < last_ns if self.forward else r.timestamp_ns > last_ns)
        )
        return done >= self.search.limit

    def answer(self) -> list[LogRecord]:
        ordered = sorted(self.records, key=lambda r: (r.timestamp_ns, r.seq), reverse=not self.forward)
        return ordered[: self.search.limit]


@dataclass(frozen=True)
class Window:
    """Steps ``first .. first + steps - 1`` of a count, read in one request."""

    first: int  # index of the window's first step in the whole answer
    start_ms: int  # aligned: the window's first step is (start, start + step]
    steps: int


def windows(start_ms: int, steps: int, step_ms: int, per_request: int) -> Iterator[Window]:
    for first in range(0, steps, per_request):
        yield Window(first, start_ms + first * step_ms, min(per_request, steps - first))


def count_request(
    search: LogSearch, window: Window, end_ms: int, step_ms: int, *, by_level: bool
) -> dict[str, Any]:
    """``query`` and ``aggs`` counting one window's steps; see :func:`step_counts` for reading them.

    Buckets are ``(t - step, t]`` as the store's: a 1 ms ``offset`` turns Elasticsearch's
    ``[key, key + step)`` over whole milliseconds into ``(key - 1, key - 1 + step]``. That is
    exact for ``date`` fields. Aggregations see a ``date_nanos`` value truncated to its
    millisecond, so a document less than 1 ms after a step's end would count in that step;
    the ``sub_ms`` aggregation counts exactly those (a range per step boundary, which a
    ``date`` field can never match) so they can be moved to the following step.
    """
    upper_ms = min(end_ms, window.start_ms + window.steps * step_ms)
    query = {"bool": {"filter": [*filters(search), time_range(window.start_ms * MS + 1, upper_ms * MS)]}}
    levels = (
        {"aggs": {"levels": {"terms": {"field": "log.level", "size": MAX_LEVELS, "missing": ""}}}}
        if by_level
        else {}
    )
    histogram = {"field": "@timestamp", "fixed_interval": f"{step_ms}ms", "offset": "+1ms"}
    # Bounds name the steps' aligned starts: Elasticsearch rounds them without the offset and
    # then adds it, which gives exactly the first and last buckets' keys.
    last_start = window.start_ms + (window.steps - 1) * step_ms
    steps = {
        "date_histogram": {
            **histogram,
            "min_doc_count": 0,
            "extended_bounds": {"min": window.start_ms, "max": last_start},
        },
        **levels,
    }
    boundaries = (window.start_ms + k * step_ms for k in range(window.steps))
    just_after = [
        {
            "range": {
                "@timestamp": {
                    "gt": format_iso_ns(b * MS),
                    "lt": format_iso_ns((b + 1) * MS),
                    "format": DATE_FORMAT,
                }
            }
        }
        for b in boundaries
    ]
    sub_ms = {
        "filter": {"bool": {"should": just_after, "minimum_should_match": 1}},
        "aggs": {"steps": {"date_histogram": {**histogram, "min_doc_count": 1}, **levels}},
    }
    return {"query": query, "aggs": {"steps": steps, "sub_ms": sub_ms}}


class CountAnswerError(ValueError):
    """An aggregation answer is not of the shape asked for."""


def _per_level(bucket: dict[str, Any], by_level: bool) -> Iterator[tuple[str, int]]:
    if not by_level:
        yield "", int(bucket["doc_count"])
        return
    levels = bucket["levels"]
    if levels.get("sum_other_doc_count", 0):
        raise CountAnswerError(f"more than {MAX_LEVELS} distinct log.level values in one step")
    for level in levels["buckets"]:
        # The store lower-cases levels: "ERROR" and "error" are one level there.
        yield str(level["key"]).lower(), int(level["doc_count"])


def step_counts(
    answer: dict[str, Any], window: Window, step_ms: int, *, by_level: bool
) -> dict[str, list[int]]:
    """Counts per level ("" when not by level) for the window's steps, from a count answer.

    ``sub_ms`` documents sit in the bucket of the step ending at the boundary they follow
    (index ``-1`` for the window's start): they leave it for the next step.
    """
    found: dict[str, list[int]] = {}
    aggregations = answer.get("aggregations")
    if aggregations is None:  # no index matched: nothing to count
        return found

    def add(key: int, shift: int, bucket: dict[str, Any], sign: int) -> None:
        index = (key - 1 - window.start_ms) // step_ms + shift
        if not 0 <= index < window.steps:
            return
        for level, count in _per_level(bucket, by_level):
            if count:
                found.setdefault(level, [0] * window.steps)[index] += sign * count

    try:
        for bucket in aggregations["steps"]["buckets"]:
            add(int(bucket["key"]), 0, bucket, 1)
        for bucket in aggregations["sub_ms"]["steps"]["buckets"]:
            add(int(bucket["key"]), 0, bucket, -1)
            add(int(bucket["key"]), 1, bucket, 1)
    except CountAnswerError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise CountAnswerError(
            f"the aggregation answer is malformed ({type(error).__name__}: {error})"
        ) from error
    return {level: counts for level, counts in found.items() if any(counts)}
