"""SLO status of 100 SLOs over 30 days of 1-minute data: Watchfloor beside Prometheus.

The data (:mod:`bench.slo_data`): per SLO, total and bad events every minute. Watchfloor
reads them from a DuckDB file through the stack language; every SLO is a 30-day rolling
Occurrences SLO with a bad/total ratio SLI. One *status* is everything the API shows:
SLI, budget total/spent/remaining, the burn-down at every minute of the window, time to
exhaustion and both burn rates of the four default tiers (5m, 30m, 1h, 2h, 6h, 1d, 3d).

Timed, best of 3 where repeatable:

- **cold**: a fresh engine, so the 30 days are read (one store read for all SLOs);
- **cold, one SLO at a time**: the same without batching (:meth:`SLOEngine.status` per SLO);
- **warm**: a minute later, with that minute written: what the server's refresh loop and
  every API call pay (the tail read, then the status from the kept arrays).

Prometheus (when ``/usr/bin/prometheus`` is installed) answers the equivalent PromQL over
the same counters backfilled with promtool (:mod:`bench.prometheus_tsdb`): the period ratio,
each burn-rate window and the burn-down (at 4 minutes: Prometheus refuses finer over 30 days),
per SLO and batched with ``sum by (slo)``. The ratio printed is Prometheus's time over
Watchfloor's. A correctness line compares Watchfloor's period ratio with the data's.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.prometheus_tsdb import (
    PROMETHEUS,
    PROMTOOL,
    backfill,
    running_prometheus,
    time_prometheus_slo_queries,
)
from bench.slo_data import STEP_MS, SloData, generate, slo_name, write_openmetrics, write_to_store
from slo.engine import SLOEngine
from slo.model import SLO
from slo.openslo import load_catalog
from store.duckdb_store import DuckDBStore


def definitions(count: int, days: int) -> list[SLO]:
    """One OpenSLO text with ``count`` SLOs, loaded as the server loads them."""
    docs = []
    for i in range(count):
        mine = f"name,requests,:eq,slo,{slo_name(i)},:eq,:and"
        docs.append(
            f"""apiVersion: openslo/v1
kind: SLO
metadata: {{name: {slo_name(i)}}}
spec:
  service: bench
  indicator:
    metadata: {{name: {slo_name(i)}-sli}}
    spec:
      ratioMetric:
        bad: {{metricSource: {{type: atlas, spec: {{query: "{mine},outcome,bad,:eq,:and,:sum"}}}}}}
        total: {{metricSource: {{type: atlas, spec: {{query: "{mine},outcome,all,:eq,:and,:sum"}}}}}}
  timeWindow: [{{duration: {days}d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.999}}]
"""
        )
    return list(load_catalog("---\n".join(docs)).slos)


def _timed(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def _write_minute(store: DuckDBStore, data: SloData, at_ms: int) -> None:
    """One more minute for every SLO at the data's mean rates (as the scraper would add it)."""
    tags, values = [], []
    for i in range(data.slos):
        for outcome, counts in (("bad", data.bad[i]), ("all", data.total[i])):
            tags.append({"name": "requests", "slo": slo_name(i), "statistic": "count", "outcome": outcome})
            values.append(float(counts.mean()) / 60)
    store.write_point_columns(tags, [at_ms] * len(tags), values)


def watchfloor(store: DuckDBStore, data: SloData, days: int) -> tuple[float, float]:
    """Print Watchfloor's timings; answers the (warm, cold) seconds."""
    slos = definitions(data.slos, days)
    end = data.end_ms
    cold = min(
        _timed(lambda: SLOEngine(store, base_step_ms=STEP_MS).statuses(slos, lambda _: None, end))
        for _ in range(3)
    )
    single = SLOEngine(store, base_step_ms=STEP_MS)
    one_by_one = _timed(lambda: [single.status(s, lambda _: None, end) for s in slos])
    engine = SLOEngine(store, base_step_ms=STEP_MS)
    statuses = engine.statuses(slos, lambda _: None, end)
    warm = []
    for minute in range(1, 4):
        now = end + minute * STEP_MS
        _write_minute(store, data, now)
        began = time.perf_counter()
        engine.statuses(slos, lambda _: None, now)
        warm.append(time.perf_counter() - began)
    print(f"  watchfloor cold            {cold:7.3f} s  ({data.slos} SLOs, one store read for all)")
    print(f"  watchfloor cold, one by one{one_by_one:7.3f} s  (a read per query: {2 * data.slos} reads)")
    print(f"  watchfloor warm            {min(warm):7.3f} s  (a minute later: tail read + all statuses)")
    first = statuses[0]
    assert not isinstance(first, Exception)
    expected = data.bad[0].sum() / data.total[0].sum()
    got = 1 - first.objectives[0].report.sli
    difference = got - expected
    print(f"  check: {slo_name(0)} error ratio {got:.9f}, data {expected:.9f} (difference {difference:+.1e})")
    steps = first.objectives[0].report.burn_down.size
    print(f"  each status: {steps:,}-point burn-down, 4 tiers × 2 windows, budget, time to exhaustion")
    return min(warm), cold


def prometheus(data: SloData, days: int, directory: Path) -> tuple[float, float] | None:
    """Print Prometheus's timings; answers (per SLO, batched) seconds, or None without Prometheus."""
    if not (shutil.which(PROMETHEUS) and shutil.which(PROMTOOL)):
        print("  prometheus: not installed (apt-get install prometheus); no comparison")
        return None
    source, tsdb = directory / "slo.om", directory / "tsdb"
    write_openmetrics(data, source)
    print(
        f"  prometheus backfill {backfill(source, tsdb):.1f} s (promtool tsdb create-blocks-from openmetrics)"
    )
    with running_prometheus(tsdb) as base_url:
        names = [slo_name(i) for i in range(data.slos)]
        timings = time_prometheus_slo_queries(base_url, names, data.end_ms // 1000, period=f"{days}d")
    for label, figures in (("per SLO", timings.per_slo), ("batched", timings.batched)):
        kinds = "  ".join(f"{kind} {s:.3f} s" for kind, s in figures.seconds.items())
        print(f"  prometheus {label:<8}{figures.total_s:8.3f} s  {figures.queries:>4} queries ({kinds})")
    return timings.per_slo.total_s, timings.batched.total_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=100, help="SLOs (default 100)")
    parser.add_argument(
        "--days", type=int, default=30, help="days of 1-minute data and the SLO period (default 30)"
    )
    options = parser.parse_args(argv)
    data = generate(options.slos, options.days)
    with tempfile.TemporaryDirectory(prefix="slo-bench-") as directory:
        store = DuckDBStore(Path(directory) / "slo.duckdb")
        began = time.perf_counter()
        points = write_to_store(store, data)
        print(
            f"slo: {options.slos} SLOs × {options.days} days of 1-minute data ({points:,} points written "
            f"in {time.perf_counter() - began:.1f} s)",
            flush=True,
        )
        warm, cold = watchfloor(store, data, options.days)
        store.close()
        found = prometheus(data, options.days, Path(directory))
    if found is not None:
        per_slo, batched = found
        print(
            f"  ratio prometheus / watchfloor warm: batched {batched / warm:.1f}×, "
            f"per SLO {per_slo / warm:.1f}×; / watchfloor cold: batched {batched / cold:.1f}×"
        )


if __name__ == "__main__":
    main()
