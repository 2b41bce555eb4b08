"""Atlas ``POST /api/v1/publish``: validate the body (stacklang.md §1) and turn it into step-aligned points.

Body: ``{"tags": {common tags}, "metrics": [{"tags": {...}, "timestamp": ms, "value": v}]}``.
Each metric's tags are the common tags overridden by its own. A value may be a number or
``"NaN"``. A timestamp falls in the step that ends at or after it (end-of-interval, as
everywhere in the store); several values of one series in one step are combined by the
series' ``atlas.dstype``: ``gauge`` keeps the last, ``sum`` adds them, ``rate`` (the
default) averages them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from store.model import Datapoint

_ALLOWED = re.compile(r"^[-._A-Za-z0-9^~]+$")
MAX_USER_TAGS = 20
MAX_TAGS = 30
# Infrastructure tags do not count against the user-tag limit (as in Atlas).
_RESTRICTED_PREFIXES = ("nf.", "atlas.")


class PublishBodyError(ValueError):
    """The body as a whole cannot be read; ``field`` names where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class PublishResult:
    points: list[Datapoint] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def tag_problem(tags: Mapping[str, str]) -> str | None:
    """Why a tag set cannot be published (stacklang.md §1), or None."""
    if "name" not in tags:
        return "tag 'name' is required"
    for key, value in tags.items():
        if not 2 <= len(key) <= 60:
            return f"tag key {key[:64]!r} must be 2 to 60 characters"
        if not _ALLOWED.match(key):
            return f"tag key {key[:64]!r} may only use the characters -._A-Za-z0-9^~"
        low, high = (2, 255) if key == "name" else (1, 120)
        if not low <= len(value) <= high:
            return f"value of {key!r} must be {low} to {high} characters"
        if not _ALLOWED.match(value):
            return f"value of {key!r} ({value[:64]!r}) may only use the characters -._A-Za-z0-9^~"
    user = sum(1 for key in tags if key != "name" and not key.startswith(_RESTRICTED_PREFIXES))
    if user > MAX_USER_TAGS:
        return f"{user} user tags is over the limit of {MAX_USER_TAGS}"
    if len(tags) > MAX_TAGS:
        return f"{len(tags)} tags is over the limit of {MAX_TAGS}"
    return None


def _tags(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ValueError(f"{where} must map tag keys to string values")
    return dict(raw)


def _value(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("value must be a number")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str) and raw in ("NaN", "Infinity", "-Infinity"):
        return float(raw.replace("Infinity", "inf"))
    raise ValueError('value must be a number or "NaN"')


def read_publish(body: Any, step_ms: int) -> PublishResult:
    """Validated, step-aligned points; bad metrics are listed in ``errors``, the rest kept.

    Raises PublishBodyError when the body's shape is wrong as a whole.
    """
    if not isinstance(body, dict):
        raise PublishBodyError("body", "must be a JSON object with tags and metrics")
    try:
        common = _tags(body.get("tags"), "tags")
    except ValueError as error:
        raise PublishBodyError("tags", str(error).removeprefix("tags ")) from None
    metrics = body.get("metrics")
    if not isinstance(metrics, list):
        raise PublishBodyError("metrics", "required, a list of {tags, timestamp, value}")
    result = PublishResult()
    # (tags key) -> (tags, bucket) -> values in arrival order
    buckets: dict[tuple[tuple[str, str], ...], dict[int, list[tuple[int, float]]]] = {}
    for position, metric in enumerate(metrics):
        where = f"metrics[{position}]"
        try:
            if not isinstance(metric, dict):
                raise ValueError("must be an object")
            tags = {**common, **_tags(metric.get("tags"), "tags")}
            problem = tag_problem(tags)
            if problem is not None:
                raise ValueError(problem)
            timestamp = metric.get("timestamp")
            if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp <= 0:
                raise ValueError("timestamp must be epoch milliseconds (a positive integer)")
            value = _value(metric.get("value"))
        except ValueError as error:
            result.errors.append(f"{where}: {error}")
            continue
        bucket = -(-timestamp // step_ms) * step_ms
        key = tuple(sorted(tags.items()))
        buckets.setdefault(key, {}).setdefault(bucket, []).append((timestamp, value))
    for key, by_bucket in buckets.items():
        tags = dict(key)
        kind = tags.get("atlas.dstype", "rate")
        for bucket, observations in by_bucket.items():
            result.points.append(Datapoint(tags, bucket, _combine(kind, observations)))
    return result


def _combine(kind: str, observations: list[tuple[int, float]]) -> float:
    if len(observations) == 1:
        return observations[0][1]
    if kind == "gauge":
        return max(observations, key=lambda o: o[0])[1]
    values = [v for _, v in observations if not math.isnan(v)]
    if not values:
        return math.nan
    return sum(values) if kind == "sum" else sum(values) / len(values)
