"""Scrape ingest: Watchfloor's whole scrape path beside Prometheus scraping the same targets.

Ten targets of about 5,000 samples each (``prometheus_client`` registries: labelled
counters and histograms, see :mod:`bench.scrape_targets`) are served as real text
expositions on loopback by a child process, so serving them is not counted.

Watchfloor: ``Scraper.scrape_once`` over the ten targets — HTTP fetch with httpx, parse,
normalise (step 10 s, one scrape per step, so every series yields a point each round) and
the commit to a real ``DuckDBStore`` through the ``WriteQueue`` — round after round, as
fast as it goes. The first two rounds are shown apart: the first meets every series (the
parser's cache, the normaliser's state), the second stores each series' first point (the
catalogue inserts). The later rounds give samples/s (wall clock) and CPU µs per sample
(this process's CPU, every thread, from ``time.process_time``, divided by the samples in
the expositions).

Prometheus (``/usr/bin/prometheus`` when installed): started with an empty scrape
configuration to measure its idle CPU, then reloaded (SIGHUP) with the ten targets at a
1 s interval; after a warm-up, its CPU over a window (``/proc/<pid>/stat``) is divided by
the samples it appended meanwhile (``prometheus_tsdb_head_samples_appended_total`` from
its own ``/metrics``, which also counts the 5 synthetic series per scrape: 0.1 %). Its
figure is printed raw and less its idle CPU; the ratio is taken against the raw figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from bench.loopback import cpu_seconds, free_port, run_child, stop_child
from collectors.scraper import ACCEPT, Scraper, Target
from collectors.write_queue import WriteQueue
from store.duckdb_store import DuckDBStore

TARGETS = 10
ROUNDS = 20  # Watchfloor's measured rounds, after the first two
STEP_MS = 10_000
PROMETHEUS = "/usr/bin/prometheus"  # Debian's package; else the first ``prometheus`` on PATH
PROMETHEUS_INTERVAL_S = 1
IDLE_S = 5.0
WARM_S = 4.0
WINDOW_S = 15.0


@dataclass
class WatchfloorFigures:
    samples_per_round: int
    points_per_round: int
    cold_cpu_s: tuple[float, float]  # the first round, the second
    rounds: int
    wall_s: float
    cpu_s: float

    @property
    def cpu_us_per_sample(self) -> float:
        return self.cpu_s / (self.samples_per_round * self.rounds) * 1e6

    @property
    def samples_per_s(self) -> float:
        return self.samples_per_round * self.rounds / self.wall_s

    def cold_cpu_us_per_sample(self, round_number: int) -> float:
        return self.cold_cpu_s[round_number] / self.samples_per_round * 1e6


@dataclass
class PrometheusFigures:
    version: str
    samples: float
    window_s: float
    cpu_s: float
    idle_cpu_per_s: float

    @property
    def cpu_us_per_sample(self) -> float:
        return self.cpu_s / self.samples * 1e6

    @property
    def busy_cpu_us_per_sample(self) -> float:
        return max(self.cpu_s - self.idle_cpu_per_s * self.window_s, 0.0) / self.samples * 1e6


async def _watchfloor(ports: list[int], rounds: int) -> WatchfloorFigures:
    targets = [
        Target(
            f"http://127.0.0.1:{port}/metrics",
            {"nf.app": f"app{n}", "nf.cluster": f"app{n}-v1", "nf.node": f"i-{n:04x}"},
        )
        for n, port in enumerate(ports)
    ]
    now = [1_700_000_000.003]  # scrape times: one step apart, just past the boundary as in Scraper.run
    with tempfile.TemporaryDirectory() as scratch:
        store = DuckDBStore(Path(scratch) / "bench.duckdb")
        registry = CollectorRegistry()
        queue = WriteQueue(store, registry)
        queue.start()
        scraper = Scraper(lambda: targets, queue, registry, step_ms=STEP_MS, clock=lambda: now[0])
        try:
            async with httpx.AsyncClient(timeout=30.0, headers={"Accept": ACCEPT}) as client:
                cold: list[float] = []
                for _ in range(2):
                    cpu = time.process_time()
                    await scraper.scrape_once(client)
                    cold.append(time.process_time() - cpu)
                    now[0] += STEP_MS / 1000
                samples = sum(health.samples for health in scraper.health.values())
                if not all(health.up for health in scraper.health.values()):
                    raise RuntimeError(f"a target is down: {[h.view() for h in scraper.health.values()]}")
                points = 0
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(rounds):
                    points += len(await scraper.scrape_once(client))
                    now[0] += STEP_MS / 1000
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            queue.close()
            store.close()
    return WatchfloorFigures(samples, points // rounds, (cold[0], cold[1]), rounds, wall, cpu)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode())


def _appended(base: str) -> float:
    """Samples Prometheus has appended to its head block, from its own ``/metrics``."""
    total = 0.0
    for line in _get(f"{base}/metrics").splitlines():
        if line.startswith("prometheus_tsdb_head_samples_appended_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _wait_until(ready: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _prometheus(
    binary: str, ports: list[int], idle_s: float, warm_s: float, window_s: float
) -> PrometheusFigures:
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "prometheus.yml"
        header = f"global:\n  scrape_interval: {PROMETHEUS_INTERVAL_S}s\n  scrape_timeout: 1s\n"
        config.write_text(header + "scrape_configs: []\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = Path(scratch) / "prometheus.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={scratch}/tsdb",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_until(lambda: "Ready" in _get(f"{base}/-/ready"), 30, "Prometheus to be ready")
                idle_began = cpu_seconds(process.pid)
                time.sleep(idle_s)
                idle_cpu_per_s = (cpu_seconds(process.pid) - idle_began) / idle_s

                targets = json.dumps([f"127.0.0.1:{p}" for p in ports])
                config.write_text(
                    header + f"scrape_configs:\n  - job_name: bench\n    static_configs:\n"
                    f"      - targets: {targets}\n"
                )
                process.send_signal(signal.SIGHUP)  # reload the configuration
                _wait_until(lambda: _appended(base) > 0, 15, "Prometheus's first scrapes")
                time.sleep(warm_s)  # past the first scrapes, which create the series

                samples, cpu, began = _appended(base), cpu_seconds(process.pid), time.perf_counter()
                time.sleep(window_s)
                samples = _appended(base) - samples
                cpu = cpu_seconds(process.pid) - cpu
                window = time.perf_counter() - began
            except RuntimeError as failure:
                raise RuntimeError(f"{failure}; Prometheus said:\n{log_path.read_text()[-2000:]}") from None
            finally:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    if samples <= 0:
        raise RuntimeError("Prometheus appended no samples: did it scrape the targets?")
    # "prometheus, version 2.42.0+ds (branch: …)": the version is the third word.
    words = version.stdout.split()
    name = f"Prometheus {words[2]}" if len(words) > 2 else "Prometheus"
    return PrometheusFigures(name, samples, window, cpu, idle_cpu_per_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scrape", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="Watchfloor's measured rounds")
    parser.add_argument("--window", type=float, default=WINDOW_S, help="Prometheus's measured seconds")
    parser.add_argument("--no-prometheus", action="store_true", help="skip the Prometheus half")
    options = parser.parse_args(argv)

    # Renders: Watchfloor's rounds see fresh values each time; Prometheus then wraps around.
    targets = run_child("bench.scrape_targets", str(TARGETS), str(options.rounds + 2))
    try:
        assert targets.stdout is not None
        ports: list[int] = json.loads(targets.stdout.readline())
        ours = asyncio.run(_watchfloor(ports, options.rounds))
        theirs: PrometheusFigures | None = None
        note = ""
        if options.no_prometheus:
            note = "skipped (--no-prometheus)"
        elif (binary := shutil.which(PROMETHEUS) or shutil.which("prometheus")) is None:
            note = f"skipped: {PROMETHEUS} is not installed (apt-get install prometheus)"
        else:
            theirs = _prometheus(binary, ports, IDLE_S, WARM_S, options.window)
    finally:
        stop_child(targets)

    per_target = ours.samples_per_round // TARGETS
    print(f"scrape ingest: {TARGETS} targets × {per_target:,} samples, text format over loopback HTTP")
    print(f"  Watchfloor  Scraper.scrape_once (fetch, parse, normalise, DuckDB commit), {ours.rounds} rounds")
    print(f"    first round (new series)      {ours.cold_cpu_us_per_sample(0):8.2f} µs CPU/sample")
    print(f"    second (first points stored)  {ours.cold_cpu_us_per_sample(1):8.2f} µs CPU/sample")
    print(f"    later rounds (steady state)   {ours.cpu_us_per_sample:8.2f} µs CPU/sample")
    print(f"                                  {ours.samples_per_s:8,.0f} samples/s")
    print(f"    datapoints stored per round   {ours.points_per_round:8,}")
    if theirs is None:
        print(f"  Prometheus  {note}")
        return
    window = f"{PROMETHEUS_INTERVAL_S} s interval, {theirs.window_s:.0f} s window"
    print(f"  {theirs.version}, {window}")
    print(f"    CPU per sample                {theirs.cpu_us_per_sample:8.2f} µs CPU/sample")
    print(
        f"    less idle CPU                 {theirs.busy_cpu_us_per_sample:8.2f} µs CPU/sample"
        f"  (idle: {theirs.idle_cpu_per_s * 1000:.0f} ms CPU/s)"
    )
    rate = theirs.samples / theirs.window_s
    print(f"                                  {rate:8,.0f} samples/s (the targets at its interval)")
    ratio = ours.cpu_us_per_sample / theirs.cpu_us_per_sample
    print(f"  ratio Watchfloor / Prometheus   {ratio:8.2f}× CPU per sample (aim: ≤ 3×, ≤ 4 µs)")


if __name__ == "__main__":
    main()
