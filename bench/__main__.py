"""Run every benchmark in turn: ``python -m bench`` (``make bench``).

Each runs in a fresh interpreter of its own, so that no figure depends on what ran before
it in the same process (a bigger heap makes the garbage collector's passes dearer).
``--only scrape,otlp`` runs some of them; ``--quick`` runs each for less time (noisier
figures, for checking that they run).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

# name: (module, arguments for --quick)
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "instrumentation": ("bench.bench_instrumentation", []),
    "scrape-parse": ("bench.bench_scrape_parse", []),
    "scrape": ("bench.bench_scrape", ["--rounds", "5", "--window", "5"]),
    "otlp": ("bench.bench_otlp", ["--requests", "40"]),
    "bulk": ("bench.bench_bulk", ["--requests", "12"]),
    "stacklang": ("bench.bench_stacklang", ["--steps", "240"]),
    "slo": ("bench.bench_slo", ["--slos", "20", "--days", "3"]),
    "slo-backends": ("bench.bench_slo_backends", ["--slos", "20", "--days", "3", "--repeats", "1"]),
    "canary": ("bench.bench_canary", ["--metrics", "20", "--repeats", "2"]),
    "alerting": ("bench.bench_alerting", ["--warmup-hours", "16", "--phase-step", "30", "--ticks", "20"]),
    "tracing": (
        "bench.bench_tracing",
        ["--trace-spans", "2000", "--graph-spans", "100000", "--repeats", "3"],
    ),
    "console": ("bench.bench_console", ["--repeats", "2"]),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Watchfloor's benchmarks.")
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="shorter runs, noisier figures")
    options = parser.parse_args(argv)
    chosen = list(BENCHMARKS) if options.only is None else [n.strip() for n in options.only.split(",")]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    failed = []
    for n, name in enumerate(chosen):
        if n:
            print(flush=True)
        module, quick_arguments = BENCHMARKS[name]
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", module, *(quick_arguments if options.quick else [])])
        if done.returncode:
            failed.append(name)
        print(f"  ({name}: {time.perf_counter() - began:.0f} s)", flush=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
