"""Alert detection time: an outage injected → the PagerDuty trigger received, beside the SRE Workbook's.

Simulated time, nothing sleeps. The demo's ``drm-license-availability`` SLO (99.9 % over
30 days, ``sample_services/slos/drm.yaml`` + ``alerting.yaml``, the four default tiers of
``slo/windows.yaml``) is evaluated by the real engine chain — :class:`SLOEngine` over a
DuckDB store, :class:`SLOBurnRule`, :class:`AlertEngine`, the outbox's :class:`Deliverer` —
with a hand-driven clock and a scripted PagerDuty sender that notes when each trigger
arrives. Per run:

- **warm-up**: licence requests at 10 a second without errors, written at the demo's step
  (10 s, ``watchfloor up``) for as long as the longest tier's window (3 days), and rolled
  up as the server's maintenance loop does; 10-s points cost little here, and they let an
  outage begin inside a minute as real ones do (the SLO itself is still evaluated at
  1-minute steps: :func:`slo.engine.evaluation_step`, each minute the mean of six points);
- **outage**: from the injection time T on, a share of the requests fails — all of them
  (total outage) or 10 % (partial); the step T falls in gets its share by overlap, as the
  scraper spreads a counter's increase over the steps between two scrapes;
- **ticks** every evaluation interval (30 s, ``alert_eval_interval_s``): each 10-s step's
  point is written once the step has closed (a scrape at the step's end, the best case),
  roll-ups once a simulated minute, then ``evaluate()`` and ``deliver_due()``.

Detection time = the first trigger received − T, for the tier that pages; a slower tier
that fires meanwhile is inhibited (no page), so its figure is the time its alert started
firing. Runs cover a grid of phases — T every 10 s of the minute × the evaluation ticks every
10 s of their 30-s interval — since both move the figure; min / mean / max are printed.
The expected time is the Workbook's (see :func:`workbook_detection_s`).

Also timed: the wall time of one ``AlertEngine.evaluate()`` with every demo SLO loaded
(all of ``sample_services/slos/``) over the same warm-up of traffic for each of them, as
the server pays every 30 s (median and max of the ticks), and the first, cold evaluation.
Never asserts on figures: unexpected behaviour (no page, the wrong tier) is printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerting.delivery import Deliverer, SendResult
from alerting.engine import AlertEngine
from alerting.pagerduty import EVENTS
from alerting.rules import SLOBurnRule
from bench.slo_data import START_MS
from console.config import ServerConfig
from sample_services.slos import DEMO_SLO_DIR
from slo.engine import SLOEngine
from slo.model import WindowPair
from slo.registry import Definition, SLORegistry, load_files
from slo.service import SLOService
from slo.status import tiers_of
from store.duckdb_store import MINUTE_MS, DuckDBStore

STEP_MS = 10_000  # the demo's step (`watchfloor up`)
EVAL_INTERVAL_MS = int(ServerConfig().alert_eval_interval_s * 1000)  # 30 s
REQUESTS_PER_S = 10.0
LEAD_MS = 2 * MINUTE_MS  # quiet evaluations between the warm-up and the outage
SLO_NAME = "drm-license-availability"
OUTAGES = (("total", 1.0), ("partial", 0.1))
_LICENCE = {"name": "http_server_requests", "nf.app": "drm", "route": "/license"}
_BAD = {**_LICENCE, "status_class": "5xx"}
_GOOD = {**_LICENCE, "status_class": "2xx"}
_CDN_BUCKETS = (("0.05", 0.9), ("0.15", 0.998), ("0.5", 0.9995))
_TTFF_BUCKETS = (("0.5", 0.8), ("1.0", 0.99), ("2.5", 0.999))


class SimClock:
    """The engines' clock: seconds, moved by hand."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000


@dataclass
class ScriptedPagerDuty:
    """A PagerDuty sender that accepts everything and notes when each event arrived."""

    clock: SimClock
    rate_key: str = "bench-routing-key"
    received: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        self.received.append((self.clock.now_ms, dict(payload)))
        return SendResult(202)

    def close(self) -> None:
        pass


def window_label(pair: WindowPair) -> str:
    def span(seconds: int) -> str:
        for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
            if seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"

    return f"{span(int(pair.long.total_seconds()))}/{span(int(pair.short.total_seconds()))}"


def workbook_detection_s(pair: WindowPair, budget: float, error_share: float) -> float | None:
    """The SRE Workbook's detection time of a tier for a constant ``error_share``; None: never.

    The Site Reliability Workbook, ch. 5 "Alerting on SLOs": a burn-rate alert over a window
    W with burn rate B detects an error ratio r after ((1 − SLO) / r) × W × B (§4, "Alert on
    burn rate"). A multiwindow tier (§6, table 5-8: 1h/5m at 14.4, 6h/30m at 6, …) needs its
    long and its short window both over B, so it detects after the later of the two, each
    only when it is reached within its own window (r ≥ B·(1 − SLO)); the window's older part
    is taken as error-free, as it is after the warm-up.
    """
    times = []
    for window in (pair.long, pair.short):
        seconds = window.total_seconds()
        reached = pair.threshold * budget * seconds / error_share
        if reached > seconds:
            return None
        times.append(reached)
    return max(times)


# --- traffic -------------------------------------------------------------------------------


def write_traffic(
    store: DuckDBStore,
    series: list[tuple[dict[str, str], float]],
    after_ms: int,
    through_ms: int,
    error_share: Callable[[int], float] = lambda _: 0.0,
) -> int:
    """Points of every step ending in ``(after_ms, through_ms]``: per series, (tags, rate per second).

    For the licence series the rate is split by ``error_share(step end)`` between 5xx and 2xx.
    """
    ends = list(range(after_ms // STEP_MS * STEP_MS + STEP_MS, through_ms + 1, STEP_MS))
    if not ends:
        return 0
    tags: list[dict[str, str]] = []
    stamps: list[int] = []
    values: list[float] = []
    shares = [error_share(end) for end in ends]
    for series_tags, rate in series:
        tags += [series_tags] * len(ends)  # one tags object per series: the store knows it by identity
        stamps += ends
        if series_tags is _BAD:
            values += [rate * share for share in shares]
        elif series_tags is _GOOD:
            values += [rate * (1.0 - share) for share in shares]
        else:
            values += [rate] * len(ends)
    return store.write_point_columns(tags, stamps, values)


def demo_traffic() -> list[tuple[dict[str, str], float]]:
    """Series for every demo SLO's queries, at steady rates (the licence ones split by error share)."""
    http = "http_server_requests"
    segment = "/segment/{title_id}/{rendition}/{n}"
    found: list[tuple[dict[str, str], float]] = [(_BAD, REQUESTS_PER_S), (_GOOD, REQUESTS_PER_S)]
    for app, route, rate in (("playback", "/play", 20.0), ("cdn", segment, 200.0), ("cdn", "/manifest", 5.0)):
        found.append(({"name": http, "nf.app": app, "route": route, "status_class": "2xx"}, rate))
        found.append(({"name": http, "nf.app": app, "route": route, "status_class": "5xx"}, rate / 5_000))
    # Histogram buckets: cumulative shares of the count within each bound, all inside their SLOs.
    for name, extra, shares, rate in (
        ("cdn_request_duration_seconds", {"kind": "segment", "cache_result": "miss"}, _CDN_BUCKETS, 20.0),
        ("cdn_request_duration_seconds", {"kind": "segment", "cache_result": "hit"}, _CDN_BUCKETS, 180.0),
        ("playback_time_to_first_frame_seconds", {}, _TTFF_BUCKETS, 20.0),
    ):
        for bound, share in shares:
            found.append(({"name": name, **extra, "le": bound, "statistic": "percentile"}, rate * share))
        found.append(({"name": name, **extra, "statistic": "count"}, rate))
    found.append(({"name": "encoding_jobs", "status": "completed", "statistic": "count"}, 0.5))
    found.append(({"name": "encoding_jobs", "status": "failed", "statistic": "count"}, 0.0005))
    return found


def _engines(
    store: DuckDBStore, files: list[Definition], clock: SimClock
) -> tuple[AlertEngine, Deliverer, ScriptedPagerDuty]:
    """As the server builds them (console.api.app), with the clock and sender of the bench."""
    sender = ScriptedPagerDuty(clock)
    slos = SLOService(
        SLORegistry(store, files, clock=clock), SLOEngine(store, base_step_ms=STEP_MS, clock=clock)
    )
    outbox = Deliverer(store, {EVENTS: sender}, clock=clock)
    engine = AlertEngine([SLOBurnRule(slos)], store, outbox, clock=clock, console_url="http://127.0.0.1:7070")
    return engine, outbox, sender


# --- detection -----------------------------------------------------------------------------


@dataclass
class Run:
    """One outage: when it began, when each tier first fired, and the triggers received."""

    injected_ms: int
    fired_ms: dict[str, int] = field(default_factory=dict)
    triggers: list[tuple[int, str, str]] = field(default_factory=list)  # (ms, window, PD severity)
    inhibited_by: dict[str, str] = field(default_factory=dict)  # window → the window holding its page
    evaluations: int = 0


def run_outage(
    files: list[Definition],
    error_share: float,
    warmup_ms: int,
    injection_offset_ms: int,
    evaluation_offset_ms: int,
    horizon_ms: int,
    wait_for: set[str],
) -> Run:
    """Warm up, inject at a minute boundary + ``injection_offset_ms``, tick until ``wait_for`` fired."""
    with tempfile.TemporaryDirectory(prefix="alerting-bench-") as directory:
        store = DuckDBStore(Path(directory) / "alerting.duckdb")
        try:
            warm_end = START_MS + warmup_ms
            licence = [(_BAD, REQUESTS_PER_S), (_GOOD, REQUESTS_PER_S)]
            write_traffic(store, licence, START_MS, warm_end)
            store.roll_up(warm_end)
            clock = SimClock(warm_end)
            engine, outbox, sender = _engines(store, files, clock)
            run = Run(warm_end + LEAD_MS + injection_offset_ms)

            def share_at(step_end: int) -> float:  # the part of the step (end − 10 s, end] after T
                return error_share * min(1.0, max(0.0, (step_end - run.injected_ms) / STEP_MS))

            written = warm_end
            now = warm_end + evaluation_offset_ms
            while now <= run.injected_ms + horizon_ms:
                clock.now_ms = now
                closed = now // STEP_MS * STEP_MS
                write_traffic(store, licence, written, closed, share_at)
                if closed // MINUTE_MS > written // MINUTE_MS:
                    store.roll_up(now)  # the server's maintenance loop: once a minute
                written = closed
                engine.evaluate()
                outbox.deliver_due()
                run.evaluations += 1
                alerts = engine.alerts()
                windows = {a.fingerprint: a.labels.get("window", "?") for a in alerts}
                for alert in alerts:
                    window = windows[alert.fingerprint]
                    if alert.state == "firing" and window not in run.fired_ms:
                        run.fired_ms[window] = alert.fired_ms if alert.fired_ms is not None else now
                    if alert.state == "firing" and alert.inhibited_by is not None:
                        run.inhibited_by.setdefault(window, windows.get(alert.inhibited_by, "?"))
                if wait_for <= run.fired_ms.keys():
                    break
                now += EVAL_INTERVAL_MS
            for at, event in sender.received:
                if event.get("event_action") == "trigger":
                    payload = event.get("payload", {})
                    labels = payload.get("custom_details", {}).get("labels", {})
                    run.triggers.append((at, labels.get("window", "?"), payload.get("severity", "?")))
            return run
        finally:
            store.close()


def _formatter(scale_s: float) -> Callable[[float], str]:
    """Seconds shown in seconds below two minutes, else in minutes: one unit for a whole row."""
    if scale_s < 120:
        return lambda seconds: f"{seconds:.1f} s"
    return lambda seconds: f"{seconds / 60:.2f} min"


def report_outage(
    label: str,
    share: float,
    pairs: tuple[WindowPair, ...],
    budget: float,
    runs: list[Run],
    measured: set[str],
    warmup_ms: int,
    horizon_ms: int,
) -> None:
    print(f"  {label} outage ({share:.0%} of requests fail), {len(runs)} runs:")
    print(
        f"    {'tier':<16}{'workbook':>10}   {'measured min / mean / max':>33}"
        f"   {'mean − workbook':>15}  {'÷ workbook':>10}  page"
    )
    for pair in pairs:
        window = window_label(pair)
        name = f"{pair.severity} {window}"
        expected = workbook_detection_s(pair, budget, share)
        shown = "never" if expected is None else _formatter(expected)(expected)
        if window not in measured:
            print(
                f"    {name:<16}{shown:>10}   not measured: its {window.split('/')[0]} window is longer "
                f"than the {warmup_ms / 3_600_000:g} h warm-up (the full run measures it)"
            )
            continue
        paged = sum(_paged(run, window) for run in runs)
        severities = sorted({s for run in runs for _, w, s in run.triggers if w == window})
        detected = []
        for run in runs:
            firsts = [at for at, w, _ in run.triggers if w == window] or (
                [run.fired_ms[window]] if window in run.fired_ms else []
            )
            if firsts:
                detected.append((min(firsts) - run.injected_ms) / 1000)
        if not detected:
            print(f"    {name:<16}{shown:>10}   did not fire within {horizon_ms / 60_000:.0f} min in any run")
            continue
        mean = statistics.fmean(detected)
        unit = _formatter(max(detected) if expected is None else expected)
        figures = f"{unit(min(detected))} / {unit(mean)} / {unit(max(detected))}"
        if expected is None:
            versus = f"{'—':>15}  {'—':>10}"
        else:
            versus = f"{mean - expected:>+13.0f} s  {mean / expected:>9.2f}×"
        leaders = sorted({run.inhibited_by[window] for run in runs if window in run.inhibited_by})
        if paged:
            page = f"trigger ({', '.join(severities)}) in {paged}/{len(runs)} runs"
        elif leaders:
            page = f"fires, inhibited by {', '.join(leaders)}: no trigger"
        else:
            page = "fires, but no trigger and not inhibited: UNEXPECTED"
        missing = "" if len(detected) == len(runs) else f"; fired in {len(detected)}/{len(runs)} runs only"
        print(f"    {name:<16}{shown:>10}   {figures:>33}   {versus}  {page}{missing}")
    _first_triggers(pairs, budget, share, runs, measured)


def _paged(run: Run, window: str) -> bool:
    return any(w == window for _, w, _ in run.triggers)


def _first_triggers(
    pairs: tuple[WindowPair, ...], budget: float, share: float, runs: list[Run], measured: set[str]
) -> None:
    """Which tier paged first, against the one the Workbook's figures say should."""
    expected = {window_label(p): workbook_detection_s(p, budget, share) for p in pairs}
    fastest = min(
        (w for w, s in expected.items() if s is not None and w in measured),
        key=lambda w: expected[w] or 0.0,
        default=None,
    )
    firsts: dict[str, int] = {}
    early = 0
    for run in runs:
        if run.triggers:
            at, window, _ = min(run.triggers)
            firsts[window] = firsts.get(window, 0) + 1
            early += at < run.injected_ms
    if not firsts:
        print(f"    NO TRIGGER in any run (expected the {fastest} tier to page)")
        return
    seen = ", ".join(f"{w} in {n}/{len(runs)} runs" for w, n in sorted(firsts.items()))
    if set(firsts) == {fastest}:
        verdict = "as expected"
    elif set(firsts) - measured:
        verdict = (
            f"expected {fastest}: a tier whose window is longer than the warm-up burns too fast "
            "on the little history it has; lengthen --warmup-hours"
        )
    else:
        verdict = f"UNEXPECTED: expected {fastest}"
    print(f"    first trigger: {seen} ({verdict})")
    if early:
        print(f"    UNEXPECTED: {early} run(s) paged before the outage began")


def detection(options: argparse.Namespace, files: list[Definition]) -> None:
    slo = next(d.slo for d in files if d.name == SLO_NAME and d.slo is not None)
    budget = 1.0 - slo.objectives[0].target
    pairs = tuple(sorted(tiers_of(slo), key=lambda p: p.long))
    warmup_ms = int(options.warmup_hours * 3_600_000)
    horizon_ms = options.horizon_minutes * 60_000
    measured = {window_label(p) for p in pairs if p.long.total_seconds() * 1000 <= warmup_ms}
    phase = options.phase_step * 1000
    grid = [(i, e) for i in range(0, MINUTE_MS, phase) for e in range(0, EVAL_INTERVAL_MS, phase)]
    tiers = ", ".join(f"{p.severity} {window_label(p)} at {p.threshold:g}" for p in pairs)
    print(
        f"alerting: detection time of {SLO_NAME} ({slo.objectives[0].target:.1%} over "
        f"{slo.time_window.duration}; tiers {tiers}), {REQUESTS_PER_S:g} requests/s, "
        f"{STEP_MS // 1000}-s data, {options.warmup_hours:g} h warm-up, evaluated every "
        f"{EVAL_INTERVAL_MS // 1000} s",
        flush=True,
    )
    print(
        f"  runs: T at {options.phase_step} s steps of the minute × evaluation ticks at "
        f"{options.phase_step} s steps of their {EVAL_INTERVAL_MS // 1000}-s interval "
        f"({len(grid)} runs per outage)"
    )
    for label, share in OUTAGES:
        began = time.perf_counter()
        runs = [
            run_outage(files, share, warmup_ms, injection, evaluation, horizon_ms, measured)
            for injection, evaluation in grid
        ]
        report_outage(label, share, pairs, budget, runs, measured, warmup_ms, horizon_ms)
        ticks = sum(r.evaluations for r in runs)
        print(f"    ({ticks} evaluations simulated in {time.perf_counter() - began:.1f} s)", flush=True)
    print(
        "  note: measured − workbook is granularity: the SLO is evaluated at 1-minute steps, so a"
        " burn rate moves once a whole minute is in (and must exceed the threshold, not reach it),"
        f" and the engine looks every {EVAL_INTERVAL_MS // 1000} s, so a crossing waits up to that"
        f" long; a scrape later than the step's end would add up to one step ({STEP_MS // 1000} s)."
    )


# --- evaluation cost -----------------------------------------------------------------------


def evaluation_cost(options: argparse.Namespace) -> None:
    """Wall time of ``AlertEngine.evaluate()`` with every demo SLO loaded, steady and cold."""
    files = load_files(sorted(DEMO_SLO_DIR.glob("*.yaml")))
    slos = [d.slo for d in files if d.slo is not None]
    tiers = sum(len(tiers_of(s)) * len(s.objectives) for s in slos)
    traffic = demo_traffic()
    warmup_ms = int(options.warmup_hours * 3_600_000)
    with tempfile.TemporaryDirectory(prefix="alerting-bench-") as directory:
        store = DuckDBStore(Path(directory) / "alerting.duckdb")
        try:
            warm_end = START_MS + warmup_ms
            points = write_traffic(store, traffic, START_MS, warm_end)
            store.roll_up(warm_end)
            clock = SimClock(warm_end)
            engine, outbox, _ = _engines(store, files, clock)
            began = time.perf_counter()
            engine.evaluate()
            cold = time.perf_counter() - began
            timings = []
            written = warm_end
            for tick in range(1, options.ticks + 1):
                clock.now_ms = warm_end + tick * EVAL_INTERVAL_MS
                closed = clock.now_ms // STEP_MS * STEP_MS
                write_traffic(store, traffic, written, closed)
                if closed // MINUTE_MS > written // MINUTE_MS:
                    store.roll_up(clock.now_ms)
                written = closed
                began = time.perf_counter()
                engine.evaluate()
                timings.append(time.perf_counter() - began)
                outbox.deliver_due()
            firing = [a for a in engine.alerts() if a.state == "firing"]
        finally:
            store.close()
    median = statistics.median(timings)
    print(
        f"  evaluation: AlertEngine.evaluate() with the {len(slos)} demo SLOs ({tiers} tiers) over "
        f"{len(traffic)} series, {options.warmup_hours:g} h of {STEP_MS // 1000}-s data ({points:,} points)"
    )
    print(
        f"    steady: median {median * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms over "
        f"{len(timings)} evaluations ({median * 1000 / EVAL_INTERVAL_MS:.3%} of the "
        f"{EVAL_INTERVAL_MS // 1000}-s interval); cold (first, reads the history) {cold * 1000:.0f} ms "
        f"= {cold / median:.1f}× steady; alerts firing: {len(firing)}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_alerting", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--warmup-hours",
        type=float,
        default=72.0,
        help=(
            "error-free traffic before the outage (default 72: the longest tier's window, 3d; tiers "
            "with longer windows are not measured, and below 14.4 h the 3d/6h tier outruns 1h/5m)"
        ),
    )
    parser.add_argument(
        "--phase-step",
        type=int,
        default=10,
        help="seconds between the phases of T in the minute and of the ticks in their interval (default 10)",
    )
    parser.add_argument(
        "--horizon-minutes",
        type=int,
        default=120,
        help="how long after T to wait for every tier (default 120)",
    )
    parser.add_argument(
        "--ticks", type=int, default=120, help="evaluations timed with the demo SLOs (default 120)"
    )
    options = parser.parse_args(argv)
    if not 0 < options.phase_step <= EVAL_INTERVAL_MS // 1000:
        parser.error(f"--phase-step: 1 to {EVAL_INTERVAL_MS // 1000} seconds")
    files = load_files([DEMO_SLO_DIR / "drm.yaml", DEMO_SLO_DIR / "alerting.yaml"])
    detection(options, files)
    evaluation_cost(options)


if __name__ == "__main__":
    main()
