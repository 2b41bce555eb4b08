"""Atlas time expressions for the graph API: ``s``, ``e``, ``step`` and ``tz``.

Following Atlas's ``Strings.parseDate``/``parseDuration``:

- references ``now``, ``epoch``, ``s``/``start``, ``e``/``end``, each optionally ``±``
  a duration (``e-3h``, ``now-1w``, ``s+PT30M``);
- durations: ``<n><unit>`` with ``s m h d w`` (and their long names, ``min``, ``wk``,
  ``months`` = 30 d, ``y`` = 365 d), or ISO 8601 ``P…`` (``P1D``, ``PT5M``, ``P1DT12H``);
- ISO dates (``2026-11-24``, midnight in ``tz``) and date-times (``2026-11-24T10:00``,
  in ``tz`` unless it carries ``Z`` or an offset);
- digits: epoch seconds, or epoch milliseconds when the number exceeds 2³¹ − 1.

``s`` defaults to ``e-3h`` and ``e`` to ``now``; one may refer to the other, not both.
Errors are :class:`TimeError` naming the parameter and the reason.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_AT_PERIOD = re.compile(r"^(\d+)([a-z]+)$")
_ISO_PERIOD = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_RELATIVE = re.compile(r"^([a-z]+)([-+])(.+)$")
_NAMED = re.compile(r"^[a-z]+$")
_DIGITS = re.compile(r"^\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT_MAX = 2**31 - 1
_SECOND, _MINUTE, _HOUR, _DAY = 1_000, 60_000, 3_600_000, 86_400_000
_UNITS = {
    **dict.fromkeys(("s", "second", "seconds"), _SECOND),
    **dict.fromkeys(("m", "min", "minute", "minutes"), _MINUTE),
    **dict.fromkeys(("h", "hour", "hours"), _HOUR),
    **dict.fromkeys(("d", "day", "days"), _DAY),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 7 * _DAY),
    **dict.fromkeys(("month", "months"), 30 * _DAY),
    **dict.fromkeys(("y", "year", "years"), 365 * _DAY),
}
_REFERENCES = {"now": "now", "epoch": "epoch", "s": "s", "start": "s", "e": "e", "end": "e"}


class TimeError(ValueError):
    """A time parameter cannot be read; ``field`` names it (``s``, ``e``, ``step`` or ``tz``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_duration(text: str, field: str = "step") -> int:
    """A duration in milliseconds (``5m``, ``1h``, ``PT30S``); raises TimeError."""
    at = _AT_PERIOD.match(text)
    if at is not None:
        unit = _UNITS.get(at.group(2))
        if unit is None:
            raise TimeError(field, f"unknown unit {at.group(2)!r} in {text!r} (use s, m, h, d or w)")
        return int(at.group(1)) * unit
    iso = _ISO_PERIOD.match(text)
    if iso is not None and text not in ("P", "PT") and not text.endswith("T"):
        parts = iso.groupdict()
        return (
            int(parts["w"] or 0) * 7 * _DAY
            + int(parts["d"] or 0) * _DAY
            + int(parts["h"] or 0) * _HOUR
            + int(parts["m"] or 0) * _MINUTE
            + round(float(parts["s"] or 0) * _SECOND)
        )
    raise TimeError(field, f"{text!r} is not a duration (examples: 1m, 3h, 1w, PT5M)")


def zone(name: str | None) -> ZoneInfo:
    """The ``tz`` parameter as a zone (UTC when absent); raises TimeError."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeError(
            "tz", f"unknown time zone {name!r} (examples: UTC, US/Pacific, Europe/Amsterdam)"
        ) from None


def _absolute(text: str, tz: ZoneInfo, field: str) -> int | None:
    """Epoch ms of an absolute time (digits or ISO 8601), or None if the text is not one."""
    if _DIGITS.match(text):
        value = int(text)
        return value if value > _INT_MAX else value * 1000
    if not text[:4].isdigit():
        return None
    try:
        if _ISO_DATE.match(text):
            parsed = datetime.combine(date.fromisoformat(text), time.min, tzinfo=tz)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=tz)
    except ValueError:
        raise TimeError(field, f"{text!r} is not an ISO 8601 date or date-time") from None
    return int(parsed.astimezone(UTC).timestamp() * 1000)


def _reference_of(text: str) -> str | None:
    """Which reference (``s``, ``e``, ``now``, ``epoch``) a time expression starts from."""
    match = _RELATIVE.match(text) or _NAMED.match(text)
    return None if match is None else _REFERENCES.get(match.group(1) if match.groups() else text)


def parse_time(text: str, field: str, tz: ZoneInfo, now_ms: int, refs: dict[str, int]) -> int:
    """One time expression in epoch ms; ``refs`` holds ``s``/``e`` when already resolved."""
    text = text.strip()
    absolute = _absolute(text, tz, field)
    if absolute is not None:
        return absolute
    relative = _RELATIVE.match(text)
    name, sign, amount = relative.groups() if relative else (text, "+", None)
    if not _NAMED.match(name):
        raise TimeError(
            field, f"{text!r} is not a time (examples: now-1h, e-3h, 2026-11-24T10:00, 1795490000)"
        )
    reference = _REFERENCES.get(name)
    if reference is None:
        raise TimeError(field, f"unknown time reference {name!r} (use now, epoch, s or e)")
    if reference == "now":
        base = now_ms
    elif reference == "epoch":
        base = 0
    elif reference in refs:
        base = refs[reference]
    elif reference == field:
        raise TimeError(field, f"{text!r} cannot refer to {field} itself")
    else:
        raise TimeError(field, f"{text!r} refers to {reference}, which refers back to {field}")
    offset = 0 if amount is None else parse_duration(amount, field)
    return base + offset if sign == "+" else base - offset


def parse_range(s: str | None, e: str | None, tz: ZoneInfo, now_ms: int) -> tuple[int, int]:
    """(start, end) in epoch ms from the ``s`` and ``e`` parameters; raises TimeError."""
    s_text = s.strip() if s else "e-3h"
    e_text = e.strip() if e else "now"
    refs: dict[str, int] = {}
    if _reference_of(e_text) == "s":  # the end is relative to the start: start first
        refs["s"] = parse_time(s_text, "s", tz, now_ms, refs)
        refs["e"] = parse_time(e_text, "e", tz, now_ms, refs)
    else:
        refs["e"] = parse_time(e_text, "e", tz, now_ms, refs)
        refs["s"] = parse_time(s_text, "s", tz, now_ms, refs)
    if refs["s"] >= refs["e"]:
        raise TimeError("s", f"the start ({s_text}) must be before the end ({e_text})")
    return refs["s"], refs["e"]
