"""Validation problems (document, field path, reason) and the checker that collects them.

``Checker`` reads untyped YAML values field by field; every accessor records a problem
and returns None instead of raising, so one pass reports everything wrong with a file.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

from slo.durations import Duration, DurationError, parse_duration, rolling_timedelta

__all__ = ["Checker", "Problem", "ValidationError", "join", "load_yaml_documents", "shown"]

MAX_ALIASES = 100  # YAML anchors are fine; a billion-laughs document is not
_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 60, 60, 2, 4, 4


def shown(value: object) -> str:
    """A raw YAML value for a message, bounded whatever its size or its aliases."""
    return _SHORT.repr(value)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents with more than :data:`MAX_ALIASES` aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: in ``document`` (``SLO/name`` or ``document 2``), at ``path``, because ``reason``."""

    document: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.document}: {self.path or '(document)'}: {self.reason}"


class ValidationError(ValueError):
    """OpenSLO input that cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


def join(path: str, key: str | int) -> str:
    """``spec`` + ``objectives`` → ``spec.objectives``; ``spec.objectives`` + 0 → ``spec.objectives[0]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


class Checker:
    """Collects problems for one document; accessors return None when the field is unusable."""

    def __init__(self, document: str) -> None:
        self.document = document
        self.problems: list[Problem] = []

    def fail(self, path: str, reason: str) -> None:
        self.problems.append(Problem(self.document, path, reason))

    def mapping(self, value: object, path: str, *, required: bool = True) -> Mapping[str, Any] | None:
        if value is None:
            if required:
                self.fail(path, "missing")
            return None
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_type_name(value)}")
            return None
        return value

    def items(self, value: object, path: str, *, required: bool = True) -> list[Any] | None:
        if value is None:
            if required:
                self.fail(path, "missing")
            return None
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_type_name(value)}")
            return None
        return value

    def string(self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        value = parent.get(key)
        where = join(path, key)
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if not isinstance(value, str):
            self.fail(where, f"expected a non-empty string, got {_type_name(value)}")
            return None
        if not value.strip():
            self.fail(where, "must not be empty")
            return None
        return value

    def number(
        self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> float | None:
        value = parent.get(key)
        where = join(path, key)
        if value is None:
            if required:
                self.fail(where, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, f"expected a number, got {_type_name(value)}")
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.fail(where, "expected a finite number")
            return None
        return number

    def duration(
        self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> Duration | None:
        text = self.string(parent, key, path, required=required)
        if text is None:
            return None
        try:
            return parse_duration(text)
        except DurationError as exc:
            self.fail(join(path, key), str(exc))
            return None

    def span(
        self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> timedelta | None:
        parsed = self.duration(parent, key, path, required=required)
        return None if parsed is None else rolling_timedelta(parsed)

    def moment(self, parent: Mapping[str, Any], key: str, path: str) -> datetime | None:
        """A date and time: a YAML timestamp, or ISO 8601 text such as ``2024-01-01 00:00:00``."""
        value = parent.get(key)
        if isinstance(value, datetime):  # YAML timestamps arrive already parsed
            return value
        text = self.string(parent, key, path)
        if text is None:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.fail(join(path, key), f"{text!r} is not a date and time such as '2024-01-01 00:00:00'")
            return None


def load_yaml_documents(text: str, document: str = "document") -> list[Any]:
    """Every non-empty document of ``text``; raises :class:`ValidationError` naming ``document``.

    Bounded: aliases are capped, and nesting too deep for the parser is a problem, not a crash.
    """
    try:
        return [raw for raw in yaml.load_all(text, Loader=_BoundedLoader) if raw is not None]
    except yaml.YAMLError as exc:
        reason = f"invalid YAML: {exc}"
    except RecursionError:
        reason = "invalid YAML: nested too deeply"
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        reason = f"invalid YAML: {exc}"
    raise ValidationError([Problem(document, "", reason[:500])])
