"""Canary scopes: which series are the control and which the experiment, over which window.

Kayenta's ``CanaryScope`` is ``{scope, location, start, end, step, extendedScopeParams}``
with ISO-8601 instants and the step in seconds; in Watchfloor the scope is a tag value,
``nf.cluster`` unless ``extendedScopeParams.type`` names another Atlas scope type
(``app``, ``cluster``, ``asg``, ``node``, ``stack``, ``zone``, ``region``) or
``extendedScopeParams.tagKey`` names any tag.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.model import iso_ms

__all__ = ["RequestError", "ScopePair", "ScopeWindow", "iso", "parse_instant", "scope_key"]

SCOPE_TYPES = {
    "app": "nf.app",
    "cluster": "nf.cluster",
    "asg": "nf.asg",
    "node": "nf.node",
    "stack": "nf.stack",
    "zone": "nf.zone",
    "region": "nf.region",
}
_TAG_KEY = re.compile(r"[A-Za-z0-9_.-]{1,128}")
MAX_STEPS = 100_000  # points per side of one metric; a larger window needs a larger step
MAX_STEP_S = 86_400
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: instants past it cannot be written back


class RequestError(ValueError):
    """A request (scope, window, thresholds) that cannot be used; ``field`` names the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ScopeWindow:
    """One side of a comparison: the series tagged ``key=scope`` over (start, end] at ``step_ms``."""

    scope: str
    start_ms: int
    end_ms: int
    step_ms: int
    key: str = "nf.cluster"
    location: str = ""

    def over(self, start_ms: int, end_ms: int) -> ScopeWindow:
        """The same scope over another window."""
        return ScopeWindow(self.scope, start_ms, end_ms, self.step_ms, self.key, self.location)


@dataclass(frozen=True, slots=True)
class ScopePair:
    control: ScopeWindow
    experiment: ScopeWindow


def parse_instant(raw: object, field: str) -> int:
    """Epoch ms from an ISO-8601 instant (``2026-11-24T10:00:00Z``) or a number of epoch ms."""
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        if not 0 <= raw <= MAX_MS:
            raise RequestError(field, "epoch milliseconds must fall between 1970 and 9999")
        return int(raw)
    if not isinstance(raw, str) or not raw.strip():
        raise RequestError(field, "expected an ISO-8601 instant such as 2026-11-24T10:00:00Z")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(field, f"{raw!r} is not an ISO-8601 instant") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    if not 0 <= ms <= MAX_MS:
        raise RequestError(field, "the instant must fall between 1970 and 9999")
    return ms


# Kayenta writes instants as ISO 8601 in UTC with ``Z``: the store's formatter.
iso = iso_ms


def scope_key(params: object, field: str) -> str:
    """The tag a scope selects by, from ``extendedScopeParams``."""
    if params is None:
        return "nf.cluster"
    if not isinstance(params, Mapping):
        raise RequestError(field, "expected an object of string parameters")
    key = params.get("tagKey")
    if key is not None:
        if not isinstance(key, str) or not _TAG_KEY.fullmatch(key):
            raise RequestError(f"{field}.tagKey", "expected a tag key of letters, digits, '.', '-' and '_'")
        return key
    kind = params.get("type", "cluster")
    if not isinstance(kind, str) or kind not in SCOPE_TYPES:
        raise RequestError(f"{field}.type", f"expected one of {', '.join(SCOPE_TYPES)}")
    return SCOPE_TYPES[kind]


def step_ms(raw: object, field: str, default_ms: int) -> int:
    """Kayenta's ``step`` in seconds (absent: the server's step) as milliseconds."""
    if raw is None:
        return default_ms
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw <= 0:
        raise RequestError(field, "expected a positive number of seconds")
    if raw > MAX_STEP_S:
        raise RequestError(field, f"at most {MAX_STEP_S} seconds (a day)")
    return max(1, round(raw * 1000))


def check_window(start_ms: int, end_ms: int, step: int, field: str) -> None:
    if start_ms < 0 or end_ms > MAX_MS:
        raise RequestError(field, "the window must fall between 1970 and 9999")
    if end_ms <= start_ms:
        raise RequestError(field, "the end must be after the start")
    if (end_ms - start_ms) / step > MAX_STEPS:
        raise RequestError(field, f"more than {MAX_STEPS} steps; use a larger step or a shorter window")


def scope_name(raw: Mapping[str, Any], key: str, field: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip() or value != value.strip() or len(value) > 256:
        raise RequestError(
            f"{field}.{key}", "expected a tag value: 1 to 256 characters, no space at either end"
        )
    return value


def read_scope(raw: object, field: str, default_step_ms: int) -> ScopeWindow:
    """One Kayenta ``CanaryScope``."""
    if not isinstance(raw, Mapping):
        raise RequestError(field, "expected {scope, location, start, end, step}")
    scope = scope_name(raw, "scope", field)
    start = parse_instant(raw.get("start"), f"{field}.start")
    end = parse_instant(raw.get("end"), f"{field}.end")
    step = step_ms(raw.get("step"), f"{field}.step", default_step_ms)
    check_window(start, end, step, field)
    key = scope_key(raw.get("extendedScopeParams"), f"{field}.extendedScopeParams")
    location = raw.get("location")
    return ScopeWindow(scope, start, end, step, key, location if isinstance(location, str) else "")


def read_scope_pairs(raw: object, field: str, default_step_ms: int) -> dict[str, ScopePair]:
    """Kayenta's ``scopes``: ``{name: {controlScope, experimentScope}}``."""
    if not isinstance(raw, Mapping) or not raw:
        raise RequestError(field, "expected {scopeName: {controlScope, experimentScope}}")
    pairs = {}
    for name, pair in raw.items():
        where = f"{field}.{name}"
        if not isinstance(pair, Mapping):
            raise RequestError(where, "expected {controlScope, experimentScope}")
        control = read_scope(pair.get("controlScope"), f"{where}.controlScope", default_step_ms)
        experiment = read_scope(pair.get("experimentScope"), f"{where}.experimentScope", default_step_ms)
        pairs[str(name)] = ScopePair(control, experiment)
    return pairs
