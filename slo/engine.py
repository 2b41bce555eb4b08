"""Evaluate SLOs over the store, keeping each SLO's per-step numbers between evaluations.

A 30-day SLO at a 1-minute step is 43,200 steps per series. Reading them afresh for every
status costs a DuckDB scan per query (about 20 ms each here), so the engine keeps each
SLO's arrays and, on the next evaluation, reads only the steps since the last one plus a
margin for late points (a scrape lands up to a step late, the writer batches), then
shifts the arrays. Computing the status from warm arrays is numpy over memory.
:meth:`SLOEngine.statuses` evaluates many SLOs with one store read per range
(:mod:`slo.batch_reads`), so a hundred SLOs cost about one scan, cold or warm.

The step is one minute when the store's step divides it and every window of the SLO
(tiers, time slices) is a whole number of minutes, five or more; otherwise the store's own
step (raw data, kept two days by default, is then all a window can read).
A cached entry is dropped when the definition changes (frozen dataclasses compare by value).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from slo.batch_reads import PrefetchedReader, RecordingReader
from slo.budgeting import Floats
from slo.durations import rolling_timedelta
from slo.evaluation_window import EvaluationWindow, evaluation_window
from slo.indicator_reader import IndicatorError, IndicatorValues, read_indicator, threshold_counts
from slo.model import SLO, Objective
from slo.status import SLOStatus, compute_status, tiers_of
from stacklang import Limits
from store.interfaces import SeriesReader

__all__ = ["SLOEngine", "evaluation_step"]

_MS = timedelta(milliseconds=1)
_MINUTE_MS = 60_000
# Re-read at least this much at each refresh: points arrive up to a scrape late.
_MARGIN_MS = 120_000
# One SLO's arrays may be a year of minutes: above the stack language's default limits.
_LIMITS = Limits(max_series=10_000, max_points=20_000_000, max_points_read=50_000_000)

Resolve = Callable[[str], SLO | None]


def evaluation_step(slo: SLO, base_step_ms: int) -> int:
    """One minute when the store step divides it and all the SLO's windows are whole minutes,
    at least five of them; otherwise the store's step (a 1-minute window needs finer steps)."""
    if base_step_ms >= _MINUTE_MS or _MINUTE_MS % base_step_ms:
        return base_step_ms
    lengths = [w // _MS for pair in tiers_of(slo) for w in (pair.long, pair.short)]
    for objective in slo.objectives:
        if objective.time_slice_window is not None:
            lengths.append(rolling_timedelta(objective.time_slice_window) // _MS)
    whole = all(length % _MINUTE_MS == 0 for length in lengths)
    return _MINUTE_MS if whole and min(lengths, default=_MINUTE_MS * 5) >= 5 * _MINUTE_MS else base_step_ms


@dataclass(frozen=True, slots=True)
class _Plan:
    """One evaluation: the SLO, its window, and the steps ``(start_ms, end_ms]`` it needs."""

    slo: SLO
    window: EvaluationWindow
    step_ms: int
    start_ms: int
    end_ms: int


@dataclass(slots=True)
class _Entry:
    key: object
    step_ms: int
    start_ms: int
    end_ms: int
    values: IndicatorValues


def _arrays(values: IndicatorValues) -> list[Floats]:
    return [a for a in (values.good, values.total, values.values) if a is not None]


def _rebuild(values: IndicatorValues, arrays: list[Floats]) -> IndicatorValues:
    if values.values is not None:
        return IndicatorValues(values=arrays[0])
    return IndicatorValues(good=arrays[0], total=arrays[1])


def objective_counts(values: IndicatorValues, objective: Objective) -> tuple[Floats, Floats]:
    """``(good, total)`` of one objective from an SLI's numbers."""
    if values.values is not None:
        return threshold_counts(values.values, objective)
    assert values.good is not None and values.total is not None
    return values.good, values.total


class SLOEngine:
    """Statuses of SLOs read through ``reader``, with per-SLO arrays kept between calls."""

    def __init__(
        self, reader: SeriesReader, *, base_step_ms: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._reader = reader
        self._base_step_ms = base_step_ms
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def forget(self, name: str) -> None:
        """Drop what is kept for ``name`` (after a delete)."""
        with self._guard:
            self._entries.pop(name, None)
            self._locks.pop(name, None)

    def _plan(self, slo: SLO, now_ms: int | None) -> _Plan:
        now = int(self._clock() * 1000) if now_ms is None else now_ms
        step = evaluation_step(slo, self._base_step_ms)
        end = now // step * step
        window = evaluation_window(slo.time_window, end)
        longest = max((p.long // _MS for p in tiers_of(slo)), default=0)
        return _Plan(slo, window, step, min(window.start_ms, end - longest) // step * step, end)

    def status(self, slo: SLO, resolve: Resolve, now_ms: int | None = None) -> SLOStatus:
        """The status of ``slo`` now (or at ``now_ms``); ``resolve`` finds composite components.

        Raises :class:`IndicatorError` when the SLI cannot be read.
        """
        return self._status(self._plan(slo, now_ms), resolve, self._reader)

    def statuses(
        self, slos: Sequence[SLO], resolve: Resolve, now_ms: int | None = None
    ) -> list[SLOStatus | IndicatorError]:
        """:meth:`status` of each of ``slos``, reading what they need in one scan per range."""
        plans = [self._plan(slo, now_ms) for slo in slos]
        recorder = RecordingReader()
        for plan in plans:
            span = self._read_span(plan, resolve)
            if span is not None:
                with contextlib.suppress(IndicatorError):  # reported when evaluated for real
                    self._read(plan.slo, resolve, *span, plan.step_ms, recorder)
        reader = PrefetchedReader(self._reader, recorder.requests)
        found: list[SLOStatus | IndicatorError] = []
        for plan in plans:
            try:
                found.append(self._status(plan, resolve, reader))
            except IndicatorError as exc:
                found.append(exc)
        return found

    def _status(self, plan: _Plan, resolve: Resolve, reader: SeriesReader) -> SLOStatus:
        slo = plan.slo
        with self._guard:
            lock = self._locks.setdefault(slo.name, threading.Lock())
        with lock:
            values = self._values(plan, resolve, reader)
        if values.values is not None:
            counts = [objective_counts(values, o) for o in slo.objectives]
        else:
            counts = [objective_counts(values, slo.objectives[0])] * len(slo.objectives)
        return compute_status(slo, counts, plan.window, plan.start_ms, plan.step_ms)

    def _key(self, slo: SLO, resolve: Resolve) -> object:
        return (slo, tuple(resolve(c.slo) for c in slo.components))

    def _read_span(self, plan: _Plan, resolve: Resolve) -> tuple[int, int] | None:
        """What must be read for ``plan``: everything when nothing usable is kept, else the tail."""
        entry = self._entries.get(plan.slo.name)
        step, start, end = plan.step_ms, plan.start_ms, plan.end_ms
        if (
            entry is None
            or entry.key != self._key(plan.slo, resolve)
            or entry.step_ms != step
            or entry.start_ms > start
        ):
            return start, end
        reread = max(start, min(entry.end_ms, end) - max(_MARGIN_MS, 5 * step) // step * step)
        return (reread, end) if end > reread else None

    def _values(self, plan: _Plan, resolve: Resolve, reader: SeriesReader) -> IndicatorValues:
        slo, step, start, end = plan.slo, plan.step_ms, plan.start_ms, plan.end_ms
        span = self._read_span(plan, resolve)
        entry = self._entries.get(slo.name)
        if span == (start, end) or entry is None:
            values = self._read(slo, resolve, start, end, step, reader)
        else:
            reread = end if span is None else span[0]
            keep = slice((start - entry.start_ms) // step, (reread - entry.start_ms) // step)
            kept = [a[keep] for a in _arrays(entry.values)]
            if span is not None:
                tail = self._read(slo, resolve, reread, end, step, reader)
                kept = [np.concatenate((a, t)) for a, t in zip(kept, _arrays(tail), strict=True)]
            values = _rebuild(entry.values, kept)
        self._entries[slo.name] = _Entry(self._key(slo, resolve), step, start, end, values)
        return values

    def _read(
        self, slo: SLO, resolve: Resolve, start: int, end: int, step: int, reader: SeriesReader
    ) -> IndicatorValues:
        if slo.indicator is not None:
            return read_indicator(slo.indicator, reader, start, end, step, _LIMITS)
        return self._composite(slo, resolve, start, end, step, reader)

    def _composite(
        self, slo: SLO, resolve: Resolve, start: int, end: int, step: int, reader: SeriesReader
    ) -> IndicatorValues:
        """Per step: each component's good ratio, weighted; a component without data weighs nothing."""
        steps = (end - start) // step
        good, total = np.zeros(steps), np.zeros(steps)
        for component in slo.components:
            part = resolve(component.slo)
            if part is None or part.indicator is None:
                raise IndicatorError(f"composite component {component.slo!r} is not a plain SLO")
            values = read_indicator(part.indicator, reader, start, end, step, _LIMITS)
            part_good, part_total = objective_counts(values, part.objectives[0])
            with np.errstate(invalid="ignore", divide="ignore"):
                valid = np.isfinite(part_good) & np.isfinite(part_total) & (part_total > 0)
                ratio = np.where(valid, part_good / np.where(valid, part_total, 1.0), 0.0)
            good += component.weight * ratio
            total += component.weight * valid
        with_data = total > 0
        return IndicatorValues(
            good=np.where(with_data, good, np.nan), total=np.where(with_data, total, np.nan)
        )
