"""Silences, as Alertmanager's API v2 writes them: matchers, a time range, who and why.

``{matchers: [{name, value, isRegex, isEqual}], startsAt, endsAt, createdBy, comment}``.
An alert is silenced while the time is within [startsAt, endsAt) and every matcher
matches its labels (a regex matches the whole value, as Alertmanager's do; a missing label
is the empty string). A silenced alert keeps its state but does not page; expiring a silence
sets its end to now, so its record stays.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import re2

from alerting.errors import InputError

__all__ = ["Matcher", "Silence", "SilenceBook", "SilenceError", "read_silence"]

MAX_MATCHERS = 50
_QUIET = re2.Options()
_QUIET.log_errors = False  # a refused pattern is answered to the caller, not printed to stderr
MAX_VALUE = 1_024
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class SilenceError(InputError):
    """A silence that cannot be kept."""


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        # RE2 matches in linear time, as Alertmanager's Go regexps do: no pattern can make an
        # evaluation backtrack for ever.
        hit = re2.fullmatch(self.value, actual) is not None if self.is_regex else actual == self.value
        return hit == self.is_equal


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_ms: int
    ends_ms: int
    created_by: str
    comment: str

    def active(self, now_ms: int) -> bool:
        return self.starts_ms <= now_ms < self.ends_ms

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def state(self, now_ms: int) -> str:
        return "pending" if now_ms < self.starts_ms else "active" if now_ms < self.ends_ms else "expired"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(raw: dict[str, Any]) -> Silence:
        return Silence(**{**raw, "matchers": tuple(Matcher(**m) for m in raw["matchers"])})


def _instant(raw: object, field: str, default_ms: int | None = None) -> int:
    if raw is None and default_ms is not None:
        return default_ms
    if not isinstance(raw, str):
        raise SilenceError(field, "expected an RFC 3339 time such as 2026-11-24T10:00:00Z")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise SilenceError(field, f"{raw!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        ms = int(moment.timestamp() * 1000)
    except (OverflowError, ValueError):
        ms = -1
    if not 0 <= ms <= MAX_MS:
        raise SilenceError(field, "must fall between 1970 and 9999")
    return ms


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 1024:
        raise SilenceError(key, "required: 1 to 1024 characters")
    return value


def read_silence(raw: object, now_ms: int) -> Silence:
    """A silence from Alertmanager's JSON; raises :class:`SilenceError` naming the field."""
    if not isinstance(raw, Mapping):
        raise SilenceError("body", "expected {matchers, startsAt, endsAt, createdBy, comment}")
    matchers_raw = raw.get("matchers")
    if not isinstance(matchers_raw, list) or not matchers_raw or len(matchers_raw) > MAX_MATCHERS:
        raise SilenceError("matchers", f"expected 1 to {MAX_MATCHERS} matchers")
    matchers = []
    for n, item in enumerate(matchers_raw):
        where = f"matchers[{n}]"
        if not isinstance(item, Mapping):
            raise SilenceError(where, "expected {name, value, isRegex, isEqual}")
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not name:
            raise SilenceError(f"{where}.name", "expected a label name")
        if not isinstance(value, str):
            raise SilenceError(f"{where}.value", "expected a string")
        is_regex, is_equal = item.get("isRegex", False), item.get("isEqual", True)
        if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
            raise SilenceError(where, "isRegex and isEqual are true or false")
        if len(value) > MAX_VALUE:
            raise SilenceError(f"{where}.value", f"at most {MAX_VALUE} characters")
        if is_regex:
            try:
                re2.compile(value, _QUIET)
            except re2.error as exc:
                reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
                raise SilenceError(
                    f"{where}.value", f"not a regular expression (RE2 syntax): {reason}"
                ) from None
        matchers.append(Matcher(name, value, is_regex, is_equal))
    if all(m.matches({}) for m in matchers):
        raise SilenceError("matchers", "would silence every alert: at least one must need a label")
    starts = _instant(raw.get("startsAt"), "startsAt", now_ms)
    ends = _instant(raw.get("endsAt"), "endsAt")
    if ends <= starts:
        raise SilenceError("endsAt", "must be after startsAt")
    if ends <= now_ms:
        raise SilenceError("endsAt", "is already past")
    silence_id = raw.get("id") or str(uuid.uuid4())
    if not isinstance(silence_id, str) or len(silence_id) > 64:
        raise SilenceError("id", "expected up to 64 characters")
    return Silence(silence_id, tuple(matchers), starts, ends, _text(raw, "createdBy"), _text(raw, "comment"))


class SilenceBook:
    """Silences kept in the store's ``documents`` table (kind ``silence``)."""

    KIND = "silence"

    def __init__(self, store: Any, clock: Any) -> None:
        self._store = store
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def all(self) -> list[Silence]:
        found = []
        for document in self._store.documents(self.KIND):
            try:
                found.append(Silence.from_json(json.loads(document.body)))
            except (ValueError, TypeError, KeyError):
                continue  # a damaged record silences nothing
        return sorted(found, key=lambda s: (-s.ends_ms, s.id))

    def active(self) -> list[Silence]:
        now_ms = self._now_ms()
        return [s for s in self.all() if s.active(now_ms)]

    def get(self, silence_id: str) -> Silence | None:
        document = self._store.document(self.KIND, silence_id)
        return None if document is None else Silence.from_json(json.loads(document.body))

    def put(self, raw: object) -> Silence:
        silence = read_silence(raw, self._now_ms())
        self._store.put_document(self.KIND, silence.id, json.dumps(silence.to_json()), self._now_ms())
        return silence

    def expire(self, silence_id: str) -> Silence | None:
        """End a silence now (kept, as Alertmanager keeps expired ones)."""
        silence = self.get(silence_id)
        if silence is None:
            return None
        now_ms = self._now_ms()
        ended = Silence(
            silence.id, silence.matchers, min(silence.starts_ms, now_ms), min(silence.ends_ms, now_ms),
            silence.created_by, silence.comment,
        )  # fmt: skip
        self._store.put_document(self.KIND, silence.id, json.dumps(ended.to_json()), now_ms)
        return ended
