"""Synthetic SLO traffic for the SLO benchmarks, written to Watchfloor's store or as OpenMetrics.

Every SLO has two counters, counted per 1-minute step: ``total`` events (Poisson around
~100 a minute, with a daily cycle) and ``bad`` ones (a ~0.05 % baseline error ratio plus a
few outages of 5–30 minutes with 20–100 % errors). The same seed gives the same data.

Watchfloor gets them as Atlas-style rates: per SLO the series
``name=requests, slo=slo-007, statistic=count, outcome=bad|all``, each value the step's
count / 60 at the step's end (a value at ``T`` covers ``(T − 60 s, T]``). Prometheus gets
the cumulative counters ``requests_total{slo="slo-007",outcome="bad"|"all"}`` sampled at
the same instants, for ``promtool tsdb create-blocks-from openmetrics``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from store.duckdb_store import DuckDBStore

__all__ = [
    "Counts",
    "SloData",
    "generate",
    "openmetrics_lines",
    "slo_name",
    "write_openmetrics",
    "write_to_store",
]

Counts = npt.NDArray[np.float64]

STEP_MS = 60_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z: fixed, so runs are comparable
MINUTES_PER_DAY = 1_440
BASE_PER_MINUTE = 100.0
DAILY_SWING = 0.5  # traffic between 50 % and 150 % of the SLO's mean over a day
BASELINE_ERROR_RATIO = 0.0005
OUTAGE_MINUTES = (5, 30)
OUTAGE_ERROR_RATIO = (0.2, 1.0)
OUTAGES_PER_DAY = 0.1
_WRITE_CHUNK_POINTS = 500_000  # per write_point_columns call: bounds the Python lists built for it


@dataclass(frozen=True, slots=True)
class SloData:
    """Per-step event counts: row ``i`` of ``total``/``bad`` is SLO ``i`` (see :func:`slo_name`).

    Column ``k`` counts the events of ``(start_ms + k·step_ms, start_ms + (k+1)·step_ms]``.
    """

    start_ms: int
    step_ms: int
    total: Counts
    bad: Counts

    @property
    def slos(self) -> int:
        return int(self.total.shape[0])

    @property
    def steps(self) -> int:
        return int(self.total.shape[1])

    @property
    def end_ms(self) -> int:
        """The instant of the last step's value."""
        return self.start_ms + self.steps * self.step_ms

    def step_ends_ms(self) -> npt.NDArray[np.int64]:
        """Each step's end, where its value is stamped."""
        return self.start_ms + self.step_ms * np.arange(1, self.steps + 1, dtype=np.int64)


def slo_name(index: int) -> str:
    return f"slo-{index:03d}"


def generate(slos: int = 100, days: int = 30, *, seed: int = 7, start_ms: int = START_MS) -> SloData:
    """Counts for ``slos`` SLOs over ``days`` days of 1-minute steps."""
    rng = np.random.default_rng(seed)
    steps = days * MINUTES_PER_DAY
    minutes = np.arange(steps, dtype=np.float64)
    # Each SLO its own size and its own hour of peak traffic.
    scale = rng.uniform(0.5, 1.5, size=(slos, 1)) * BASE_PER_MINUTE
    phase = rng.uniform(0.0, 1.0, size=(slos, 1))
    cycle = 1.0 + DAILY_SWING * np.sin(2 * np.pi * (minutes / MINUTES_PER_DAY + phase))
    total = rng.poisson(scale * cycle).astype(np.float64)
    bad = rng.binomial(total.astype(np.int64), BASELINE_ERROR_RATIO).astype(np.float64)
    for row in range(slos):
        _add_outages(rng, total[row], bad[row], days)
    return SloData(start_ms=start_ms, step_ms=STEP_MS, total=total, bad=bad)


def _add_outages(rng: np.random.Generator, total: Counts, bad: Counts, days: int) -> None:
    """Overwrite ``bad`` with bursts of errors; at least one per SLO so every run has some."""
    for _ in range(1 + rng.poisson(OUTAGES_PER_DAY * days)):
        length = int(rng.integers(OUTAGE_MINUTES[0], OUTAGE_MINUTES[1] + 1))
        begin = int(rng.integers(0, total.size - length + 1))
        ratio = rng.uniform(*OUTAGE_ERROR_RATIO)
        burst = slice(begin, begin + length)
        bad[burst] = np.maximum(bad[burst], rng.binomial(total[burst].astype(np.int64), ratio))


def _series_tags(data: SloData) -> list[tuple[dict[str, str], Counts]]:
    """Watchfloor's tags for each series, with its counts; ``all`` holds the totals."""
    pairs = []
    for row in range(data.slos):
        for outcome, counts in (("bad", data.bad[row]), ("all", data.total[row])):
            tags = {"name": "requests", "slo": slo_name(row), "statistic": "count", "outcome": outcome}
            pairs.append((tags, counts))
    return pairs


def write_to_store(store: DuckDBStore, data: SloData) -> int:
    """Write every series as per-second rates at step ends; answers the number of points written.

    Steps go in chunks, every series per chunk, so each call appends one Arrow batch of a
    few hundred thousand points.
    """
    series = _series_tags(data)
    chunk = max(1, _WRITE_CHUNK_POINTS // len(series))
    ends = data.step_ends_ms()
    written = 0
    for first in range(0, data.steps, chunk):
        stamps = ends[first : first + chunk].tolist()
        tags: list[dict[str, str]] = []
        timestamps: list[int] = []
        values: list[float] = []
        for series_tags, counts in series:
            # One tags object per series, repeated: the store recognises it by identity.
            tags += [series_tags] * len(stamps)
            timestamps += stamps
            values += (counts[first : first + chunk] / (data.step_ms / 1000)).tolist()
        written += store.write_point_columns(tags, timestamps, values)
    return written


def openmetrics_lines(data: SloData) -> Iterator[str]:
    """The counters as OpenMetrics text, a few thousand lines per string, ``# EOF`` last.

    One family, one series after another, each in time order: promtool appends every
    sample in file order and refuses one older than its series' previous sample.
    Values are cumulative event counts, timestamps whole seconds.
    """
    yield "# HELP requests Requests served, by SLO and outcome.\n# TYPE requests counter\n"
    stamps = [f" {t // 1000}\n" for t in data.step_ends_ms().tolist()]
    lines_per_piece = 4_096
    for row in range(data.slos):
        for outcome, counts in (("bad", data.bad[row]), ("all", data.total[row])):
            prefix = f'requests_total{{slo="{slo_name(row)}",outcome="{outcome}"}} '
            # Counts are whole numbers: integers print shorter and exactly.
            cumulative = np.cumsum(counts).astype(np.int64).tolist()
            for first in range(0, len(cumulative), lines_per_piece):
                piece = zip(
                    cumulative[first : first + lines_per_piece],
                    stamps[first : first + lines_per_piece],
                    strict=True,
                )
                yield "".join([f"{prefix}{value}{stamp}" for value, stamp in piece])
    yield "# EOF\n"


def write_openmetrics(data: SloData, path: Path) -> int:
    """Stream :func:`openmetrics_lines` to ``path``; answers the bytes written."""
    with path.open("w", encoding="utf-8") as out:
        return sum(out.write(piece) for piece in openmetrics_lines(data))
