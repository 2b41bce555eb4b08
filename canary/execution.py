"""One canary judgement over live data: fetch every metric for both scopes, pair, judge.

Series are paired across the two scopes by their tags without the scope key; when each
side has exactly one series they are paired whatever their other tags (an instance id,
say, always differs). A series on one side only is judged against nothing (NaN), which
the classifier reports as missing data rather than dropping it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from canary.config import CanaryConfig, CanaryMetric
from canary.judge import MetricSetPair, judge
from canary.metric_source import FetchedSeries, FetchError, MetricSource
from canary.scopes import RequestError, ScopePair
from canary.scorer import Thresholds

__all__ = ["JudgementFailed", "check_scopes", "metric_set_pairs", "run_judgement"]


class JudgementFailed(Exception):
    """A judgement that could not be made (a metric's data could not be read)."""


def check_scopes(config: CanaryConfig, scopes: Mapping[str, ScopePair], field: str) -> None:
    """Every metric's ``scopeName`` must be in the request's scopes."""
    for i, metric in enumerate(config.metrics):
        if metric.scope_name not in scopes:
            raise RequestError(
                f"{field}.{metric.scope_name}",
                f"metric {metric.name!r} (canaryConfig.metrics[{i}].scopeName) needs this scope; "
                f"the request has {', '.join(sorted(scopes)) or 'none'}",
            )


def _pair(
    metric: CanaryMetric, control: Sequence[FetchedSeries], experiment: Sequence[FetchedSeries], first_id: int
) -> list[MetricSetPair]:
    empty = np.zeros(0)
    if len(control) <= 1 and len(experiment) <= 1:
        tags = (experiment or control or [FetchedSeries({}, empty)])[0].tags
        c = control[0].values if control else empty
        e = experiment[0].values if experiment else empty
        return [MetricSetPair(metric.name, str(first_id), tags, c, e)]
    # Keyed by tags and, among series with the same tags, by their order on the stack.
    by_key: dict[tuple[tuple[tuple[str, str], ...], int], list[Any]] = {}
    for side, found in ((0, control), (1, experiment)):
        seen: dict[tuple[tuple[str, str], ...], int] = {}
        for series in found:
            sorted_tags = tuple(sorted(series.tags.items()))
            seen[sorted_tags] = seen.get(sorted_tags, -1) + 1
            by_key.setdefault((sorted_tags, seen[sorted_tags]), [empty, empty])[side] = series.values
    return [
        MetricSetPair(metric.name, str(first_id + n), dict(key), c, e)
        for n, ((key, _), (c, e)) in enumerate(sorted(by_key.items()))
    ]


def metric_set_pairs(
    config: CanaryConfig, scopes: Mapping[str, ScopePair], source: MetricSource
) -> list[MetricSetPair]:
    """Kayenta's metric-set pair list for ``config`` over ``scopes``."""
    pairs: list[MetricSetPair] = []
    for metric in config.metrics:
        scope = scopes[metric.scope_name]
        try:
            control = source.fetch(metric.query, scope.control)
            experiment = source.fetch(metric.query, scope.experiment)
        except FetchError as exc:
            raise JudgementFailed(f"metric {metric.name!r}: {exc}") from None
        pairs += _pair(metric, control, experiment, len(pairs))
    return pairs


def run_judgement(
    config: CanaryConfig, scopes: Mapping[str, ScopePair], thresholds: Thresholds, source: MetricSource
) -> dict[str, Any]:
    """Kayenta's ``CanaryResult``: ``{judgeResult, canaryDuration}``.

    Raises :class:`JudgementFailed` when a metric cannot be read.
    """
    pairs = metric_set_pairs(config, scopes, source)
    answer: dict[str, Any] = {"judgeResult": judge(config, pairs, thresholds)}
    # Kayenta's canaryDuration is the window's length, given only when every scope has the same.
    lengths = {w.end_ms - w.start_ms for p in scopes.values() for w in (p.control, p.experiment)}
    if len(lengths) == 1:
        answer["canaryDuration"] = iso_duration(lengths.pop())
    return answer


def iso_duration(ms: int) -> str:
    """Milliseconds as Java's ``Duration.toString`` writes them: ``PT30M``, ``PT1H15M``, ``PT1M0.5S``."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or millis or text == "PT":
        text += f"{seconds}.{millis:03d}".rstrip("0").rstrip(".") + "S"
    return text
