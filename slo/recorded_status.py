"""SLO statuses read from the recording rules a Prometheus engine evaluates (Watchfloor's Sloth export).

When the rules :func:`slo.prometheus_rules.export_rules` writes are loaded into the engine,
every SLO's error ratio over each burn-rate window and over its period is already a
recorded series: one instant query for all of them replaces reading 30 days of raw counts.
An SLO is *recorded* when the engine evaluates, for its ``sloth_id`` (``<service>-<name>``),
the ``sloth_slo_info`` rule marked ``sloth_mode="watchfloor-export"`` and
``slo:sli_error:ratio_rate<w>`` for every long and short window of its tiers and for its
period, the period one counting events (Sloth's own rules average 5-minute ratios
instead, slo.md §4, and are not used). The rule list is read at most once a minute.

Only SLOs whose rule figures mean what :func:`slo.status.compute_status` computes are
recorded; the others (and those without rules) stay with the engine:

- refused: composite SLOs, threshold SLIs, ``Timeslices`` and ``RatioTimeslices`` (Sloth's
  sliding mean is not Watchfloor's per-slice mean), several objectives, calendar windows
  (exported as rolling ones), maintenance exclusions (not applied by the rules), and
  ``counter: false`` SLIs (counts per step, whose sum over a window no rule forms).

What still differs for the SLOs that are recorded, and what a rule cannot give:

- The rules are trusted to be the export of the SLO as defined now: re-export them after
  changing an SLI or the tiers (a new target needs nothing: burn rates divide the recorded
  ratios by the budget of the target defined here, and the thresholds are the SLO's own).
- Ratios are Prometheus's: ``rate`` extrapolates to the window's edges, as the Prometheus
  backend's own reads do; a value is as old as the last rule evaluation.
- No data: the state is ``no_data`` when the period's ratio is absent or NaN, or the ratio
  over the shortest tier window at least ``noDataAfter`` long (else the longest) is: an SLO
  is silent for up to that window before it says so, where the engine counts steps. A bad
  (or good) query whose series does not exist yet records no ratio either, so an SLO that
  has never failed reads ``no_data`` until its first error: write such queries so they
  always answer (``… or vector(0)``).
- ``minEvents``: the long windows' event counts are one more batched instant query of the
  SLI's total (a per-second rate × the window's seconds), only for SLOs with a minimum; for
  the others ``long_events`` is NaN (never guarded, as with a minimum of 0).
- Counts in events (budget total and spent), the no-data share, the burn-down and the last
  data instant are not recorded: NaN, 0, an empty array and None. The detail view of one
  SLO keeps computing them from raw data (:meth:`slo.engine.SLOEngine.status`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from slo.atlas_promql import render, source_template
from slo.budgeting import BudgetReport
from slo.burn import error_budget
from slo.durations import rolling_timedelta
from slo.evaluation_window import evaluation_window
from slo.model import SLO
from slo.status import (
    ObjectiveStatus,
    SLOStatus,
    current_burn_rate,
    no_data_after,
    state_of,
    tier_status,
    tiers_of,
    time_to_exhaustion,
)
from store.backends.prometheus_http import PrometheusHTTP
from store.backends.promql_text import duration, quote, regex_literal

__all__ = ["RecordedRules", "rule_form", "sloth_id"]

_SLI = "slo:sli_error:ratio_rate"
_INFO = "sloth_slo_info"
_EXPORT = "watchfloor-export"
_RULES_TTL_S = 60.0  # rules change when a file is reloaded: rarely
_MS_PER_S = 1000
_MS = timedelta(milliseconds=1)


def sloth_id(slo: SLO) -> str:
    """The ``sloth_id`` label the exported rules carry: ``<service>-<name>``."""
    return f"{slo.service}-{slo.name}"


def rule_form(slo: SLO) -> bool:
    """True when the exported rules' figures mean what the engine computes for ``slo`` (see above)."""
    indicator = slo.indicator
    return (
        indicator is not None
        and indicator.ratio_metric is not None
        and indicator.ratio_metric.counter
        and not slo.components
        and slo.budgeting_method == "Occurrences"
        and len(slo.objectives) == 1
        and slo.time_window.is_rolling
        and not slo.exclusions
    )


def _ms(span: timedelta) -> int:
    return span // _MS


def _period_ms(slo: SLO) -> int:
    return _ms(rolling_timedelta(slo.time_window.duration))


def _windows(slo: SLO) -> frozenset[str]:
    """``sloth_window`` of every SLI rule the SLO needs: each tier window and the period."""
    spans = {_ms(w) for pair in tiers_of(slo) for w in (pair.long, pair.short)} | {_period_ms(slo)}
    return frozenset(duration(span) for span in spans)


@dataclass(slots=True)
class _Recorded:
    """What the engine records for one ``sloth_id``."""

    exported: bool = False
    windows: dict[str, str] = field(default_factory=dict)  # sloth_window → the rule's query


class RecordedRules:
    """Statuses of the SLOs whose exported rules ``client``'s engine evaluates; thread-safe.

    ``clock`` (Unix seconds) dates the rule cache and a status asked for without ``now_ms``.
    Every method raises :class:`~store.backends.prometheus_http.PrometheusError` (a
    ``BackendError``) when the engine fails or cannot be reached.
    """

    def __init__(self, client: PrometheusHTTP, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._rules: dict[str, _Recorded] = {}
        self._read_at = -math.inf

    def refresh(self) -> None:
        """Read the rule list again at the next call (after loading new rules)."""
        with self._lock:
            self._read_at = -math.inf

    def _index(self) -> dict[str, _Recorded]:
        now = self._clock()
        with self._lock:
            if now - self._read_at < _RULES_TTL_S:
                return self._rules
        found: dict[str, _Recorded] = {}
        for name, labels, query in self.client.recording_rule_labels():
            owner = labels.get("sloth_id")
            if owner is None:
                continue
            entry = found.setdefault(owner, _Recorded())
            if name == _INFO and labels.get("sloth_mode") == _EXPORT:
                entry.exported = True
            window = labels.get("sloth_window", "")
            if name == _SLI + window:
                entry.windows[window] = query
        with self._lock:
            self._rules, self._read_at = found, now
        return found

    def recorded(self, slos: Sequence[SLO]) -> list[SLO]:
        """Those of ``slos`` whose statuses :meth:`statuses` gives."""
        index = self._index()
        return [slo for slo in slos if rule_form(slo) and _complete(slo, index.get(sloth_id(slo)))]

    def statuses(self, slos: Sequence[SLO], now_ms: int | None = None) -> dict[str, SLOStatus]:
        """SLO name → status at ``now_ms`` (default: the clock), for the recorded ones of ``slos``.

        One instant query reads every recorded ratio; one more reads the long windows' events
        of the SLOs with ``minEvents``.
        """
        now = int(self._clock() * _MS_PER_S) if now_ms is None else now_ms
        chosen = self.recorded(slos)
        if not chosen:
            return {}
        ids = "|".join(regex_literal(sloth_id(slo)) for slo in chosen)
        selector = f'{{__name__=~"{_SLI}.+", sloth_id=~{quote(ids)}}}'
        ratios: dict[tuple[str, str], float] = {}
        for sample in self.client.query(selector, now / _MS_PER_S).samples:
            labels = sample.labels
            ratios[(labels.get("sloth_id", ""), labels.get("sloth_window", ""))] = sample.value
        events = self._events([slo for slo in chosen if slo.min_events > 0], now)
        return {slo.name: _status(slo, ratios, events, now) for slo in chosen}

    def _events(self, slos: Sequence[SLO], now_ms: int) -> dict[tuple[str, str], float]:
        """(sloth_id, long window) → events in the window, read in one query; absent means none."""
        parts = []
        for slo in slos:
            assert slo.indicator is not None and slo.indicator.ratio_metric is not None  # rule_form
            total = source_template(slo.indicator.ratio_metric.total)
            for long in sorted({pair.long for pair in tiers_of(slo)}):
                window = duration(_ms(long))
                # A per-second rate over the window × its seconds: the exported minEvents condition.
                counted = f"sum({render(total, window)}) * {long.total_seconds()!r}"
                tagged = f'label_replace({counted}, "sloth_id", {quote(sloth_id(slo))}, "", "")'
                parts.append(f'label_replace({tagged}, "sloth_window", "{window}", "", "")')
        if not parts:
            return {}
        answer = self.client.query("\nor\n".join(parts), now_ms / _MS_PER_S)
        return {
            (s.labels.get("sloth_id", ""), s.labels.get("sloth_window", "")): s.value for s in answer.samples
        }


def _complete(slo: SLO, recorded: _Recorded | None) -> bool:
    """Every SLI rule the SLO needs is recorded, and the period one counts events."""
    if recorded is None or not recorded.exported or not _windows(slo) <= recorded.windows.keys():
        return False
    # Sloth's period rule averages recorded ratios (it reads _SLI series): another figure.
    return _SLI not in recorded.windows[duration(_period_ms(slo))]


def _status(
    slo: SLO, ratios: dict[tuple[str, str], float], events: dict[tuple[str, str], float], now_ms: int
) -> SLOStatus:
    owner, objective = sloth_id(slo), slo.objectives[0]
    budget = error_budget(objective.target)
    window = evaluation_window(slo.time_window, now_ms)

    def ratio(span_ms: int) -> float:
        return ratios.get((owner, duration(span_ms)), math.nan)

    tiers = []
    for pair in tiers_of(slo):
        long_ms = _ms(pair.long)
        # With a minimum, an absent count is no traffic; without one it was not read.
        counted = events.get((owner, duration(long_ms)), 0.0 if slo.min_events > 0 else math.nan)
        tiers.append(
            tier_status(pair, ratio(long_ms), ratio(_ms(pair.short)), counted, budget, slo.min_events)
        )
    period_ratio = ratio(window.period_ms)
    sli, remaining = 1.0 - period_ratio, 1.0 - period_ratio / budget
    report = BudgetReport(
        method=slo.budgeting_method,
        sli=sli,
        attained=None if math.isnan(sli) else bool(sli >= objective.target),
        budget_total=math.nan,
        budget_spent=math.nan,
        budget_remaining=remaining,
        no_data_steps=0,
        no_data_share=math.nan,
        burn_down=np.zeros(0, dtype=np.float64),
    )
    current = current_burn_rate(tuple(tiers))
    exhaustion = time_to_exhaustion(remaining, current, window.period_ms)
    status = ObjectiveStatus(objective, report, current, exhaustion, tuple(tiers))
    no_data = math.isnan(period_ratio) or math.isnan(ratio(_no_data_window(slo)))
    state = state_of(no_data, any(t.firing for t in tiers), remaining)
    # No steps: the figures are instants, so the step is the period and the burn-down empty.
    return SLOStatus(
        slo, window, window.period_ms, window.start_ms, (status,), no_data, None, state, window.period_ms
    )


def _no_data_window(slo: SLO) -> int:
    """The shortest tier window at least ``noDataAfter`` long (else the longest), in ms."""
    spans = sorted(_ms(w) for pair in tiers_of(slo) for w in (pair.long, pair.short))
    after = _ms(no_data_after(slo))
    return next((span for span in spans if span >= after), spans[-1])
