"""Tag queries over series, and the in-memory inverted index that answers them.

A query narrows candidates through the index where it can (``:eq``, ``:in``, ``:has``, and
the key of every value test) and checks the rest tag by tag; nothing parses JSON. The stack
language builds these objects; ``parse_simple`` reads the interim ``key=value,key=value``
filter of ``/api/v1/series``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class TagIndex:
    """Series ids by (key, value), and the tags of every series id.

    The writer thread adds while reader threads select: both hold :attr:`lock` (a reader
    iterating a set the writer grows would fail with "Set changed size during iteration").
    """

    def __init__(self) -> None:
        self.by_pair: dict[tuple[str, str], set[int]] = {}
        self.by_key: dict[str, set[int]] = {}
        self.tags: dict[int, Mapping[str, str]] = {}
        self.lock = threading.RLock()

    def add(self, series_id: int, tags: Mapping[str, str]) -> None:
        with self.lock:
            self.tags[series_id] = tags
            for pair in tags.items():
                self.by_pair.setdefault(pair, set()).add(series_id)
                self.by_key.setdefault(pair[0], set()).add(series_id)

    def all_ids(self) -> set[int]:
        return set(self.tags)


class TagQuery(Protocol):
    def candidates(self, index: TagIndex) -> set[int] | None:
        """Ids that may match (a superset), or None when the index cannot narrow it."""

    def matches(self, tags: Mapping[str, str]) -> bool: ...


@dataclass(frozen=True)
class Eq:
    key: str
    value: str

    def candidates(self, index: TagIndex) -> set[int] | None:
        return index.by_pair.get((self.key, self.value), set())

    def matches(self, tags: Mapping[str, str]) -> bool:
        return tags.get(self.key) == self.value


@dataclass(frozen=True)
class In:
    key: str
    values: tuple[str, ...]

    def candidates(self, index: TagIndex) -> set[int] | None:
        found: set[int] = set()
        for value in self.values:
            found |= index.by_pair.get((self.key, value), set())
        return found

    def matches(self, tags: Mapping[str, str]) -> bool:
        return tags.get(self.key) in self.values


@dataclass(frozen=True)
class Has:
    key: str

    def candidates(self, index: TagIndex) -> set[int] | None:
        return index.by_key.get(self.key, set())

    def matches(self, tags: Mapping[str, str]) -> bool:
        return self.key in tags


@dataclass(frozen=True)
class Regex:
    """Atlas ``:re``: the pattern is anchored at the start of the value."""

    key: str
    pattern: str
    ignore_case: bool = False

    def __post_init__(self) -> None:
        flags = re.IGNORECASE if self.ignore_case else 0
        object.__setattr__(self, "_compiled", re.compile(self.pattern, flags))

    def candidates(self, index: TagIndex) -> set[int] | None:
        return index.by_key.get(self.key, set())

    def matches(self, tags: Mapping[str, str]) -> bool:
        value = tags.get(self.key)
        return value is not None and self._compiled.match(value) is not None  # type: ignore[attr-defined]


class _KeyValue:
    """A test of one tag's value; only series with the key can match."""

    key: str
    value: str

    def candidates(self, index: TagIndex) -> set[int] | None:
        return index.by_key.get(self.key, set())

    def matches(self, tags: Mapping[str, str]) -> bool:
        found = tags.get(self.key)
        return found is not None and self.check(found)

    def check(self, found: str) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Contains(_KeyValue):
    key: str
    value: str

    def check(self, found: str) -> bool:
        return self.value in found


@dataclass(frozen=True)
class StartsWith(_KeyValue):
    key: str
    value: str

    def check(self, found: str) -> bool:
        return found.startswith(self.value)


@dataclass(frozen=True)
class EndsWith(_KeyValue):
    key: str
    value: str

    def check(self, found: str) -> bool:
        return found.endswith(self.value)


# Atlas ``:lt :le :gt :ge`` compare tag values as strings (so "100" < "2").
@dataclass(frozen=True)
class LessThan(_KeyValue):
    key: str
    value: str

    def check(self, found: str) -> bool:
        return found < self.value


@dataclass(frozen=True)
class LessEqual(_KeyValue):
    key: str
    value: str

    def check(self, found: str) -> bool:
        return found <= self.value


@dataclass(frozen=True)
class GreaterThan(_KeyValue):
    key: str
    value: str

    def check(self, found: str) -> bool:
        return found > self.value


@dataclass(frozen=True)
class GreaterEqual(_KeyValue):
    key: str
    value: str

    def check(self, found: str) -> bool:
        return found >= self.value


@dataclass(frozen=True)
class And:
    left: TagQuery
    right: TagQuery

    def candidates(self, index: TagIndex) -> set[int] | None:
        left, right = self.left.candidates(index), self.right.candidates(index)
        if left is None:
            return right
        return left if right is None else left & right

    def matches(self, tags: Mapping[str, str]) -> bool:
        return self.left.matches(tags) and self.right.matches(tags)


@dataclass(frozen=True)
class Or:
    left: TagQuery
    right: TagQuery

    def candidates(self, index: TagIndex) -> set[int] | None:
        left, right = self.left.candidates(index), self.right.candidates(index)
        return None if left is None or right is None else left | right

    def matches(self, tags: Mapping[str, str]) -> bool:
        return self.left.matches(tags) or self.right.matches(tags)


@dataclass(frozen=True)
class Not:
    inner: TagQuery

    def candidates(self, index: TagIndex) -> set[int] | None:
        return None

    def matches(self, tags: Mapping[str, str]) -> bool:
        return not self.inner.matches(tags)


@dataclass(frozen=True)
class MatchAll:
    def candidates(self, index: TagIndex) -> set[int] | None:
        return None

    def matches(self, tags: Mapping[str, str]) -> bool:
        return True


@dataclass(frozen=True)
class MatchNone:
    def candidates(self, index: TagIndex) -> set[int] | None:
        return set()

    def matches(self, tags: Mapping[str, str]) -> bool:
        return False


def select(index: TagIndex, query: TagQuery) -> list[int]:
    """Ids of the series matching ``query``, in id order."""
    with index.lock:
        candidates = query.candidates(index)
        pool = index.all_ids() if candidates is None else candidates
        return sorted(i for i in pool if query.matches(index.tags[i]))


class QuerySyntaxError(ValueError):
    """The filter text is malformed; the message names the term."""


def parse_simple(text: str) -> TagQuery:
    """``name=http_server_requests,nf.app=drm``: every term must hold.

    ``key=~re`` matches a regex (anchored at the start), ``key`` alone means the key is present.
    """
    query: TagQuery | None = None
    for term in filter(None, (t.strip() for t in text.split(","))):
        if "=~" in term:
            key, _, pattern = term.partition("=~")
            try:
                clause: TagQuery = Regex(key, pattern)
            except re.error as error:
                raise QuerySyntaxError(f"term {term!r}: invalid regular expression: {error}") from None
        elif "=" in term:
            key, _, value = term.partition("=")
            clause = Eq(key, value)
        else:
            key = term
            clause = Has(term)
        if not key:
            raise QuerySyntaxError(f"term {term!r}: a tag key is required")
        query = clause if query is None else And(query, clause)
    return query if query is not None else MatchAll()
