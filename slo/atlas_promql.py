"""PromQL for an SLI's metric sources, as Sloth templates with a ``{{.window}}`` placeholder.

A ``prometheus`` source is PromQL already and must contain Sloth's placeholder
(``sum(rate(x_total[{{.window}}]))``); it is passed through untouched. An ``atlas`` source is
translated when it is a plain sum over a tag query (optionally ``:by``, summed away, since an
SLI is one ratio) built from ``:eq :in :re :reic :has :not :and``; anything else raises
:class:`Untranslatable` naming the word. The result is ``sum(rate(<selector>[{{.window}}]))``.

How Atlas names map back to Prometheus follows ``collectors/normalise.py``:

- ``name=X`` is the Prometheus family X: counters expose ``X_total``, histogram and summary
  counts ``X_count``, histogram buckets ``X_bucket``. A family is only one of these, so a
  count (``statistic=count`` or no statistic) selects ``{__name__=~"X_total|X_count"}`` and a
  bucket (``statistic=percentile`` or an ``le`` clause) ``X_bucket``. The ``statistic`` clause
  itself is dropped: Prometheus has no such label. ``name`` must be matched exactly
  (``:eq`` or ``:in``) for the metric name to be derived.
- Keys and names with characters Prometheus cannot hold become ``_``: the scraper tags
  targets ``nf.app``, ``nf.cluster`` and ``nf.node``, and the exported rules assume
  Prometheus relabels them to ``nf_app``, ``nf_cluster`` and ``nf_node``.
- ``:re`` is anchored at the start only (Atlas), PromQL regexes at both ends, hence
  ``=~"<re>.*"``; patterns must also be valid RE2, which Prometheus uses.
"""

from __future__ import annotations

import re

from slo.model import MetricSource
from stacklang import StackLangError, parse
from stacklang.expr import (
    AggregateExpr,
    Binary,
    Clamp,
    Constant,
    Cumulative,
    Des,
    Expr,
    GroupBy,
    MathAggregate,
    NamedRewrite,
    Percentiles,
    PriorityK,
    Rolling,
    StatRef,
    StyleExpr,
    Unary,
)
from stacklang.queries import KEY_VALUE_WORDS
from store.backends.promql_text import label_name, quote, regex_literal
from store.tag_query import And, Eq, Has, In, MatchAll, MatchNone, Not, Or, Regex, TagQuery

__all__ = ["WINDOW", "Untranslatable", "atlas_template", "error_ratio", "render", "source_template"]

WINDOW = "{{.window}}"
# Sloth renders the query as a Go template, where ``{{ .window }}`` is the same placeholder.
_WINDOW_RE = re.compile(r"\{\{\s*\.window\s*\}\}")
_COUNT_SUFFIXES = ("_total", "_count")
# Statistics that count events; the others (gauge, max, totalTime…) are not an SLI's events.
_EVENT_STATISTICS = ("count", "percentile")


class Untranslatable(ValueError):
    """A metric source that has no PromQL template; the message says which word or clause, and why."""


def source_template(source: MetricSource) -> str:
    """The PromQL template (with ``{{.window}}``) of one metric source; raises :class:`Untranslatable`."""
    if source.type == "prometheus":
        if _WINDOW_RE.search(source.query) is None:
            raise Untranslatable(
                f"the PromQL query has no {WINDOW} placeholder; write the range as [{WINDOW}] "
                "so each burn-rate window gets its own rule"
            )
        return source.query.strip()
    if source.type == "atlas":
        return atlas_template(source.query)
    raise Untranslatable(f"metric source type {source.type!r} has no PromQL form")


def render(template: str, window: str) -> str:
    """``template`` with every ``{{.window}}`` replaced by ``window`` (a PromQL duration such as ``5m``)."""
    return _WINDOW_RE.sub(window, template)


def error_ratio(total: str, *, good: str | None = None, bad: str | None = None) -> str:
    """The error ratio in Sloth's ``(error) / (total)`` layout: ``bad / total`` or ``1 - good / total``."""
    if bad is not None:
        return f"({bad})\n/\n({total})"
    if good is None:
        raise ValueError("an error ratio needs good or bad")
    return f"1 - (\n({good})\n/\n({total})\n)"


def atlas_template(expression: str) -> str:
    """``sum(rate(<selector>[{{.window}}]))`` for a stack-language sum; raises :class:`Untranslatable`."""
    try:
        stack = parse(expression)
    except StackLangError as error:
        raise Untranslatable(f"the Atlas query does not parse: {error}") from error
    if len(stack) != 1:
        raise Untranslatable(
            f"the Atlas query leaves {len(stack)} expressions on the stack; an SLI source needs one"
        )
    return f"sum(rate({selector(_summed_query(stack[0]))}[{WINDOW}]))"


def _summed_query(expr: Expr) -> TagQuery:
    # Legends and colours only style a chart; they change nothing that is counted.
    if isinstance(expr, StyleExpr):
        expr = expr.expr
    if isinstance(expr, GroupBy):
        expr = expr.aggregate
    if not isinstance(expr, AggregateExpr):
        raise Untranslatable(f"{_word(expr)} has no PromQL translation; an SLI source must be a plain :sum")
    if expr.fn != "sum":
        raise Untranslatable(f":{expr.fn} does not count events; an SLI source must be a :sum")
    if expr.offset_ms:
        raise Untranslatable(":offset shifts the window back in time; an SLI must count the current window")
    return expr.query


def _word(expr: object) -> str:
    """The word that built ``expr``, for the refusal message."""
    if isinstance(expr, Constant):
        return "a constant number"
    if isinstance(expr, (Unary, Cumulative, Clamp, Binary, Rolling, Des, PriorityK)):
        return f":{expr.op}"
    if isinstance(expr, MathAggregate):
        return f":{expr.fn} over an expression"
    if isinstance(expr, NamedRewrite):
        return f":{expr.name}"
    if isinstance(expr, Percentiles):
        return ":percentiles"
    if isinstance(expr, StatRef):
        return f":stat-{expr.stat}"
    name = type(expr).__name__
    special = {"MathGroupBy": ":by over an expression", "RollingMean": ":rolling-mean"}
    return special.get(name, f":{name.lower()}")


def selector(query: TagQuery) -> str:
    """The PromQL series selector for an Atlas tag query (see the module docstring for the mapping)."""
    clauses = _clauses(query)
    names = [c for c in clauses if _key(c) == "name"]
    statistics = [c for c in clauses if _key(c) == "statistic"]
    others = [c for c in clauses if _key(c) not in ("name", "statistic")]
    families = _families(names)
    bucket = _is_bucket(statistics, has_le=any(_key(c) == "le" for c in others))
    matchers = [m for clause in others for m in _matchers(clause)]
    if bucket and len(families) == 1:
        return f"{families[0]}_bucket" + (f"{{{', '.join(matchers)}}}" if matchers else "")
    suffixes = ("_bucket",) if bucket else _COUNT_SUFFIXES
    metric = "|".join(family + suffix for family in families for suffix in suffixes)
    return "{" + ", ".join([f"__name__=~{quote(metric)}", *matchers]) + "}"


def _clauses(query: TagQuery) -> list[TagQuery]:
    """The clauses every matching series must satisfy (``:and`` flattened)."""
    if isinstance(query, And):
        return _clauses(query.left) + _clauses(query.right)
    if isinstance(query, Or):
        raise Untranslatable(":or has no PromQL selector form; export one SLO per alternative")
    if isinstance(query, MatchNone):
        raise Untranslatable(":false matches nothing")
    if isinstance(query, MatchAll):
        return []
    if isinstance(query, (Eq, In, Regex, Has, Not)):
        return [query]
    raise Untranslatable(f"{_query_word(query)} has no PromQL matcher")


def _query_word(query: TagQuery) -> str:
    word = KEY_VALUE_WORDS.get(type(query))
    return f":{word}" if word else type(query).__name__


def _key(clause: TagQuery) -> str:
    inner = clause.inner if isinstance(clause, Not) else clause
    key = getattr(inner, "key", None)
    if not isinstance(key, str):
        raise Untranslatable(":not over a combination of clauses has no PromQL matcher")
    return key


def _families(names: list[TagQuery]) -> list[str]:
    if not names:
        raise Untranslatable("the query has no name clause (name,X,:eq); Prometheus needs a metric name")
    if len(names) > 1:
        raise Untranslatable("the query has more than one name clause; use name,(,a,b,),:in")
    clause = names[0]
    if isinstance(clause, Eq):
        return [_metric_name(clause.value)]
    if isinstance(clause, In):
        return [_metric_name(value) for value in clause.values]
    raise Untranslatable("name must be matched exactly with :eq or :in to derive the Prometheus metric name")


def _is_bucket(statistics: list[TagQuery], *, has_le: bool) -> bool:
    if not statistics:
        return has_le
    if len(statistics) > 1 or not isinstance(statistics[0], Eq):
        raise Untranslatable("statistic must be one :eq clause (count or percentile)")
    value = statistics[0].value
    if value not in _EVENT_STATISTICS:
        raise Untranslatable(f"statistic={value} does not count events; use count or percentile")
    if value == "count" and has_le:
        raise Untranslatable("statistic=count with an le clause matches nothing: only buckets have le")
    return value == "percentile" or has_le


def _matchers(clause: TagQuery) -> list[str]:
    """PromQL label matchers for one clause; more than one when Atlas's 'key present' must be kept."""
    if isinstance(clause, Not):
        return _negated(clause.inner)
    label = label_name(_key(clause))
    if isinstance(clause, Eq):
        return [f"{label}={quote(clause.value)}"]
    if isinstance(clause, In):
        if len(clause.values) == 1:
            return [f"{label}={quote(clause.values[0])}"]
        return [f"{label}=~{quote(_alternatives(clause.values))}"]
    if isinstance(clause, Has):
        return [f'{label}!=""']
    assert isinstance(clause, Regex)
    matchers = [f"{label}=~{quote(_prefix_regex(clause))}"]
    # An absent label reads as "" in PromQL; Atlas's :re never matches a series without the key.
    if _matches_empty(clause):
        matchers.append(f'{label}!=""')
    return matchers


def _negated(inner: TagQuery) -> list[str]:
    # Atlas's :not keeps series without the key, as PromQL's != and !~ do (absent reads as "").
    label = label_name(_key(inner))
    if isinstance(inner, Eq):
        return [f"{label}!={quote(inner.value)}"]
    if isinstance(inner, In):
        return [f"{label}!~{quote(_alternatives(inner.values))}"]
    if isinstance(inner, Has):
        return [f'{label}=""']
    if isinstance(inner, Regex) and not _matches_empty(inner):
        return [f"{label}!~{quote(_prefix_regex(inner))}"]
    if isinstance(inner, Regex):
        raise Untranslatable(
            f":not of a :re that matches the empty string would drop series without {inner.key}"
        )
    raise Untranslatable(f":not of {_query_word(inner)} has no PromQL matcher")


def _prefix_regex(clause: Regex) -> str:
    pattern = f"(?:{clause.pattern})" if "|" in clause.pattern else clause.pattern
    return ("(?i)" if clause.ignore_case else "") + pattern + ".*"


def _matches_empty(clause: Regex) -> bool:
    return re.match(clause.pattern, "", re.IGNORECASE if clause.ignore_case else 0) is not None


def _alternatives(values: tuple[str, ...]) -> str:
    return "|".join(regex_literal(value) for value in values)


def _metric_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_:]", "_", name)
    return f"_{name}" if name[:1].isdigit() else name
