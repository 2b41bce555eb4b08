"""Alert rules: each answers, at an evaluation time, the samples of the alerts it governs.

- :class:`SLOBurnRule` — every burn-rate tier of every SLO, from the SLO service: a tier's
  alert holds while both its windows burn above the threshold (the multiwindow rule is its
  own dampening, so no ``for``). Labels ``alertname=SLOBurnRate``, ``slo``, ``service``,
  ``severity`` (the tier's: page, ticket), ``window`` (``1h/5m``); the slower tiers of an
  SLO are inhibited while a faster one fires.
- :class:`ThresholdRule` — a stack-language expression whose series are signal lines
  (``…,:gt``, dampened with ``:rolling-count`` as Atlas alerts are): an alert per series,
  holding while the series' last value is above 0, labelled with the series' tags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from alerting.model import AlertSample
from slo.service import SLOService
from stacklang import Limits, StackLangError, evaluate, parse
from store.interfaces import SeriesReader

__all__ = ["Rule", "SLOBurnRule", "ThresholdRule"]


class Rule(Protocol):
    name: str

    def samples(self, now_ms: int) -> list[AlertSample]: ...


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class SLOBurnRule:
    """Burn-rate alerts for every tier of every SLO the service knows."""

    name = "slo-burn-rate"

    def __init__(self, slos: SLOService) -> None:
        self._slos = slos

    def samples(self, now_ms: int) -> list[AlertSample]:
        found = []
        for result in self._slos.results(now_ms):
            status = result.status
            if status is None:
                continue
            slo = status.slo
            for index, objective in enumerate(status.objectives):
                tiers = sorted(objective.tiers, key=lambda t: t.pair.long)
                for rank, tier in enumerate(tiers):
                    labels = {
                        "alertname": "SLOBurnRate",
                        "slo": slo.name,
                        "service": slo.service or "",
                        "severity": tier.pair.severity,
                        "window": f"{_span(tier.pair.long)}/{_span(tier.pair.short)}",
                    }
                    if len(status.objectives) > 1:
                        labels["objective"] = str(index)
                    long, short = _span(tier.pair.long), _span(tier.pair.short)
                    summary = (
                        f"{slo.name}: error budget burning {tier.long_rate:.1f}x over {long} "
                        f"and {tier.short_rate:.1f}x over {short} (threshold {tier.pair.threshold:g})"
                    )
                    found.append(
                        AlertSample(
                            labels,
                            tier.firing,
                            None if math.isnan(tier.long_rate) else tier.long_rate,
                            {
                                "summary": summary,
                                "long_burn_rate": f"{tier.long_rate:.4g}",
                                "short_burn_rate": f"{tier.short_rate:.4g}",
                                "budget_remaining": f"{objective.report.budget_remaining:.4g}",
                            },
                            inhibition=(f"slo/{slo.name}/{index}", rank),
                        )
                    )
        return found


@dataclass
class ThresholdRule:
    """Alerts from a stack-language signal expression, one per series it answers."""

    name: str
    expression: str
    reader: SeriesReader
    step_ms: int
    lookback_ms: int = 600_000
    for_ms: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=lambda: Limits(max_series=1_000, max_points=1_000_000))

    def __post_init__(self) -> None:
        parse(self.expression)  # a rule that cannot be read is refused when it is loaded

    def samples(self, now_ms: int) -> list[AlertSample]:
        end = now_ms // self.step_ms * self.step_ms
        try:
            series = evaluate(
                self.expression, self.reader, end - self.lookback_ms, end, self.step_ms, limits=self.limits
            )
        except StackLangError as exc:
            raise RuntimeError(f"rule {self.name}: {exc}") from None
        found = []
        for line in series:
            known = [v for v in line.values if not math.isnan(v)]
            last = known[-1] if known else None
            labels = {
                **{k: v for k, v in line.tags.items() if k != "name"},
                **self.labels,
                "alertname": self.name,
            }
            annotations = {"summary": f"{self.name}: {line.label} = {last}", **self.annotations}
            found.append(AlertSample(labels, last is not None and last > 0, last, annotations, self.for_ms))
        return found
