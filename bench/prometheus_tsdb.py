"""Prometheus as the yardstick for SLO queries: backfill a TSDB, run a server on it, time PromQL.

The SLO figures Watchfloor computes (period error ratio, burn rates over several windows, a
burn-down over the period) are asked of Prometheus 2.42 (``/usr/bin/prometheus``,
``/usr/bin/promtool``) over the same data (:mod:`bench.slo_data`):

- the error ratio over a window ``W`` is
  ``sum(increase(requests_total{slo="X",outcome="bad"}[W])) / sum(increase(…outcome="all"…[W]))``,
  one instant query for the period and one per burn-rate window;
- the burn-down is one ``query_range`` of the bad events per step,
  ``sum(increase(requests_total{slo="X",outcome="bad"}[S]))`` at step ``S``, cumulated by the
  caller. Prometheus answers at most 11,000 points per series, so ``S`` is the smallest whole
  minute that fits: 4 minutes for 30 days, coarser than Watchfloor's 1-minute burn-down.

Each is timed once per SLO, and once for all SLOs with ``sum by (slo)`` (how an operator
would ask). ``python -m bench.prometheus_check`` is a self-check on a small data set: it
backfills, queries and compares Prometheus's answers with the generated counts.

Timings are wall seconds per HTTP round trip, decoding the JSON answer included (about
0.5 s of the batched burn-down's 1.4 s at 100 SLOs × 30 days: 18 MB of JSON).

How close the answers are: Prometheus 2.x range selectors include their start instant, so a
window ending on a sample spans whole steps and ``increase`` is exact: the burn-rate ratios
and every burn-down point but the first equal the data's. Only windows reaching back to the
data's start differ: their first sample is the first step's end (there is no zero sample
before it), so that step's events are missing and ``increase`` extrapolates the gap, either
at the window's mean rate or back to where the counter would have been zero. The period
ratio matches to rounding for most SLOs; at 30 days it is off by up to 4e-4 where the
first minute held a bad event (one of ~2,400 for that SLO).
"""

from __future__ import annotations

import math
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.loopback import free_port

__all__ = [
    "PrometheusQueryError",
    "QueryTimings",
    "SloQueryTimings",
    "backfill",
    "batched_queries",
    "burn_down_step_s",
    "per_slo_queries",
    "run_query",
    "running_prometheus",
    "seconds_of",
    "time_prometheus_slo_queries",
]

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
MAX_POINTS_PER_SERIES = 11_000  # Prometheus refuses range queries with more points than this
DATA_STEP_S = 60
# promtool rounds this down to one of the TSDB's block ranges (2 h × 3ⁿ, at most 39,366 h)
# and re-reads the whole input once per block: the biggest range makes a month one or two blocks.
BACKFILL_MAX_BLOCK = "100000h"
# Enough for the batched period query: 2 series per SLO × 43,200 samples in 30 days, with room.
MAX_SAMPLES = 200_000_000
_UNITS_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


class PrometheusQueryError(RuntimeError):
    """Prometheus did not answer a query as expected (error status or wrong number of series)."""


@dataclass(slots=True)
class QueryTimings:
    """Wall seconds of HTTP round trips, JSON decoding included, by kind of query.

    The kinds are "period", "windows" (all burn-rate windows) and "burn-down".
    """

    seconds: dict[str, float] = field(default_factory=dict)
    queries: int = 0

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())


@dataclass(frozen=True, slots=True)
class SloQueryTimings:
    """One SLO at a time (9 queries per SLO by default), and all SLOs in each query."""

    per_slo: QueryTimings
    batched: QueryTimings


@dataclass(frozen=True, slots=True)
class _Query:
    kind: str
    promql: str
    series: int  # expected in the answer
    range_step_s: int | None = None  # None: an instant query


def seconds_of(duration: str) -> int:
    """Seconds in a one-unit Prometheus duration such as ``30d`` or ``5m``."""
    match = re.fullmatch(r"(\d+)([smhdw])", duration)
    if match is None:
        raise ValueError(f"expected a duration such as 5m or 30d, got {duration!r}")
    return int(match[1]) * _UNITS_S[match[2]]


def burn_down_step_s(period_s: int) -> int:
    """The smallest whole-minute step whose range query over the period Prometheus accepts.

    The query starts one step into the period, so it has ``period / step`` points.
    """
    minutes = math.ceil(period_s / (MAX_POINTS_PER_SERIES + 1) / DATA_STEP_S)
    return max(1, minutes) * DATA_STEP_S


def backfill(openmetrics_path: Path, tsdb_dir: Path) -> float:
    """Turn an OpenMetrics file into TSDB blocks in ``tsdb_dir``; answers the seconds it took.

    Raises :class:`subprocess.CalledProcessError` (with promtool's output) if promtool fails.
    """
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    command = [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "--quiet"]
    command += [f"--max-block-duration={BACKFILL_MAX_BLOCK}", str(openmetrics_path), str(tsdb_dir)]
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - began


@contextmanager
def running_prometheus(
    tsdb_dir: Path, *, ready_timeout_s: float = 120.0, rules: str | None = None
) -> Iterator[str]:
    """Run Prometheus on ``tsdb_dir`` on a free loopback port; yields its base URL.

    Blocks must be in ``tsdb_dir`` before this starts: Prometheus loads blocks on start
    only. ``rules`` (a rules file's YAML) are evaluated every 30 s from the start on, at the
    wall clock's time. It is stopped with SIGTERM (SIGKILL after 30 s) on leaving the block.
    """
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="prometheus-") as scratch:
        config = Path(scratch) / "prometheus.yml"
        config.write_text("scrape_configs: []\n")
        if rules is not None:
            (Path(scratch) / "rules.yml").write_text(rules)
            config.write_text(f"global: {{evaluation_interval: 30s}}\nrule_files: [{scratch}/rules.yml]\n")
        log_path = Path(scratch) / "prometheus.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                _prometheus_command(config, tsdb_dir, port), stdout=log, stderr=subprocess.STDOUT
            )
            try:
                base_url = f"http://127.0.0.1:{port}"
                _wait_ready(process, base_url, ready_timeout_s, log_path)
                yield base_url
            finally:
                _stop(process)


def _prometheus_command(config: Path, tsdb_dir: Path, port: int) -> list[str]:
    return [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb_dir}",
        # Time retention counts back from the newest block, but a month-old data set should
        # never be at its mercy.
        "--storage.tsdb.retention.time=100y",
        # Equal min and max block durations turn compaction off: no merging of the
        # backfilled blocks in the background while queries are timed.
        "--storage.tsdb.min-block-duration=2h",
        "--storage.tsdb.max-block-duration=2h",
        f"--query.max-samples={MAX_SAMPLES}",
        "--query.timeout=10m",
        f"--web.listen-address=127.0.0.1:{port}",
    ]


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(f"{base_url}/-/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"prometheus not ready after {timeout_s:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _increase(matchers: str, outcome: str, window: str, by: str) -> str:
    return f'{by}(increase(requests_total{{{matchers}outcome="{outcome}"}}[{window}]))'


def _ratio(matchers: str, window: str, by: str) -> str:
    return f"{_increase(matchers, 'bad', window, by)} / {_increase(matchers, 'all', window, by)}"


def _plan(
    matchers: str, by: str, series: int, windows: Sequence[str], period: str, step_s: int
) -> list[_Query]:
    """The queries for one SLO (``matchers`` selects it) or all (``by`` groups by SLO)."""
    queries = [_Query("period", _ratio(matchers, period, by), series)]
    queries += [_Query("windows", _ratio(matchers, window, by), series) for window in windows]
    burn = _increase(matchers, "bad", f"{step_s}s", by)
    queries.append(_Query("burn-down", burn, series, range_step_s=step_s))
    return queries


def per_slo_queries(slo: str, windows: Sequence[str], period: str, step_s: int) -> list[_Query]:
    return _plan(f'slo="{slo}",', "sum", 1, windows, period, step_s)


def batched_queries(slos: int, windows: Sequence[str], period: str, step_s: int) -> list[_Query]:
    return _plan("", "sum by (slo) ", slos, windows, period, step_s)


def run_query(client: httpx.Client, query: _Query, end_s: int, period_s: int) -> list[Any]:
    """The ``result`` list of ``query`` at ``end_s`` (a range query covers the period before it).

    Raises :class:`PrometheusQueryError` unless Prometheus answers success with the expected
    number of series.
    """
    if query.range_step_s is None:
        path, params = "/api/v1/query", {"query": query.promql, "time": str(end_s)}
    else:
        # The first point's window starts at the period's start; points tile it step by step.
        start = end_s - period_s + query.range_step_s
        params = {"query": query.promql, "start": str(start), "end": str(end_s)}
        path, params["step"] = "/api/v1/query_range", str(query.range_step_s)
    try:
        answer = client.get(path, params=params).json()
    except (httpx.HTTPError, ValueError) as error:
        raise PrometheusQueryError(f"{query.promql}: {error}") from error
    if answer.get("status") != "success":
        raise PrometheusQueryError(f"{query.promql}: {answer.get('error', answer)}")
    result: list[Any] = answer["data"]["result"]
    if len(result) != query.series:
        raise PrometheusQueryError(f"{query.promql}: {len(result)} series, expected {query.series}")
    return result


def _timed(client: httpx.Client, queries: Sequence[_Query], end_s: int, period_s: int) -> QueryTimings:
    timings = QueryTimings()
    for query in queries:
        began = time.perf_counter()
        run_query(client, query, end_s, period_s)
        elapsed = time.perf_counter() - began
        timings.seconds[query.kind] = timings.seconds.get(query.kind, 0.0) + elapsed
        timings.queries += 1
    return timings


def time_prometheus_slo_queries(
    base_url: str,
    slo_names: Sequence[str],
    end_s: int,
    windows: Sequence[str] = WINDOWS,
    period: str = "30d",
    burn_down_step: str | None = None,
    *,
    repeats: int = 3,
) -> SloQueryTimings:
    """Time every SLO's queries one SLO at a time, then batched across SLOs with ``sum by (slo)``.

    ``end_s`` is the evaluation instant (Unix seconds); ``burn_down_step`` defaults to
    :func:`burn_down_step_s` of the period. Each variant runs ``repeats`` times and the
    fastest run counts (the first also pages the blocks in). Raises
    :class:`PrometheusQueryError` on any unexpected answer.
    """
    period_s = seconds_of(period)
    step_s = burn_down_step_s(period_s) if burn_down_step is None else seconds_of(burn_down_step)
    one_by_one = [q for slo in slo_names for q in per_slo_queries(slo, windows, period, step_s)]
    together = batched_queries(len(slo_names), windows, period, step_s)
    with httpx.Client(base_url=base_url, timeout=600.0) as client:
        per_slo, batched = (
            min((_timed(client, plan, end_s, period_s) for _ in range(repeats)), key=lambda t: t.total_s)
            for plan in (one_by_one, together)
        )
    return SloQueryTimings(per_slo=per_slo, batched=batched)
