"""Aggregations for the Elasticsearch fake: ``date_histogram``, ``terms`` and ``filter``, nested.

Pure functions over the documents a search's query matched; :mod:`tests.fakes.elasticsearch`
puts their answer under ``aggregations``. They follow Elasticsearch 8 where a client can
tell the difference:

* ``date_histogram`` with ``fixed_interval`` (``calendar_interval`` is refused: the fake has
  no calendar): a value goes to ``floor((value - offset) / interval) * interval + offset``,
  in epoch milliseconds — a ``date_nanos`` value is truncated to its millisecond first
  ("aggregations are still on millisecond resolution"). ``offset`` is ``[+-]N<unit>`` or a
  number of milliseconds. Buckets come in key order with ``key`` (epoch ms),
  ``key_as_string`` (the ``format``, else ISO with milliseconds) and ``doc_count``. With
  ``min_doc_count`` 0 (the default) the empty buckets between the first and last are
  filled, and ``extended_bounds`` add empty ones before and after: the bounds are rounded
  *without* the offset and the offset added after (``LongBounds.round``). ``hard_bounds``,
  rounded the same way, keep the buckets whose key is ``>= min`` and ``< max``; extended
  bounds outside them are refused.
* ``terms``: ``field``, ``size`` (10), ``min_doc_count`` (1), ``missing``; buckets by
  ``doc_count`` descending then key ascending, ``sum_other_doc_count`` for the rest, a
  document counted once per distinct value. Keys are the values as the source holds them.
* ``filter``: a query; ``doc_count`` and the sub-aggregations over what it matches.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.fakes.elasticsearch_search import (
    DATE_FIELDS,
    SearchError,
    StoredDoc,
    doc_date_ns,
    field_values,
    format_date,
    matches,
    parse_date_ns,
)

_TIME = re.compile(r"([+-]?)(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
DEFAULT_FORMAT = "strict_date_optional_time"


def _bad(reason: str) -> SearchError:
    return SearchError.all_shards_failed(400, "illegal_argument_exception", reason)


def aggregate(spec: Any, docs: list[StoredDoc]) -> dict[str, Any]:
    """The ``aggregations`` object for a request's ``aggs`` over the matching ``docs``."""
    if not isinstance(spec, dict):
        raise SearchError.simple(400, "parsing_exception", "Aggregation definition must be an object")
    return {name: _aggregation(str(name), body, docs) for name, body in spec.items()}


def _aggregation(name: str, body: Any, docs: list[StoredDoc]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SearchError.simple(400, "parsing_exception", f"Expected [START_OBJECT] under [{name}]")
    sub = body.get("aggs", body.get("aggregations"))
    kinds = [k for k in body if k not in {"aggs", "aggregations", "meta"}]
    if not kinds:
        raise SearchError.simple(400, "parsing_exception", f"Missing definition for aggregation [{name}]")
    if len(kinds) > 1:
        reason = f"Found two aggregation type definitions in [{name}]: [{kinds[0]}] and [{kinds[1]}]"
        raise SearchError.simple(400, "parsing_exception", reason)
    kind, spec = kinds[0], body[kinds[0]]

    def nested(bucket_docs: list[StoredDoc]) -> dict[str, Any]:
        return aggregate(sub, bucket_docs) if sub is not None else {}

    if kind == "date_histogram":
        return _date_histogram(name, spec, docs, nested)
    if kind == "terms":
        return _terms(spec, docs, nested)
    if kind == "filter":
        matched = [d for d in docs if matches(spec, d)]
        return {"doc_count": len(matched), **nested(matched)}
    raise SearchError.simple(400, "parsing_exception", f"Unknown aggregation type [{kind}]")


def _interval_ms(text: Any, what: str) -> int:
    match = _TIME.fullmatch(str(text))
    if match is None or match.group(1):
        raise _bad(f"failed to parse setting [date_histogram.{what}] with value [{text}] as a time value")
    return int(match.group(2)) * _UNIT_MS[match.group(3)]


def _offset_ms(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _TIME.fullmatch(str(value))
    if match is None:
        raise _bad(f"failed to parse setting [date_histogram.offset] with value [{value}] as a time value")
    amount = int(match.group(2)) * _UNIT_MS[match.group(3)]
    return -amount if match.group(1) == "-" else amount


def _bounds(spec: dict[str, Any], key: str, fmt: str | None, interval: int) -> tuple[int | None, int | None]:
    """``extended_bounds`` or ``hard_bounds`` in epoch ms, rounded down to the interval (no offset)."""
    bounds = spec.get(key)
    if bounds is None:
        return None, None
    found: list[int | None] = []
    for side in ("min", "max"):
        raw = bounds.get(side)
        if raw is None:
            found.append(None)
            continue
        try:
            ms = raw if isinstance(raw, int) else parse_date_ns(raw, fmt) // 10**6
        except ValueError:
            raise _bad(f"failed to parse date field [{raw}] with format [{fmt}]") from None
        found.append(ms)
    low, high = found
    if low is not None and high is not None and low > high:
        raise _bad(f"[{key}.min][{low}] cannot be greater than [{key}.max][{high}] for histogram aggregation")
    return (
        None if low is None else low // interval * interval,
        None if high is None else high // interval * interval,
    )


def _date_histogram(
    name: str,
    spec: dict[str, Any],
    docs: list[StoredDoc],
    nested: Callable[[list[StoredDoc]], dict[str, Any]],
) -> dict[str, Any]:
    field = spec.get("field")
    if field not in DATE_FIELDS:
        raise _bad(f"Field [{field}] of type [keyword] is not supported for aggregation [date_histogram]")
    if "calendar_interval" in spec or "interval" in spec:
        raise _bad("the fake's date_histogram supports [fixed_interval] only")
    if "fixed_interval" not in spec:
        raise _bad("Invalid interval specified, must be non-null and non-empty")
    interval = _interval_ms(spec["fixed_interval"], "fixed_interval")
    offset = _offset_ms(spec.get("offset", 0))
    fmt = spec.get("format")
    min_doc_count = int(spec.get("min_doc_count", 0))
    extended = _bounds(spec, "extended_bounds", fmt, interval)
    hard = _bounds(spec, "hard_bounds", fmt, interval)
    if (hard[1] is not None and extended[1] is not None and extended[1] > hard[1]) or (
        hard[0] is not None and extended[0] is not None and extended[0] < hard[0]
    ):
        reason = f"hard bounds: [{hard}], extended bounds: [{extended}]"
        raise _bad(f"Extended bounds have to be inside hard bounds, {reason}")
    by_key: dict[int, list[StoredDoc]] = {}
    for doc in docs:
        ns = doc_date_ns(doc, field)
        if ns is None:
            continue
        ms = ns // 10**6  # aggregations see milliseconds, even of date_nanos
        key = (ms - offset) // interval * interval + offset
        if (hard[0] is None or key >= hard[0]) and (hard[1] is None or key < hard[1]):
            by_key.setdefault(key, []).append(doc)
    keys = sorted(k for k, members in by_key.items() if len(members) >= min_doc_count)
    if min_doc_count == 0:
        keys = _with_empty(keys, extended, offset, interval)
    shown = fmt or DEFAULT_FORMAT
    buckets = [
        {
            "key_as_string": format_date(key * 10**6, shown),
            "key": key,
            "doc_count": len(by_key.get(key, [])),
            **nested(by_key.get(key, [])),
        }
        for key in keys
    ]
    return {"buckets": buckets}


def _with_empty(
    keys: list[int], extended: tuple[int | None, int | None], offset: int, interval: int
) -> list[int]:
    """Every key from the first to the last, widened by the extended bounds (as ``iterateEmptyBuckets``)."""
    low, high = extended
    if not keys:
        if low is None or high is None:
            return []
        return list(range(low + offset, high + offset + 1, interval))
    first, last = keys[0], keys[-1]
    before = list(range(low + offset, first, interval)) if low is not None and low + offset < first else []
    after = list(range(last + interval, high + offset + 1, interval)) if high is not None else []
    return [*before, *range(first, last + 1, interval), *after]


def _terms(
    spec: dict[str, Any], docs: list[StoredDoc], nested: Callable[[list[StoredDoc]], dict[str, Any]]
) -> dict[str, Any]:
    field = spec.get("field")
    if not isinstance(field, str):
        raise _bad("Required one of fields [field, script], but none were specified.")
    size = int(spec.get("size", 10))
    if size < 1:
        raise _bad(f"[size] must be greater than 0. Found [{size}] in [terms]")
    min_doc_count = int(spec.get("min_doc_count", 1))
    members: dict[Any, list[StoredDoc]] = {}
    for doc in docs:
        values = field_values(doc, field)
        if not values and "missing" in spec:
            values = [spec["missing"]]
        for value in dict.fromkeys(v for v in values if isinstance(v, str | int | float)):
            members.setdefault(value, []).append(doc)
    counts = Counter({key: len(group) for key, group in members.items()})
    # Most documents first, then by key (numbers as numbers).
    ranked = sorted(
        (key for key, count in counts.items() if count >= min_doc_count),
        key=lambda k: (-counts[k], str(k)) if isinstance(k, str) else (-counts[k], "", k),
    )
    shown = ranked[:size]
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": sum(counts[k] for k in ranked[size:]),
        "buckets": [{"key": key, "doc_count": counts[key], **nested(members[key])} for key in shown],
    }
