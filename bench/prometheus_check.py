"""Self-check of the Prometheus yardstick: its SLO answers against the generated counts.

``python -m bench.prometheus_check [--slos 10] [--days 2]`` backfills a small data set,
times the queries of :mod:`bench.prometheus_tsdb` and compares the answers with the data:
the period ratio of every SLO (within the first-step bound the module doc explains), the
last hour's ratio and the burn-down of SLO 0 (exact).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.prometheus_tsdb import (
    DATA_STEP_S,
    backfill,
    batched_queries,
    burn_down_step_s,
    per_slo_queries,
    run_query,
    running_prometheus,
    seconds_of,
    time_prometheus_slo_queries,
)
from bench.slo_data import Counts, SloData, generate, slo_name, write_openmetrics

__all__ = ["check_against_data"]


def _compare(label: str, result: list[Any], expected: float, tolerance: float) -> None:
    """Print a ratio beside the data's; raises RuntimeError if further apart than ``tolerance``."""
    got = float(result[0]["value"][1])
    difference = got / expected - 1
    print(f"  {label:<14} prometheus {got:.9f}  data {expected:.9f}  relative difference {difference:+.1e}")
    if abs(difference) > tolerance:
        raise RuntimeError(f"{label}: relative difference {difference:.1e} beyond {tolerance:.1e}")


def _first_step_error(counts: Counts) -> float:
    """How far off ``increase`` over all the data can be, relative (see the module doc).

    The first step's events are missing and the gap is filled at no more than the mean rate.
    """
    return float((counts[0] + counts.mean()) / counts.sum())


def _compare_burn_down(result: list[Any], bad: Counts, start_s: int, step_s: int) -> None:
    """Each point's bad events against the data's in the same ``(t − step, t]``.

    Raises RuntimeError if any point but the first (extrapolated, as above) differs.
    """
    times = np.array([t for t, _ in result[0]["values"]], dtype=np.int64)
    got = np.array([float(v) for _, v in result[0]["values"]])
    cumulative = np.concatenate(([0.0], np.cumsum(bad)))
    ends = (times - start_s) // DATA_STEP_S
    difference = np.abs(got - (cumulative[ends] - cumulative[ends - step_s // DATA_STEP_S]))
    print(
        f"  burn-down      {times.size} points of {step_s} s from +{times[0] - start_s} s: the first "
        f"off by {difference[0]:.3f} bad events, the others by at most {difference[1:].max():.3f}"
    )
    if difference[1:].max() > 1e-6:
        raise RuntimeError("burn-down: bad events per step differ from the data's")


def check_against_data(base_url: str, data: SloData, period: str) -> None:
    """Compare Prometheus's figures with the generated counts' (see the module doc).

    The period ratio of every SLO, then for SLO 0 the last hour's ratio and the burn-down.
    """
    period_s, end_s, start_s = seconds_of(period), data.end_ms // 1000, data.start_ms // 1000
    step_s = burn_down_step_s(period_s)
    bad, total = data.bad[0], data.total[0]
    with httpx.Client(base_url=base_url, timeout=600.0) as client:
        all_periods = run_query(client, batched_queries(data.slos, (), period, step_s)[0], end_s, period_s)
        queries = per_slo_queries(slo_name(0), ("1h",), period, step_s)
        _, hour_ratio, burn_down = (run_query(client, q, end_s, period_s) for q in queries)
    _compare_periods(all_periods, data)
    _compare("1h ratio", hour_ratio, bad[-60:].sum() / total[-60:].sum(), 1e-12)
    _compare_burn_down(burn_down, bad, start_s, step_s)


def _compare_periods(result: list[Any], data: SloData) -> None:
    """Every SLO's period ratio against its data's, each within its first-step bound."""
    rows = [int(series["metric"]["slo"].removeprefix("slo-")) for series in result]
    got = np.array([float(series["value"][1]) for series in result])
    expected = data.bad[rows].sum(axis=1) / data.total[rows].sum(axis=1)
    bounds = np.array([_first_step_error(data.bad[r]) + _first_step_error(data.total[r]) for r in rows])
    difference = np.abs(got / expected - 1)
    worst = int(difference.argmax())
    print(
        f"  period ratio   {len(rows)} SLOs: relative difference median {np.median(difference):.1e}, "
        f"largest {difference[worst]:.1e} ({slo_name(rows[worst])}, bound {bounds[worst]:.1e})"
    )
    if (difference > bounds).any():
        raise RuntimeError("period ratio: some SLO's differs from its data's beyond the bound")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10, help="SLOs (default 10)")
    parser.add_argument("--days", type=int, default=2, help="days of 1-minute steps, also the period")
    options = parser.parse_args(argv)
    data = generate(options.slos, options.days)
    period, end_s = f"{options.days}d", data.end_ms // 1000
    with tempfile.TemporaryDirectory(prefix="prometheus-bench-") as directory:
        source, tsdb = Path(directory) / "slo.om", Path(directory) / "tsdb"
        began = time.perf_counter()
        size = write_openmetrics(data, source)
        print(f"prometheus: wrote {size / 1e6:,.0f} MB of OpenMetrics in {time.perf_counter() - began:.1f} s")
        print(f"  backfill {backfill(source, tsdb):.1f} s", flush=True)
        with running_prometheus(tsdb) as base_url:
            names = [slo_name(i) for i in range(options.slos)]
            timings = time_prometheus_slo_queries(base_url, names, end_s, period=period)
            for label, figures in (("per SLO", timings.per_slo), ("batched", timings.batched)):
                kinds = "  ".join(f"{kind} {s:.3f} s" for kind, s in figures.seconds.items())
                print(f"  {label:<8} {figures.queries:>5} queries {figures.total_s:7.3f} s  ({kinds})")
            check_against_data(base_url, data, period)


if __name__ == "__main__":
    main()
