"""Prometheus series as Atlas series and back: names, statistics, tag keys (the scraper's rules too).

The embedded store holds what the scraper's normaliser made of an exposition; a Prometheus
engine holds the exposition's samples. To answer the same Atlas queries, each Prometheus
series is given the tags the normaliser gives it, by the same rules (:func:`declared_form`,
which ``collectors/normalise.py`` uses):

- a counter ``X_total`` is Atlas ``name=X, statistic=count``, read as a rate per second;
- a histogram's ``X_bucket`` is ``statistic=percentile`` with its ``le`` (a rate, cumulative
  as exposed), ``X_count`` is ``count`` and ``X_sum`` is ``totalTime`` (family ``…_seconds``)
  or ``totalAmount``; a summary's ``X_count``/``X_sum`` likewise, its quantile samples are
  gauges with ``statistic=percentile``;
- anything else is a gauge, ``statistic=gauge``; ``X_created`` samples are not series.

The family's type comes from the engine's ``/api/v1/metadata`` when it knows the family
(Prometheus does while it scrapes the target). VictoriaMetrics keeps no metadata, and a
family no longer scraped has none: then suffixes decide: ``_total``, ``_count``, ``_sum`` and
``_bucket`` with an ``le`` are counters, a ``quantile`` label makes a summary quantile. A
gauge named like a counter (``queue_count``) is then read as a rate.

Label names map back to tag keys by the one rename Prometheus forces on Watchfloor's
common tags: ``nf_app`` is ``nf.app`` (every ``nf_*`` label becomes ``nf.*``).

:func:`engine_query` rewrites an Atlas query on those tags into one on Prometheus's own
names, selecting a superset (``statistic`` is no label; ``name=X`` may be ``X``, ``X_total``,
``X_count``, ``X_sum`` or ``X_bucket``); the reader keeps what the original query matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from store.tag_query import And, Eq, In, MatchAll, MatchNone, Not, Or, Regex, TagQuery

__all__ = ["AtlasSeries", "atlas_series", "declared_form", "engine_query", "tag_key"]

Kind = Literal["rate", "gauge"]
SUFFIXES = ("_total", "_count", "_sum", "_bucket")
_DERIVED = frozenset({"name", "statistic"})
# Families whose samples carry a "_created" timestamp that is not a series of its own.
_HAS_CREATED = frozenset({"counter", "histogram", "summary", "gaugehistogram"})
# An unescaped `$` in a name pattern: the Prometheus name may go on with a suffix there.
_END = re.compile(r"(?<!\\)\$")
_SUFFIX_GROUP = "(?:_total|_count|_sum|_bucket)?$"


@dataclass(frozen=True, slots=True)
class AtlasSeries:
    """What one Prometheus series is as an Atlas series: how to read it, and its tags."""

    kind: Kind
    tags: dict[str, str]


def tag_key(label: str) -> str:
    """The Atlas tag key of a Prometheus label (``nf_app`` → ``nf.app``)."""
    return "nf." + label[3:] if label.startswith("nf_") and len(label) > 3 else label


def _statistic_of_sum(base: str) -> str:
    return "totalTime" if base.endswith("_seconds") else "totalAmount"


def _known(name: str, types: Mapping[str, str]) -> bool:
    """Whether the engine declared a type for the series' family."""
    return name in types or any(name.removesuffix(s) in types for s in (*SUFFIXES, "_created"))


def declared_form(name: str, has_quantile: bool, types: Mapping[str, str]) -> tuple[Kind, str, str] | None:
    """(kind, Atlas name, statistic) of a sample series from its families' declared types; None to drop.

    The scraper's normaliser (``collectors/normalise.py``) names what it scrapes by these same rules.
    """
    if name.endswith("_created"):
        # OpenMetrics writes it as a sample of its family, 0.0.4 (prometheus_client) as a gauge family.
        base = name[:-8]
        if types.get(base) in _HAS_CREATED or types.get(base + "_total") == "counter":
            return None
    declared = types.get(name)
    if declared == "counter":
        return "rate", name.removesuffix("_total"), "count"
    if declared == "summary" and has_quantile:
        return "gauge", name, "percentile"
    if declared is None:
        for suffix in SUFFIXES:
            base = name.removesuffix(suffix)
            family = types.get(base) if base != name else None
            if suffix == "_total" and family == "counter":
                return "rate", base, "count"
            if suffix == "_bucket" and family == "histogram":
                return "rate", base, "percentile"
            if suffix == "_count" and family in ("histogram", "summary"):
                return "rate", base, "count"
            if suffix == "_sum" and family in ("histogram", "summary"):
                return "rate", base, _statistic_of_sum(base)
    return "gauge", name, "gauge"


def _inferred(name: str, labels: Mapping[str, str]) -> tuple[Kind, str, str] | None:
    """(kind, Atlas name, statistic) from the name alone, for engines that keep no metadata."""
    if name.endswith("_created"):
        return None
    if name.endswith("_total"):
        return "rate", name[:-6], "count"
    if name.endswith("_bucket") and "le" in labels:
        return "rate", name[:-7], "percentile"
    if name.endswith("_count"):
        return "rate", name[:-6], "count"
    if name.endswith("_sum"):
        return "rate", name[:-4], _statistic_of_sum(name[:-4])
    if "quantile" in labels:
        return "gauge", name, "percentile"
    return "gauge", name, "gauge"


def atlas_series(labels: Mapping[str, str], types: Mapping[str, str]) -> AtlasSeries | None:
    """The Atlas view of a series' labels; ``types`` maps family names to their declared types."""
    name = labels.get("__name__", "")
    if _known(name, types):
        found = declared_form(name, "quantile" in labels, types)
    else:
        found = _inferred(name, labels)
    if found is None:
        return None
    kind, atlas_name, statistic = found
    tags = {tag_key(k): v for k, v in labels.items() if k != "__name__"}
    tags["name"] = atlas_name
    tags["statistic"] = statistic
    return AtlasSeries(kind, tags)


def _names(values: tuple[str, ...]) -> TagQuery:
    return In("name", tuple(v + s for v in values for s in ("", *SUFFIXES)))


def engine_query(query: TagQuery, positive: bool = True) -> TagQuery:
    """A query on Prometheus names that selects at least every series ``query`` matches on Atlas tags.

    ``positive`` is False under a ``:not``, where a superset of the whole needs a subset here.
    """
    match query:
        case Not(inner):
            return Not(engine_query(inner, not positive))
        case And(left, right):
            return And(engine_query(left, positive), engine_query(right, positive))
        case Or(left, right):
            return Or(engine_query(left, positive), engine_query(right, positive))
        case Eq(key, value) if key == "name":
            return _names((value,)) if positive else MatchNone()
        case In(key, values) if key == "name":
            return _names(values) if positive else MatchNone()
        case Regex(key, pattern, ignore_case) if key == "name":
            return Regex(key, _END.sub(_SUFFIX_GROUP, pattern), ignore_case) if positive else MatchNone()
        case MatchAll() | MatchNone():
            return query
    if getattr(query, "key", None) in _DERIVED:
        # A statistic (or a name test PromQL cannot follow) is decided on the Atlas tags after.
        return MatchAll() if positive else MatchNone()
    return query
