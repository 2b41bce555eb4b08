"""Search and point-in-time semantics for the Elasticsearch fake (``protocols.md`` §5).

Pure functions and a PIT registry, no HTTP: :mod:`tests.fakes.elasticsearch` serves them.
They follow Elasticsearch 8 field by field where a client can tell the difference:

* ``@timestamp`` is a ``date`` (millisecond resolution, as dynamic mapping makes it) or,
  per index, ``date_nanos``. Values are truncated to that resolution before they are
  compared or sorted, so documents whose sources differ below it tie, as in Elasticsearch.
* Sort values of a date are epoch milliseconds (``date``) or epoch nanoseconds
  (``date_nanos``) as longs, or strings when the sort names a ``format``; ``search_after``
  accepts them back in the same form. Missing values sort last (``Long.MAX_VALUE`` ascending).
* A search with a PIT sorts by an implicit ``_shard_doc`` ascending tiebreaker appended to
  every hit's ``sort``; ``search_after`` must then carry a value for it too.
* Queries: ``match_all``, ``match_none``, ``term`` (with ``case_insensitive``), ``terms``,
  ``ids``, ``exists``, ``range`` (dates as ISO strings or epoch millis, with ``format``, and
  ``now[+-]N[smhd]``), ``match_phrase`` (slop 0, the standard analyser approximated: see
  :func:`analyze`) and ``bool`` (``must``, ``filter``, ``should``, ``must_not``).

An unparseable ``@timestamp`` behaves as if the field were missing (``ignore_malformed``):
the fake's ``_bulk`` keeps every JSON object, where Elasticsearch would refuse the document.
"""

from __future__ import annotations

import base64
import decimal
import functools
import itertools
import operator
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LONG_MAX, LONG_MIN = 2**63 - 1, -(2**63)
MAX_RESULT_WINDOW = 10_000  # index.max_result_window
DEFAULT_TRACK_TOTAL_HITS = 10_000
DATE_FIELDS = frozenset({"@timestamp"})
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_NOW = re.compile(r"now(?:([+-])(\d+)([smhd]))?")
_UNIT_NS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}
_KNOWN_FORMATS = {
    "strict_date_optional_time",
    "strict_date_optional_time_nanos",
    "date_optional_time",
    "epoch_millis",
    "epoch_second",
}


class SearchError(Exception):
    """An Elasticsearch error answer: HTTP status and the ``error`` object."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("reason"))
        self.status = status
        self.error = error

    @classmethod
    def simple(cls, status: int, kind: str, reason: str, **fields: Any) -> SearchError:
        cause = {"type": kind, "reason": reason, **fields}
        return cls(status, {"root_cause": [cause], **cause})

    @classmethod
    def all_shards_failed(cls, status: int, kind: str, reason: str) -> SearchError:
        """How a search reports a failure on every shard: the cause sits in root_cause."""
        cause = {"type": kind, "reason": reason}
        return cls(
            status,
            {
                "root_cause": [cause],
                "type": "search_phase_execution_exception",
                "reason": "all shards failed",
                "phase": "query",
                "grouped": True,
                "failed_shards": [{"shard": -1, "index": None, "reason": cause}],
                "caused_by": cause,
            },
        )

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "status": self.status}


@dataclass(frozen=True)
class StoredDoc:
    """One document as a search sees it; ``seq`` is its ``_shard_doc``, stable within a PIT."""

    index: str
    doc_id: str
    source: dict[str, Any]
    seq: int
    nanos: bool  # @timestamp mapped as date_nanos rather than date


def source_value(source: dict[str, Any], path: str) -> Any:
    """A field of a source by dotted path, whether spelt dotted, nested or mixed."""
    if path in source:
        return source[path]
    parts = path.split(".")
    for split in range(1, len(parts)):
        child = source.get(".".join(parts[:split]))
        if isinstance(child, dict):
            found = source_value(child, ".".join(parts[split:]))
            if found is not None:
                return found
    return None


# --- dates ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)  # else a range parses its bounds again for every document
def _iso_ns(text: str) -> int:
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    moment = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
    )
    offset_s = 0
    if zone and zone not in "Zz":
        digits = zone[1:].replace(":", "")
        offset_s = int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60
        offset_s = -offset_s if zone[0] == "-" else offset_s
    whole = int(moment.timestamp()) - offset_s
    return whole * 10**9 + int((fraction or "0").ljust(9, "0"))


def parse_date_ns(value: Any, fmt: str | None = None, now_ns: int | None = None) -> int:
    """Epoch nanoseconds of a date as a query or ``search_after`` spells it; ValueError if not one."""
    if isinstance(value, bool) or value is None:
        raise ValueError(repr(value))
    formats = (fmt or "strict_date_optional_time||epoch_millis").split("||")
    unknown = [f for f in formats if f not in _KNOWN_FORMATS]
    if unknown:
        raise ValueError(f"Invalid format: [{unknown[0]}]")
    text = str(int(value)) if isinstance(value, int | float) else str(value)
    now = _NOW.fullmatch(text)
    if now is not None:
        sign, amount, unit = now.groups()
        base = time.time_ns() if now_ns is None else now_ns
        delta = int(amount) * _UNIT_NS[unit] if amount else 0
        return base - delta if sign == "-" else base + delta
    for one in formats:
        try:
            if one in {"epoch_millis", "epoch_second"}:  # exactly: a float loses digits at 1e18
                return int(decimal.Decimal(text) * (10**6 if one == "epoch_millis" else 10**9))
            return _iso_ns(text)
        except (ValueError, ArithmeticError):  # decimal's InvalidOperation is an ArithmeticError
            continue
    raise ValueError(text)


def format_date(ns: int, fmt: str) -> str:
    """A date as Elasticsearch prints it with ``fmt`` (the first of ``a||b`` formats)."""
    first = fmt.split("||")[0]
    if first == "epoch_millis":
        return str(ns // 10**6)
    if first == "epoch_second":
        return str(ns // 10**9)
    seconds, fraction = divmod(ns, 10**9)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}"
    # strict_date_optional_time_nanos prints like Java's appendFraction(NANO_OF_SECOND, 3, 9).
    nanos = first == "strict_date_optional_time_nanos"
    digits = digits.rstrip("0").ljust(3, "0") if nanos else digits[:3]
    return f"{stamp}.{digits}Z"


def doc_date_ns(doc: StoredDoc, path: str = "@timestamp") -> int | None:
    """The indexed value of a date field: truncated to the field's resolution; None if absent."""
    try:
        ns = parse_date_ns(source_value(doc.source, path))
    except ValueError:
        return None
    return ns if doc.nanos else ns - ns % 10**6


# --- queries -----------------------------------------------------------------------------------


def _clauses(value: Any) -> list[dict[str, Any]]:
    return value if isinstance(value, list) else [value]


def _one(query: Any) -> tuple[str, Any]:
    if not isinstance(query, dict) or len(query) != 1:
        raise SearchError.simple(400, "parsing_exception", "query malformed, must start with start_object")
    kind, spec = next(iter(query.items()))
    return str(kind), spec


def field_values(doc: StoredDoc, path: str) -> list[Any]:
    if path == "_id":
        return [doc.doc_id]
    if path == "_index":
        return [doc.index]
    value = source_value(doc.source, path)
    return [] if value is None else value if isinstance(value, list) else [value]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return str(a) == str(b)  # a keyword field matches the string form of a number


def _range(doc: StoredDoc, path: str, spec: dict[str, Any]) -> bool:
    bounds = {op: spec[op] for op in ("gte", "gt", "lte", "lt") if spec.get(op) is not None}
    if path in DATE_FIELDS:
        value = doc_date_ns(doc, path)
        if value is None:
            return False
        fmt = spec.get("format")
        try:
            limits = {op: parse_date_ns(raw, fmt) for op, raw in bounds.items()}
        except ValueError as error:
            reason = f"failed to parse date field [{bounds}] with format [{fmt}]: [{error}]"
            raise SearchError.all_shards_failed(400, "parse_exception", reason) from None
        if not doc.nanos:  # the bound is resolved like the field: to the millisecond
            limits = {op: ns - ns % 10**6 for op, ns in limits.items()}
        return _within(value, limits)
    return any(_within(v, bounds) for v in field_values(doc, path))


def _within(value: Any, limits: dict[str, Any]) -> bool:
    tests = {"gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt}
    try:
        return all(tests[op](value, limit) for op, limit in limits.items())
    except TypeError:  # a keyword compared with a number: no match, as a mapping would refuse
        return False


def matches(query: Any, doc: StoredDoc) -> bool:
    """Whether ``doc`` matches a query DSL object; raises SearchError for what cannot parse."""
    if query is None:
        return True
    kind, spec = _one(query)
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "bool":
        return _bool(spec, doc)
    if kind == "ids":
        return doc.doc_id in {str(v) for v in spec.get("values", [])}
    if kind == "exists":
        return bool(field_values(doc, spec["field"]))
    path, arg = _one(spec)
    if kind == "term":
        wanted = arg.get("value") if isinstance(arg, dict) else arg
        if isinstance(arg, dict) and arg.get("case_insensitive") is True:
            return any(str(v).lower() == str(wanted).lower() for v in field_values(doc, path))
        return any(_same(v, wanted) for v in field_values(doc, path))
    if kind == "match_phrase":
        return _phrase(doc, path, arg)
    if kind == "terms":
        return any(_same(v, w) for v in field_values(doc, path) for w in arg)
    if kind == "range":
        return _range(doc, path, arg)
    raise SearchError.simple(400, "parsing_exception", f"unknown query [{kind}]")


# UAX#29 word boundaries as Lucene's standard tokenizer applies them, for the usual cases:
# letters, digits and "_" make words; these join letters (WB6/7) or digits (WB11/12) on both sides.
_JOINS_LETTERS, _JOINS_DIGITS = frozenset(":.'\u2019\u00b7"), frozenset(",;.'\u2019")


def analyze(text: str) -> list[str]:
    """The tokens of the standard analyser, lower-cased (CJK, emoji and 255+ character tokens aside)."""
    tokens, word = [], ""
    for position, char in enumerate(text):
        if char.isalnum() or char == "_":
            word += char
            continue
        after = text[position + 1 : position + 2]
        if (
            word
            and after
            and (
                (char in _JOINS_LETTERS and word[-1].isalpha() and after.isalpha())
                or (char in _JOINS_DIGITS and word[-1].isdigit() and after.isdigit())
            )
        ):
            word += char
            continue
        if word:
            tokens.append(word.lower())
        word = ""
    return [*tokens, word.lower()] if word else tokens


def _phrase(doc: StoredDoc, path: str, arg: Any) -> bool:
    """``match_phrase``: the query's tokens appear consecutively in one value of the field."""
    spec = arg if isinstance(arg, dict) else {"query": arg}
    if spec.get("slop", 0) != 0:
        raise SearchError.simple(400, "parsing_exception", "the fake supports match_phrase with slop 0 only")
    wanted = analyze(str(spec.get("query", "")))
    if not wanted:  # zero_terms_query: none by default
        return spec.get("zero_terms_query", "none") == "all"
    for value in field_values(doc, path):
        tokens = analyze(str(value))
        if any(tokens[i : i + len(wanted)] == wanted for i in range(len(tokens) - len(wanted) + 1)):
            return True
    return False


def _bool(spec: dict[str, Any], doc: StoredDoc) -> bool:
    required = _clauses(spec.get("must", [])) + _clauses(spec.get("filter", []))
    should = _clauses(spec.get("should", []))
    if not all(matches(q, doc) for q in required):
        return False
    if any(matches(q, doc) for q in _clauses(spec.get("must_not", []))):
        return False
    minimum = spec.get("minimum_should_match", 0 if required else 1)
    return not should or sum(matches(q, doc) for q in should) >= int(minimum)


def score_of(query: Any) -> float:
    """Every supported query is constant-scoring: 1.0, or 0.0 for a filter-only bool."""
    if isinstance(query, dict) and "bool" in query:
        spec = query["bool"]
        return 1.0 if spec.get("must") or spec.get("should") else 0.0
    return 1.0


# --- sorting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    field: str
    order: str = "asc"
    fmt: str | None = None
    missing_first: bool = False


def parse_sort(spec: Any, query_param: str | None = None) -> list[SortKey]:
    """The sort keys of a request: the body's ``sort``, or the ``sort=a:desc,b`` query parameter."""
    if spec is None and query_param:
        spec = [{p.split(":")[0]: p.split(":")[1] if ":" in p else "asc"} for p in query_param.split(",")]
    if spec is None:
        return []
    keys = []
    for item in _clauses(spec):
        name, options = (item, {}) if isinstance(item, str) else next(iter(item.items()))
        options = {"order": options} if isinstance(options, str) else dict(options)
        order = options.get("order", "desc" if name == "_score" else "asc")
        if name == "_id":
            raise SearchError.all_shards_failed(
                400,
                "illegal_argument_exception",
                "Fielddata access on the _id field is disallowed, you can re-enable it by updating "
                "the dynamic cluster setting: indices.id_field_data.enabled",
            )
        keys.append(SortKey(name, order, options.get("format"), options.get("missing") == "_first"))
    return keys


@dataclass(frozen=True)
class Ranked:
    """A matching document with its internal sort values (None: the field is missing)."""

    doc: StoredDoc
    score: float
    values: tuple[Any, ...]


def _internal(doc: StoredDoc, key: SortKey, score: float) -> Any:
    if key.field == "_score":
        return score
    if key.field in {"_doc", "_shard_doc"}:
        return doc.seq
    if key.field in DATE_FIELDS:
        return doc_date_ns(doc, key.field)
    values = field_values(doc, key.field)
    return min(values) if key.order == "asc" and values else max(values) if values else None


def _compare(keys: list[SortKey], a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    for key, x, y in zip(keys, a, b, strict=True):
        if x == y:
            continue
        if x is None or y is None:  # missing sorts last unless asked otherwise, in either order
            x_after = 1 if x is None else -1
            return -x_after if key.missing_first else x_after
        try:
            result = -1 if x < y else 1
        except TypeError:  # mixed value types across documents: order by their text
            result = -1 if str(x) < str(y) else 1
        return result if key.order == "asc" else -result
    return 0


def sort_hits(keys: list[SortKey], ranked: list[Ranked]) -> list[Ranked]:
    if not keys:  # relevance, then index order
        return sorted(ranked, key=lambda r: (-r.score, r.doc.seq))

    def by_keys(a: Ranked, b: Ranked) -> int:
        return _compare(keys, a.values, b.values)

    return sorted(ranked, key=functools.cmp_to_key(by_keys))


def rank(doc: StoredDoc, keys: list[SortKey], score: float) -> Ranked:
    return Ranked(doc, score, tuple(_internal(doc, key, score) for key in keys))


def date_units_ns(docs: Iterable[StoredDoc]) -> int:
    """The unit of a date sort value as a long: nanoseconds if every index is date_nanos."""
    flags = {doc.nanos for doc in docs}
    return 1 if flags == {True} else 10**6


def output_value(key: SortKey, value: Any, unit_ns: int) -> Any:
    """A sort value as the answer shows it in a hit's ``sort``."""
    if key.field in DATE_FIELDS:
        if value is None:
            return LONG_MIN if (key.order == "desc") != key.missing_first else LONG_MAX
        return format_date(value, key.fmt) if key.fmt else value // unit_ns
    return value


def after_value(key: SortKey, raw: Any, unit_ns: int) -> Any:
    """A ``search_after`` value read back into the internal form of its key."""
    if key.field not in DATE_FIELDS or raw is None:
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return None if raw in {LONG_MAX, LONG_MIN} else raw * unit_ns
    try:
        return parse_date_ns(raw, key.fmt)
    except ValueError:
        reason = f"Failed to parse search_after value for field [{key.field}]."
        raise SearchError.all_shards_failed(400, "illegal_argument_exception", reason) from None


def after(keys: list[SortKey], ranked: list[Ranked], search_after: list[Any], unit_ns: int) -> list[Ranked]:
    """The hits strictly after ``search_after`` in sort order."""
    if len(search_after) != len(keys):
        reason = f"search_after has {len(search_after)} value(s) but sort has {len(keys)}."
        raise SearchError.all_shards_failed(400, "illegal_argument_exception", reason)
    cursor = tuple(after_value(k, v, unit_ns) for k, v in zip(keys, search_after, strict=True))
    return [r for r in ranked if _compare(keys, r.values, cursor) > 0]


# --- a search request ---------------------------------------------------------------------------


def sort_keys(body: dict[str, Any], params: Mapping[str, str], with_pit: bool) -> list[SortKey]:
    """The sort of a request, with the implicit ``_shard_doc`` tiebreaker when it uses a PIT."""
    keys = parse_sort(body.get("sort"), params.get("sort"))
    has_tiebreak = any(k.field == "_shard_doc" for k in keys)
    if has_tiebreak and not with_pit:
        raise SearchError.simple(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: [_shard_doc] sort field cannot be used without [point in time];",
        )
    if with_pit and keys and not has_tiebreak:  # the implicit PIT tiebreaker
        keys.append(SortKey("_shard_doc"))
    return keys


def search_hits(
    body: dict[str, Any], params: Mapping[str, str], keys: list[SortKey], docs: list[StoredDoc]
) -> dict[str, Any]:
    """The ``hits`` object of a search over ``docs`` (a PIT snapshot or the live indices)."""
    size = int(body.get("size", params.get("size", 10)))
    start = int(body.get("from", params.get("from", 0)))
    search_after = body.get("search_after")
    if start + size > MAX_RESULT_WINDOW:
        raise SearchError.simple(
            400,
            "illegal_argument_exception",
            f"Result window is too large, from + size must be less than or equal to: "
            f"[{MAX_RESULT_WINDOW}] but was [{start + size}].",
        )
    if search_after is not None and (start > 0 or not keys):
        reason = (
            "`from` parameter must be set to 0 when `search_after` is used."
            if start > 0
            else "Sort must contain at least one field."
        )
        raise SearchError.simple(400, "action_request_validation_exception", reason)
    query = body.get("query")
    score = score_of(query)
    ranked = sort_hits(keys, [rank(d, keys, score) for d in docs if matches(query, d)])
    total = len(ranked)
    unit = date_units_ns(docs)
    if search_after is not None:
        ranked = after(keys, ranked, list(search_after), unit)
    page = ranked[start : start + size]
    hits: dict[str, Any] = {}
    track = body.get("track_total_hits", DEFAULT_TRACK_TOTAL_HITS)
    if track is not False:
        limit = total if track is True else int(track)
        hits["total"] = {"value": min(total, limit), "relation": "eq" if total <= limit else "gte"}
    hits["max_score"] = None if keys or not page else max(r.score for r in page)
    hits["hits"] = [
        {
            "_index": r.doc.index,
            "_id": r.doc.doc_id,
            "_score": None if keys else r.score,
            **({"_source": r.doc.source} if body.get("_source", True) is not False else {}),
            **(
                {"sort": [output_value(k, v, unit) for k, v in zip(keys, r.values, strict=True)]}
                if keys
                else {}
            ),
        }
        for r in page
    ]
    return hits


# --- points in time ---------------------------------------------------------------------------


def keep_alive_s(text: Any) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text))
    if match is None:
        raise SearchError.simple(
            400,
            "parse_exception",
            f"failed to parse setting [keep_alive] with value [{text}] as a time value",
        )
    return int(match.group(1)) * _UNIT_NS[match.group(2)] / 10**9


@dataclass
class PointInTime:
    """A snapshot of the documents of some indices, searched by id until closed or expired."""

    context: int
    docs: list[StoredDoc]
    expires_at: float
    newest_id: str = ""
    ids: set[str] = field(default_factory=set)


class PointsInTime:
    """Open PITs by id. Each search hands out a fresh id for the same context, as a cluster may;
    older ids keep working, and whether a search used the newest is recorded for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._contexts: dict[int, PointInTime] = {}
        self._next = itertools.count(1)
        self.opened = 0
        self.closed = 0

    @staticmethod
    def _encode(context: int) -> str:
        raw = b"\x46\xe4\xe8\x03fake-pit\x00" + context.to_bytes(8, "big") + secrets.token_bytes(12)
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @staticmethod
    def _decode(pit_id: str) -> int:
        try:
            raw = base64.urlsafe_b64decode(pit_id.encode("ascii"))
        except ValueError:
            raise SearchError.simple(400, "illegal_argument_exception", "invalid id") from None
        if len(raw) != 33 or raw[4:13] != b"fake-pit\x00":
            raise SearchError.simple(400, "illegal_argument_exception", "invalid id")
        return int.from_bytes(raw[13:21], "big")

    def open(self, docs: list[StoredDoc], keep_alive: float) -> str:
        with self._lock:
            context = next(self._next)
            pit = PointInTime(context, docs, self._clock() + keep_alive)
            self._contexts[context] = pit
            self.opened += 1
            return self._rotate(pit)

    def _rotate(self, pit: PointInTime) -> str:
        pit.newest_id = self._encode(pit.context)
        pit.ids.add(pit.newest_id)
        return pit.newest_id

    def _live(self, context: int) -> PointInTime | None:
        pit = self._contexts.get(context)
        if pit is not None and self._clock() > pit.expires_at:
            del self._contexts[context]
            return None
        return pit

    def use(self, pit_id: str, keep_alive: float | None) -> tuple[list[StoredDoc], str, bool]:
        """The snapshot of a PIT, the id to answer with, and whether ``pit_id`` was the newest."""
        context = self._decode(pit_id)
        with self._lock:
            pit = self._live(context)
            if pit is None or pit_id not in pit.ids:
                raise SearchError.all_shards_failed(
                    404, "search_context_missing_exception", f"No search context found for id [{context}]"
                )
            if keep_alive is not None:
                pit.expires_at = self._clock() + keep_alive
            newest = pit_id == pit.newest_id
            return pit.docs, self._rotate(pit), newest

    def close(self, pit_id: str) -> int:
        """How many contexts were freed (0 for an unknown or expired id)."""
        context = self._decode(pit_id)
        with self._lock:
            pit = self._live(context)
            if pit is None or pit_id not in pit.ids:
                return 0
            del self._contexts[context]
            self.closed += 1
            return 1

    def expire_all(self) -> None:
        with self._lock:
            self._contexts.clear()

    def open_count(self) -> int:
        with self._lock:
            return sum(1 for context in list(self._contexts) if self._live(context) is not None)
