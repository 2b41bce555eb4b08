"""Turn successive scrapes of one target into Atlas-style step-aligned datapoints.

Atlas normalisation (stacklang.md §1): a value covering (T − step, T] is emitted at T,
once that bucket is complete, i.e. once a scrape or :meth:`Normaliser.flush` has reached
T; no (series, T) is ever emitted twice.

- Counters become rates per second (``statistic=count``): the increase between two
  scrapes (the new value alone when it went down: Prometheus's reset rule) is spread at a
  constant rate over the buckets the interval overlaps; coverage missing inside a bucket
  counts as 0. The first scrape of a series gives no value.
- Gauges and untyped samples: the last value in the step wins (``statistic=gauge``).
- Histograms: ``_count`` and ``_sum`` become rates (``count``; ``totalTime`` for a family
  named ``…_seconds``, else ``totalAmount``); each ``_bucket`` becomes a rate with
  ``statistic=percentile`` and its ``le`` tag as exposed. Buckets stay cumulative, as
  Prometheus exposes them: the ``le="0.5"`` series counts every observation ≤ 0.5, and
  readers de-cumulate when they compute percentiles.
- Summaries: ``_count``/``_sum`` as for histograms; quantile samples become gauges with
  ``statistic=percentile`` and their ``quantile`` tag. ``_created`` samples are dropped.
  (These naming rules live in ``store.backends.prometheus_names.declared_form``, which the
  Prometheus backend reads by too.)
- A series missing from a scrape is forgotten once its pending bucket is out; if it comes
  back it starts afresh. A failed scrape (no :meth:`Normaliser.ingest` call) forgets
  nothing: the next good scrape takes its increase from the last good one.

Sample timestamps in the exposition are ignored: every sample is taken at the scrape time.
Output tags are the sample's labels, then the target's tags, then ``name`` and
``statistic`` (later ones win). One tags dict is built per series and shared by all its
points; consumers must not mutate it (the store remembers series by its identity).

The scrape path uses the columnar forms, :meth:`Normaliser.ingest_columns` taking
:class:`~collectors.prom_text.ParsedColumns` and filling :class:`PointColumns`: the same
points in the same order, without a tuple per sample and per point. Objects that live for a
whole scrape round get promoted to the cyclic collector's oldest generation, and each
full pass over it cost more than parsing did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final, overload

from collectors.prom_text import Labels, ParsedColumns, ParsedScrape, SeriesKey
from store.backends.prometheus_names import declared_form
from store.model import Datapoint

_GAUGE: Final = 0
_RATE: Final = 1
_IGNORED: Final = 2
_NEVER: Final = -(1 << 62)  # a bucket end before any real one


# Builds a NamedTuple without its Python-level __new__: half the cost of a point.
_new = tuple.__new__

# Per-interval weights: (bucket end, share of the interval inside that bucket).
_Spread = list[tuple[int, float]]


class PointColumns(Sequence[Datapoint]):
    """Datapoints as three parallel lists: ``tags[i]``, ``timestamps[i]``, ``values[i]`` make point ``i``.

    A Sequence of :class:`Datapoint` (built when read); the store takes the lists as they are.
    """

    __slots__ = ("tags", "timestamps", "values")

    def __init__(self) -> None:
        self.tags: list[Mapping[str, str]] = []
        self.timestamps: list[int] = []
        self.values: list[float] = []

    def __len__(self) -> int:
        return len(self.timestamps)

    @overload
    def __getitem__(self, index: int) -> Datapoint: ...

    @overload
    def __getitem__(self, index: slice) -> list[Datapoint]: ...

    def __getitem__(self, index: int | slice) -> Datapoint | list[Datapoint]:
        if isinstance(index, slice):
            rows = zip(self.tags[index], self.timestamps[index], self.values[index], strict=True)
            return [_new(Datapoint, row) for row in rows]
        return _new(Datapoint, (self.tags[index], self.timestamps[index], self.values[index]))

    def __iter__(self) -> Iterator[Datapoint]:
        for row in zip(self.tags, self.timestamps, self.values, strict=True):
            yield _new(Datapoint, row)

    def extend(self, points: Iterable[Datapoint]) -> None:
        """Append points given one by one (or another PointColumns)."""
        if isinstance(points, PointColumns):
            self.tags += points.tags
            self.timestamps += points.timestamps
            self.values += points.values
            return
        for tags, timestamp_ms, value in points:
            self.tags.append(tags)
            self.timestamps.append(timestamp_ms)
            self.values.append(value)

    def add(self, tags: Mapping[str, str], timestamp_ms: int, value: float) -> None:
        self.tags.append(tags)
        self.timestamps.append(timestamp_ms)
        self.values.append(value)


class _Series:
    """Normalisation state of one series."""

    __slots__ = ("acc", "closed_ms", "kind", "last_ms", "last_value", "open_ms", "seen_ms", "tags")

    def __init__(self, kind: int, tags: Mapping[str, str]) -> None:
        self.kind = kind
        self.tags = tags
        self.seen_ms = _NEVER  # the last scrape the series was in
        self.last_value: float | None = None  # counters: the last good value, None for no previous point
        self.last_ms = _NEVER
        self.open_ms: int | None = None  # end of the bucket being filled
        self.acc = 0.0  # rates: the increase inside the open bucket; gauges: its last value
        self.closed_ms = _NEVER  # end of the last bucket emitted


def _describe(name: str, labels: Labels, types: Mapping[str, str]) -> tuple[int, str, str]:
    """What a sample series becomes: (kind, Atlas ``name``, ``statistic``)."""
    found = declared_form(name, any(key == "quantile" for key, _ in labels), types)
    if found is None:
        return _IGNORED, name, ""
    kind, atlas_name, statistic = found
    return (_RATE if kind == "rate" else _GAUGE), atlas_name, statistic


class Normaliser:
    """State for one scrape target; not thread-safe (one per target).

    Call :meth:`ingest` with each good scrape and :meth:`record_scrape` after every
    attempt, good or failed, with increasing times; a scrape at or before the previous
    one is ignored. Call :meth:`flush` when the target stops being scraped: it closes the
    buckets up to ``now_ms``, so a scrape after it can no longer add to them (their share
    of the next interval is dropped).
    """

    def __init__(self, step_ms: int, target_tags: Mapping[str, str]) -> None:
        if step_ms <= 0:
            raise ValueError(f"step_ms must be positive, got {step_ms}")
        self._step_ms = step_ms
        self._per_second = 1000.0 / step_ms
        self._target_tags = dict(target_tags)
        self._series: dict[tuple[str, Labels], _Series] = {}
        self._last_ingest_ms = _NEVER
        self._scrape_series = [
            _Series(_GAUGE, {**self._target_tags, "name": name, "statistic": "gauge"})
            for name in ("up", "scrape_duration_seconds", "scrape_samples_scraped")
        ]

    def ingest(self, scrape: ParsedScrape, scrape_time_ms: int) -> list[Datapoint]:
        """Take one good scrape; returns the buckets it completed."""
        samples = scrape.samples
        out = PointColumns()
        self._ingest(
            [(s[0], s[1]) for s in samples], [s[2] for s in samples], scrape.types, scrape_time_ms, out
        )
        return list(out)

    def ingest_columns(self, scrape: ParsedColumns, scrape_time_ms: int, out: PointColumns) -> None:
        """:meth:`ingest` for the scrape path: appends the points to ``out``."""
        self._ingest(scrape.series, scrape.values, scrape.types, scrape_time_ms, out)

    def _ingest(
        self,
        keys: Sequence[SeriesKey],
        values: Sequence[float],
        types: Mapping[str, str],
        now: int,
        out: PointColumns,
    ) -> None:
        if now <= self._last_ingest_ms:
            return
        self._last_ingest_ms = now
        emit_tags, emit_ts, emit_value = out.tags.append, out.timestamps.append, out.values.append
        per_second = self._per_second
        bucket = -(-now // self._step_ms) * self._step_ms
        # Most series were last scraped at the same time, so one spread serves them all.
        spreads: dict[int, _Spread] = {}
        series_by_key = self._series
        known = len(series_by_key)
        present = 0
        for key, value in zip(keys, values, strict=True):
            series = series_by_key.get(key)
            if series is None:
                series = series_by_key[key] = self._new_series(key[0], key[1], types)
            elif series.seen_ms == now:
                continue  # the same series twice in one exposition: the first one counts
            else:
                present += 1
            series.seen_ms = now
            if series.kind == _RATE:
                previous = series.last_value
                if value != value:
                    continue  # NaN: no observation; the next good value takes its increase from the last
                series.last_value = value
                open_ms, acc, closed_ms = series.open_ms, series.acc, series.closed_ms
                if previous is not None:
                    increase = value - previous if value >= previous else value
                    spread = spreads.get(series.last_ms)
                    if spread is None:
                        spread = spreads[series.last_ms] = self._spread(series.last_ms, now)
                    for end, share in spread:
                        if end <= closed_ms:
                            continue  # flushed already
                        if end == open_ms:
                            acc += increase * share
                            continue
                        if open_ms is not None:
                            emit_tags(series.tags)
                            emit_ts(open_ms)
                            emit_value(acc * per_second)
                            closed_ms = open_ms
                        open_ms = end
                        acc = increase * share
                series.last_ms = now
                if open_ms is not None and open_ms <= now:
                    emit_tags(series.tags)
                    emit_ts(open_ms)
                    emit_value(acc * per_second)
                    closed_ms = open_ms
                    open_ms = None
                series.open_ms, series.acc, series.closed_ms = open_ms, acc, closed_ms
            elif series.kind == _GAUGE:
                self._observe_gauge(series, value, now, bucket, out)
        if present < known:
            self._forget_missing(now, out)

    def record_scrape(
        self, scrape_time_ms: int, *, up: bool, duration_s: float, samples: int
    ) -> list[Datapoint]:
        """Record an attempt as the gauges ``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped``."""
        out = PointColumns()
        bucket = -(-scrape_time_ms // self._step_ms) * self._step_ms
        values = (1.0 if up else 0.0, float(duration_s), float(samples))
        for series, value in zip(self._scrape_series, values, strict=True):
            if scrape_time_ms > series.seen_ms:
                series.seen_ms = scrape_time_ms
                self._observe_gauge(series, value, scrape_time_ms, bucket, out)
        return list(out)

    def flush(self, now_ms: int) -> list[Datapoint]:
        """Emit every pending bucket that ended at or before ``now_ms``."""
        out = PointColumns()
        for series in [*self._series.values(), *self._scrape_series]:
            self._close_through(series, now_ms, out)
        return list(out)

    def _new_series(self, sample_name: str, labels: Labels, types: Mapping[str, str]) -> _Series:
        kind, name, statistic = _describe(sample_name, labels, types)
        tags = dict(labels)
        tags.update(self._target_tags)
        tags["name"] = name
        tags["statistic"] = statistic
        return _Series(kind, tags)

    def _spread(self, start_ms: int, end_ms: int) -> _Spread:
        """Shares of the interval (start, end] falling in each bucket it overlaps, in time order."""
        step = self._step_ms
        length = end_ms - start_ms
        shares: _Spread = []
        bucket_end = (start_ms // step + 1) * step
        from_ms = start_ms
        while from_ms < end_ms:
            to_ms = min(bucket_end, end_ms)
            shares.append((bucket_end, (to_ms - from_ms) / length))
            from_ms = bucket_end
            bucket_end += step
        return shares

    def _observe_gauge(self, series: _Series, value: float, now: int, bucket: int, out: PointColumns) -> None:
        if bucket <= series.closed_ms:
            return  # flushed already
        if series.open_ms is not None and series.open_ms != bucket:
            out.add(series.tags, series.open_ms, series.acc)
            series.closed_ms = series.open_ms
        series.open_ms = bucket
        series.acc = value
        if bucket == now:  # the scrape sits on the boundary: nothing later can land in this bucket
            out.add(series.tags, bucket, value)
            series.closed_ms = bucket
            series.open_ms = None

    def _close_through(self, series: _Series, now: int, out: PointColumns) -> None:
        """Emit the open bucket if it ended at or before ``now``."""
        end = series.open_ms
        if end is None or end > now:
            return
        value = series.acc * self._per_second if series.kind == _RATE else series.acc
        out.add(series.tags, end, value)
        series.closed_ms = end
        series.open_ms = None

    def _forget_missing(self, now: int, out: PointColumns) -> None:
        """Series absent from the scrape at ``now``: emit what is complete, then forget them."""
        for key, series in list(self._series.items()):
            if series.seen_ms == now:
                continue
            self._close_through(series, now, out)
            if series.open_ms is None:
                del self._series[key]
            else:
                # Kept only until its bucket completes; if it returns meanwhile it starts afresh.
                series.last_value = None
