"""Evaluate SLOs over the store, keeping each SLO's per-step numbers between evaluations.

A 30-day SLO at a 1-minute step is 43,200 steps per series. Reading them afresh for every
status costs a DuckDB scan per query (5–20 ms each here, more as the table grows), so the
engine keeps each SLO's arrays and, on the next evaluation, reads only the steps since the
last one plus a margin for late points (a scrape lands up to a step late, the writer
batches), then shifts the arrays. Computing the status from warm arrays is numpy over
memory. :meth:`SLOEngine.statuses` evaluates many SLOs with one store read per range
(:mod:`slo.batch_reads`), so a hundred SLOs cost about one scan, cold or warm.

The step is one minute when the store's step divides it and every window of the SLO
(tiers, time slices) is a whole number of minutes, five or more; otherwise the store's own
step (raw data, kept two days by default, is then all a window can read).
A cached entry is dropped when the definition changes (frozen dataclasses compare by value).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import numpy as np

from slo.batch_reads import PrefetchedReader, RecordingReader
from slo.budgeting import Floats
from slo.durations import rolling_timedelta
from slo.evaluation_window import EvaluationWindow, evaluation_window
from slo.indicator_reader import IndicatorError, IndicatorValues, read_indicator, threshold_counts
from slo.model import SLO, Objective
from slo.status import BudgetSource, SLOStatus, compute_status, tiers_of
from stacklang import Limits
from store.interfaces import SeriesReader

__all__ = ["SLOEngine", "evaluation_step"]

_MS = timedelta(milliseconds=1)
_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000
_HOURLY = "#hourly"  # the cache name of an SLO's hourly budget counts
# Re-read at least this much at each refresh: points arrive up to a scrape late.
_MARGIN_MS = 120_000
# One SLO's arrays may be a year of minutes: above the stack language's default limits.
_LIMITS = Limits(max_series=10_000, max_points=20_000_000, max_points_read=50_000_000)

Resolve = Callable[[str], SLO | None]
_T = TypeVar("_T")
_log = logging.getLogger("watchfloor.slo")


def _slice_lengths(slo: SLO) -> list[int]:
    """Each objective's ``timeSliceWindow`` in milliseconds."""
    return [rolling_timedelta(o.time_slice_window) // _MS for o in slo.objectives if o.time_slice_window]


def evaluation_step(slo: SLO, base_step_ms: int) -> int:
    """One minute when the store step divides it, every window and time slice is whole
    minutes, and the burn-rate windows are five minutes or more; otherwise the store's step
    (a 1-minute burn window needs finer steps; raw data is kept two days by default)."""
    if base_step_ms >= _MINUTE_MS or _MINUTE_MS % base_step_ms:
        return base_step_ms
    tiers = [w // _MS for pair in tiers_of(slo) for w in (pair.long, pair.short)]
    whole = all(length % _MINUTE_MS == 0 for length in tiers + _slice_lengths(slo))
    return _MINUTE_MS if whole and min(tiers, default=5 * _MINUTE_MS) >= 5 * _MINUTE_MS else base_step_ms


@dataclass(frozen=True, slots=True)
class _Plan:
    """One evaluation: the SLO, its window, and the steps ``(start_ms, end_ms]`` it needs."""

    slo: SLO
    window: EvaluationWindow
    step_ms: int
    start_ms: int
    end_ms: int
    # A composite's components as they were when the evaluation began: its numbers and its
    # cache key come from this one snapshot, whatever is put meanwhile.
    components: tuple[SLO | None, ...]
    cache_name: str = ""
    # Hourly counts for the budget and burn-down, when the window reaches past the
    # 1-minute rollups: this plan's arrays then cover the burn-rate windows only.
    budget: _Plan | None = None

    @property
    def key(self) -> object:
        return (self.slo, self.components)


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
        self,
        reader: SeriesReader,
        *,
        base_step_ms: int,
        clock: Callable[[], float] = time.time,
        minute_retention_ms: int = 35 * 86_400_000,
    ) -> None:
        self._reader = reader
        self._minute_retention_ms = minute_retention_ms
        self._base_step_ms = base_step_ms
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._generations: dict[str, int] = {}
        self._guard = threading.Lock()

    def forget(self, name: str) -> None:
        """Drop what is kept for ``name`` (after a delete or a change).

        An evaluation of ``name`` already under way does not keep what it read.
        """
        with self._guard:
            for kept in (name, name + _HOURLY):
                self._generations[kept] = self._generations.get(kept, 0) + 1
                self._entries.pop(kept, None)

    def _plan(self, slo: SLO, resolve: Resolve, now_ms: int | None) -> _Plan:
        now = int(self._clock() * 1000) if now_ms is None else now_ms
        step = evaluation_step(slo, self._base_step_ms)
        end = now // step * step
        window = evaluation_window(slo.time_window, end)
        longest = max((p.long // _MS for p in tiers_of(slo)), default=0)
        components = tuple(resolve(c.slo) for c in slo.components)
        budget = self._hourly_plan(slo, end, components) if step == _MINUTE_MS else None
        if budget is not None:  # the minute arrays need only cover the burn-rate windows
            return _Plan(slo, window, step, (end - longest) // step * step, end, components, slo.name, budget)
        start = min(window.start_ms, end - longest) // step * step
        return _Plan(slo, window, step, start, end, components, slo.name)

    def _hourly_plan(self, slo: SLO, end: int, components: tuple[SLO | None, ...]) -> _Plan | None:
        """Hourly budget counts up to the last whole hour, for a window the minutes no longer cover.

        Only when every time slice is whole hours (a slice must be whole steps).
        """
        if evaluation_window(slo.time_window, end).start_ms >= end - self._minute_retention_ms + _HOUR_MS:
            return None
        if any(length % _HOUR_MS for length in _slice_lengths(slo)):
            return None
        hour_end = end // _HOUR_MS * _HOUR_MS
        window = evaluation_window(slo.time_window, hour_end)
        start = window.start_ms // _HOUR_MS * _HOUR_MS
        return _Plan(slo, window, _HOUR_MS, start, hour_end, components, slo.name + _HOURLY)

    def status(self, slo: SLO, resolve: Resolve, now_ms: int | None = None) -> SLOStatus:
        """The status of ``slo`` now (or at ``now_ms``); ``resolve`` finds composite components.

        Raises :class:`IndicatorError` when the SLI cannot be read.
        """
        found = _guarded(lambda: self._status(self._plan(slo, resolve, now_ms), self._reader))
        if isinstance(found, IndicatorError):
            raise found
        return found

    def statuses(
        self, slos: Sequence[SLO], resolve: Resolve, now_ms: int | None = None
    ) -> list[SLOStatus | IndicatorError]:
        """:meth:`status` of each of ``slos``, reading what they need in one scan per range.

        An SLO that cannot be evaluated gets an :class:`IndicatorError` saying why; the others
        are unaffected.
        """
        plans: list[_Plan | IndicatorError] = [_guarded(self._plan, slo, resolve, now_ms) for slo in slos]
        recorder = RecordingReader()
        for plan in plans:
            if isinstance(plan, IndicatorError):
                continue
            for part in (plan, plan.budget):
                span = None if part is None else self._read_span(part)
                if part is not None and span is not None:
                    # Errors are reported when the SLO is evaluated for real, below.
                    _guarded(self._read, part, *span, recorder)
        reader = PrefetchedReader(self._reader, recorder.requests, _LIMITS.max_points_read)
        return [
            plan if isinstance(plan, IndicatorError) else _guarded(self._status, plan, reader)
            for plan in plans
        ]

    def _status(self, plan: _Plan, reader: SeriesReader) -> SLOStatus:
        slo = plan.slo
        counts = self._counts(plan, reader)
        budget = None
        if plan.budget is not None:
            hourly = plan.budget
            budget = BudgetSource(
                self._counts(hourly, reader), hourly.window, hourly.start_ms, hourly.step_ms
            )
        return compute_status(slo, counts, plan.window, plan.start_ms, plan.step_ms, budget)

    def _counts(self, plan: _Plan, reader: SeriesReader) -> list[tuple[Floats, Floats]]:
        """``(good, total)`` per objective of ``plan``, from the arrays kept and what is new."""
        with self._guard:
            lock = self._locks.setdefault(plan.cache_name, threading.Lock())
            generation = self._generations.get(plan.cache_name, 0)
        with lock:
            values = self._values(plan, reader, generation)
        if values.values is not None:
            return [objective_counts(values, o) for o in plan.slo.objectives]
        return [objective_counts(values, plan.slo.objectives[0])] * len(plan.slo.objectives)

    def _read_span(self, plan: _Plan) -> tuple[int, int] | None:
        """What must be read for ``plan``: everything when nothing usable is kept, else the tail."""
        entry = self._entries.get(plan.cache_name)
        step, start, end = plan.step_ms, plan.start_ms, plan.end_ms
        if entry is None or entry.key != plan.key or entry.step_ms != step or entry.start_ms > start:
            return start, end
        reread = max(start, min(entry.end_ms, end) - max(_MARGIN_MS, 5 * step) // step * step)
        return (reread, end) if end > reread else None

    def _values(self, plan: _Plan, reader: SeriesReader, generation: int) -> IndicatorValues:
        step, start, end = plan.step_ms, plan.start_ms, plan.end_ms
        span = self._read_span(plan)
        entry = self._entries.get(plan.cache_name)
        if span == (start, end) or entry is None:
            values = self._read(plan, start, end, reader)
        else:
            reread = end if span is None else span[0]
            keep = slice((start - entry.start_ms) // step, (reread - entry.start_ms) // step)
            kept = [a[keep] for a in _arrays(entry.values)]
            if span is not None:
                tail = self._read(plan, reread, end, reader)
                kept = [np.concatenate((a, t)) for a, t in zip(kept, _arrays(tail), strict=True)]
            values = _rebuild(entry.values, kept)
        with self._guard:
            if self._generations.get(plan.cache_name, 0) == generation:  # not forgotten meanwhile
                self._entries[plan.cache_name] = _Entry(plan.key, step, start, end, values)
        return values

    def _read(self, plan: _Plan, start: int, end: int, reader: SeriesReader) -> IndicatorValues:
        if plan.slo.indicator is not None:
            return read_indicator(plan.slo.indicator, reader, start, end, plan.step_ms, _LIMITS)
        return self._composite(plan, start, end, reader)

    def _composite(self, plan: _Plan, start: int, end: int, reader: SeriesReader) -> IndicatorValues:
        """Per step: each component's good ratio, weighted; a component without data weighs nothing."""
        step = plan.step_ms
        steps = (end - start) // step
        good, total = np.zeros(steps), np.zeros(steps)
        for component, part in zip(plan.slo.components, plan.components, strict=True):
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


def _guarded(run: Callable[..., _T], *args: object) -> _T | IndicatorError:
    """``run(*args)``, or the reason it failed as an :class:`IndicatorError`."""
    try:
        return run(*args)
    except IndicatorError as exc:
        return exc
    except ValueError as exc:  # e.g. a time slice that is not a whole number of steps
        return IndicatorError(str(exc))
    except Exception as exc:  # one broken SLO must not stop the others
        _log.exception("evaluating an SLO failed")
        return IndicatorError(f"evaluation failed: {type(exc).__name__}")
