"""What scraping costs per sample: prometheus_client's parser, ours on a warm cache, and normalisation.

Ten targets, each a real ``prometheus_client`` registry of about 5,000 samples (counters
and histograms with labels, as a JVM or Python service exposes them), are rendered with
``generate_latest`` once per scrape round, values moving between rounds so rates exist.
Rendering is outside the timings; everything timed runs side by side in this process.

Ours is shown in both forms: ``parse``/``ingest`` (Samples in, Datapoints out) and the
columnar ``parse_columns``/``ingest_columns`` the scraper runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collectors.normalise import Normaliser, PointColumns
from collectors.prom_text import ParsedColumns, ParsedScrape, PromTextParser

TARGETS = 10
ROUNDS = 4  # scrape rounds after the first (cold) one
STEP_MS = 10_000
SCRAPE_INTERVAL_MS = 15_000
METHODS = ("GET", "POST", "PUT", "DELETE")
STATUSES = ("200", "201", "204", "400", "404", "500", "503")
# 1,150 counter children × (_total + _created) + 150 histogram children × (15 buckets + count + sum + created)
COUNTER_CHILDREN = 1_150
HISTOGRAM_CHILDREN = 150


class _Target:
    """One service's registry and the means to move its values between scrapes."""

    def __init__(self, index: int) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_server_requests",
            "Requests served.",
            ["method", "uri", "status", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_server_requests_seconds",
            "Request latency.",
            ["method", "uri"],
            registry=self.registry,
        )
        self.counters = [
            self.requests.labels(
                METHODS[n % 4],
                f"/api/v1/titles/{index}/{n // 28}",
                STATUSES[n % 7],
                "SUCCESS" if STATUSES[n % 7] < "4" else "CLIENT_ERROR",
            )
            for n in range(COUNTER_CHILDREN)
        ]
        self.histograms = [
            self.latency.labels(METHODS[n % 4], f"/api/v1/playback/{index}/{n}")
            for n in range(HISTOGRAM_CHILDREN)
        ]
        self.advance(0)

    def advance(self, round_number: int) -> None:
        for n, child in enumerate(self.counters):
            child.inc(1 + (n + round_number) % 5)
        for n, histogram in enumerate(self.histograms):
            histogram.observe(0.001 * (1 + (n * 7 + round_number) % 900))

    def render(self) -> str:
        return generate_latest(self.registry).decode()


def _best_us_per_sample(run: Callable[[], int], repeats: int = 3) -> float:
    """Best of ``repeats`` runs; ``run`` returns how many samples it handled."""
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        handled = run()
        best = min(best, (time.perf_counter() - began) / handled * 1e6)
    return best


def _scrape_rounds() -> list[list[str]]:
    """rounds[r][t]: the text target t served in scrape round r; values move between rounds."""
    targets = [_Target(index) for index in range(TARGETS)]
    rounds: list[list[str]] = []
    for round_number in range(ROUNDS + 1):
        rounds.append([target.render() for target in targets])
        for target in targets:
            target.advance(round_number + 1)
    return rounds


def _prometheus_client(texts: list[str]) -> int:
    handled = 0
    for text in texts:
        for family in text_string_to_metric_families(text):
            handled += len(family.samples)
    return handled


def _normalisers() -> list[Normaliser]:
    return [Normaliser(STEP_MS, {"nf.app": f"app{n}", "nf.node": f"i-{n:04x}"}) for n in range(TARGETS)]


START_MS = 1_700_000_003_000  # not on a step boundary, as real scrapes are not


def _ingest_all(first: list[ParsedScrape], later: list[list[ParsedScrape]]) -> tuple[float, int]:
    """Seconds spent ingesting the later rounds (the first only primes counters), and points emitted."""
    normalisers = _normalisers()
    for normaliser, scrape in zip(normalisers, first, strict=True):
        normaliser.ingest(scrape, START_MS)
    emitted = 0
    began = time.perf_counter()
    for round_number, scrapes in enumerate(later, 1):
        now_ms = START_MS + round_number * SCRAPE_INTERVAL_MS
        for normaliser, scrape in zip(normalisers, scrapes, strict=True):
            emitted += len(normaliser.ingest(scrape, now_ms))
    return time.perf_counter() - began, emitted


def _ingest_columns(first: list[ParsedColumns], later: list[list[ParsedColumns]]) -> float:
    """:func:`_ingest_all` for the columnar forms: seconds spent on the later rounds."""
    normalisers = _normalisers()
    for normaliser, scrape in zip(normalisers, first, strict=True):
        normaliser.ingest_columns(scrape, START_MS, PointColumns())
    began = time.perf_counter()
    for round_number, scrapes in enumerate(later, 1):
        now_ms = START_MS + round_number * SCRAPE_INTERVAL_MS
        out = PointColumns()
        for normaliser, scrape in zip(normalisers, scrapes, strict=True):
            normaliser.ingest_columns(scrape, now_ms, out)
    return time.perf_counter() - began


def main() -> None:
    rounds = _scrape_rounds()
    parsers = [PromTextParser() for _ in range(TARGETS)]

    began = time.perf_counter()
    first = [parser.parse(text) for parser, text in zip(parsers, rounds[0], strict=True)]
    per_round = sum(len(scrape.samples) for scrape in first)
    cold = (time.perf_counter() - began) / per_round * 1e6

    theirs = _best_us_per_sample(lambda: _prometheus_client(rounds[1]), repeats=2)
    later: list[list[ParsedScrape]] = []

    def warm() -> int:
        later[:] = [[p.parse(text) for p, text in zip(parsers, texts, strict=True)] for texts in rounds[1:]]
        return per_round * ROUNDS

    ours = _best_us_per_sample(warm)
    seconds, emitted = min(_ingest_all(first, later) for _ in range(3))
    ingest = seconds / (per_round * ROUNDS) * 1e6

    column_parsers = [PromTextParser() for _ in range(TARGETS)]
    first_columns = [p.parse_columns(text) for p, text in zip(column_parsers, rounds[0], strict=True)]
    later_columns: list[list[ParsedColumns]] = []

    def warm_columns() -> int:
        later_columns[:] = [
            [p.parse_columns(text) for p, text in zip(column_parsers, texts, strict=True)]
            for texts in rounds[1:]
        ]
        return per_round * ROUNDS

    columns = _best_us_per_sample(warm_columns)
    ingest_columns = min(_ingest_columns(first_columns, later_columns) for _ in range(3))
    ingest_columns = ingest_columns / (per_round * ROUNDS) * 1e6

    print(f"scrape parse: {TARGETS} targets × {per_round // TARGETS:,} samples, {ROUNDS} warm rounds")
    print(f"  prometheus_client text_string_to_metric_families  {theirs:7.2f} µs/sample")
    print(f"  PromTextParser.parse, first scrape (cold cache)     {cold:7.2f} µs/sample")
    print(f"  PromTextParser.parse, later scrapes (warm cache)    {ours:7.2f} µs/sample")
    print(f"  Normaliser.ingest (step 10 s, scrape every 15 s)    {ingest:7.2f} µs/sample")
    print(f"  parse + ingest, steady state                        {ours + ingest:7.2f} µs/sample")
    print("  as the scraper runs them (columns, no object per sample or point):")
    print(f"  PromTextParser.parse_columns (warm cache)           {columns:7.2f} µs/sample")
    print(f"  Normaliser.ingest_columns                           {ingest_columns:7.2f} µs/sample")
    print(f"  parse_columns + ingest_columns, steady state        {columns + ingest_columns:7.2f} µs/sample")
    print(f"  prometheus_client / ours (parse, warm)              {theirs / ours:7.1f}×")
    print(f"  prometheus_client / ours (parse_columns, warm)      {theirs / columns:7.1f}×")
    print(f"  datapoints emitted per round                        {emitted // ROUNDS:7,}")


if __name__ == "__main__":
    main()
