"""SLO status of 100 SLOs over 30 days, three ways: the embedded store, raw PromQL, recording rules.

The same synthetic traffic (:mod:`bench.slo_data`), placed to end when the run starts:
Prometheus evaluates rules at the wall clock's time only, and refuses to record anything
older than its newest block (so the data cannot run ahead of the clock either). Every path
is then evaluated at the same later minute, the last minutes without data for all three:

- **embedded**: :meth:`SLOEngine.statuses` over the DuckDB store (Atlas sources), cold (a
  fresh engine) and warm (a minute later, from the kept arrays), as ``bench.bench_slo``;
- **prometheus raw**: the same engine over :class:`PrometheusSeriesReader`, every SLO's
  sources Sloth templates (``sum(rate(requests_total{slo=…,outcome=…}[{{.window}}]))``)
  over the counters backfilled with promtool. PromQL is not batched: a ``query_range`` per
  source and range. The minute arrays cover the longest tier (3 d) and the budget comes
  from hourly counts, because Prometheus answers at most 11,000 points per series;
- **prometheus rules**: the rules :func:`slo.prometheus_rules.export_rules` writes for those
  SLOs, loaded into that Prometheus (evaluated every 30 s), read by
  :meth:`RecordedRules.statuses`: one instant query (cold: plus the rule list).

Printed: the seconds of each, their ratio to the embedded store's, and a correctness line
with a few SLOs' budget remaining from each path at (nearly) the same instant.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import yaml

from bench.bench_slo import definitions
from bench.prometheus_tsdb import PROMETHEUS, PROMTOOL, backfill, running_prometheus
from bench.slo_data import STEP_MS, generate, slo_name, write_openmetrics, write_to_store
from slo.durations import rolling_timedelta
from slo.engine import SLOEngine
from slo.model import SLO
from slo.openslo import load_catalog
from slo.prometheus_rules import export_rules
from slo.recorded_status import RecordedRules
from slo.status import SLOStatus
from store.backends.prometheus_http import PrometheusHTTP
from store.backends.prometheus_series import PrometheusSeriesReader
from store.duckdb_store import DuckDBStore

_DAY_MS = 86_400_000
# Minute arrays over 7 days at most (10,080 points, under Prometheus's 11,000); longer goes hourly.
_PROMETHEUS_MINUTES_MS = 7 * _DAY_MS
_CHECKED = 3  # SLOs on the correctness line


def promql_definitions(count: int, days: int) -> list[SLO]:
    """The benchmark's SLOs with Sloth-template PromQL sources over the backfilled counters."""
    docs = []
    for i in range(count):
        name = slo_name(i)
        source = 'sum(rate(requests_total{{slo="{}",outcome="{}"}}[{{{{.window}}}}]))'
        docs.append(
            f"""apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: bench
  indicator:
    metadata: {{name: {name}-sli}}
    spec:
      ratioMetric:
        bad: {{metricSource: {{type: prometheus, spec: {{query: '{source.format(name, "bad")}'}}}}}}
        total: {{metricSource: {{type: prometheus, spec: {{query: '{source.format(name, "all")}'}}}}}}
  timeWindow: [{{duration: {days}d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.999}}]
"""
        )
    return list(load_catalog("---\n".join(docs)).slos)


def rules_file(slos: Sequence[SLO]) -> str:
    groups = [group for slo in slos for group in yaml.safe_load(export_rules(slo))["groups"]]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=1 << 20)


def _timed(run: Callable[[], object], repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best


def _period_ms(slo: SLO) -> int:
    return rolling_timedelta(slo.time_window.duration) // timedelta(milliseconds=1)


def _minute(now_ms: int) -> int:
    return now_ms // STEP_MS * STEP_MS


def _remaining(found: Sequence[object] | dict[str, SLOStatus]) -> list[float]:
    statuses = list(found.values()) if isinstance(found, dict) else list(found)
    return [s.budget_remaining if isinstance(s, SLOStatus) else float("nan") for s in statuses[:_CHECKED]]


def _line(label: str, seconds: float, base: float, note: str) -> None:
    print(f"  {label:<28}{seconds:8.3f} s  {seconds / base:7.2f}× embedded  ({note})", flush=True)


def embedded(store: DuckDBStore, slos: list[SLO], now_ms: int, repeats: int) -> tuple[float, float]:
    """(cold, warm) seconds of every status over the DuckDB store at ``now_ms``."""
    cold = _timed(
        lambda: SLOEngine(store, base_step_ms=STEP_MS).statuses(slos, lambda _: None, now_ms), repeats
    )
    engine = SLOEngine(store, base_step_ms=STEP_MS)
    engine.statuses(slos, lambda _: None, now_ms)
    return cold, _warm(engine, slos, now_ms)


def _warm(engine: SLOEngine, slos: list[SLO], now_ms: int) -> float:
    """The best of three evaluations a minute apart after ``now_ms`` (tail reads; no new data)."""
    best = float("inf")
    for minute in range(1, 4):
        began = time.perf_counter()
        engine.statuses(slos, lambda _: None, now_ms + minute * STEP_MS)
        best = min(best, time.perf_counter() - began)
    return best


def _evaluated(rules: RecordedRules, slos: list[SLO], timeout_s: float = 300.0) -> float:
    """Wait until every SLO has recorded figures; answers the seconds waited."""
    began = time.perf_counter()
    while True:
        found = rules.statuses(slos)
        waited = time.perf_counter() - began
        if len(found) == len(slos) and not any(math.isnan(s.budget_remaining) for s in found.values()):
            return waited
        if waited > timeout_s:  # each group first runs within one interval (30 s) of the start
            raise RuntimeError(f"{len(found)} of {len(slos)} SLOs recorded after {timeout_s:.0f} s")
        rules.refresh()
        time.sleep(2)


def prometheus(
    tsdb: Path, store: DuckDBStore, atlas: list[SLO], slos: list[SLO], base: tuple[float, float]
) -> None:
    """Time the raw and rule paths against a Prometheus on ``tsdb``, then the correctness line."""
    with running_prometheus(tsdb, rules=rules_file(slos)) as url:
        client = PrometheusHTTP(url, timeout_s=600.0)
        rules = RecordedRules(client)
        print(f"  prometheus up, every SLO's rules evaluated after {_evaluated(rules, slos):.0f} s")
        now = _minute(int(time.time() * 1000))
        reader = PrometheusSeriesReader(client, base_step_ms=STEP_MS, scrape_interval_ms=STEP_MS)

        def fresh() -> SLOEngine:
            return SLOEngine(reader, base_step_ms=STEP_MS, minute_retention_ms=_PROMETHEUS_MINUTES_MS)

        raw_cold = _timed(lambda: fresh().statuses(slos, lambda _: None, now))
        engine = fresh()
        raw = engine.statuses(slos, lambda _: None, now)
        raw_warm = _warm(engine, slos, now)
        rules_cold = _timed(lambda: RecordedRules(client).statuses(slos))
        rules_warm = _timed(lambda: rules.statuses(slos), 3)
        recorded = rules.statuses(slos)
        client.close()
    cold, warm = base
    sources = 2 * len(slos)
    hourly = _period_ms(slos[0]) > _PROMETHEUS_MINUTES_MS
    spans = "minutes over the tiers, hours over the period" if hourly else "minutes over the period"
    _line("prometheus raw, cold", raw_cold, cold, f"{sources}+ query_range: {spans}")
    _line("prometheus raw, warm", raw_warm, warm, "a minute later: tail query_range per source")
    _line("prometheus rules, cold", rules_cold, cold, "the rule list, then one instant query")
    _line("prometheus rules, warm", rules_warm, warm, "one instant query, the rule list cached")
    checked = _remaining(SLOEngine(store, base_step_ms=STEP_MS).statuses(atlas, lambda _: None, now))
    names = ", ".join(slo_name(i) for i in range(_CHECKED))
    print(f"  check: budget remaining of {names} at the same minute (rules: their last evaluation)")
    for label, values in (
        ("embedded", checked),
        ("prometheus raw", _remaining(raw)),
        ("rules", _remaining(recorded)),
    ):
        print(f"    {label:<15}" + "  ".join(f"{v:+.6f}" for v in values))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=100, help="SLOs (default 100)")
    parser.add_argument("--days", type=int, default=30, help="days of data and the SLO period (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="best of, for the cold embedded run")
    options = parser.parse_args(argv)
    missing = [path for path in (PROMETHEUS, PROMTOOL) if not shutil.which(path)]
    if missing:
        print(f"slo-backends: skipped, {' and '.join(missing)} not installed (apt-get install prometheus)")
        return
    end = _minute(int(time.time() * 1000))
    data = generate(options.slos, options.days, start_ms=end - options.days * _DAY_MS)
    with tempfile.TemporaryDirectory(prefix="slo-backends-") as directory:
        store = DuckDBStore(Path(directory) / "slo.duckdb")
        points = write_to_store(store, data)
        print(
            f"slo-backends: {options.slos} SLOs × {options.days} days of 1-minute data "
            f"({points:,} points), status of every SLO",
            flush=True,
        )
        atlas = definitions(options.slos, options.days)
        cold, warm = embedded(store, atlas, data.end_ms, options.repeats)
        print(f"  {'embedded (DuckDB), cold':<28}{cold:8.3f} s  (one store read for all)")
        print(f"  {'embedded (DuckDB), warm':<28}{warm:8.3f} s  (a minute later: tail read + statuses)")
        source, tsdb = Path(directory) / "slo.om", Path(directory) / "tsdb"
        write_openmetrics(data, source)
        print(f"  promtool backfill {backfill(source, tsdb):.1f} s", flush=True)
        prometheus(tsdb, store, atlas, promql_definitions(options.slos, options.days), (cold, warm))
        store.close()


if __name__ == "__main__":
    main()
