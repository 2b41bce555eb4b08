"""Canary judgement of 100 metrics × 2 × 1,440 points: Watchfloor's judge beside scipy's rank test.

The data: per metric, a day of 1-minute points for the control and for the experiment from
a seeded generator — lognormal latencies (seconds), every tenth metric a Poisson count of
errors (many ties); five latency metrics have a slower experiment (×1.3, classified High)
and three have 2% of their points NaN on both sides. The config has one atlas query per
metric (``name,m0,:eq,:sum``), four groups (three weighted, one taking the rest) and
Kayenta's judge defaults (tolerance 0.25, confidence 0.98); thresholds 95 / 75.

Timed, best of 5:

- **judge**: :func:`canary.judge.judge` on the 100 pairs (preprocessing, classification
  with R's Mann-Whitney interval and Hodges-Lehmann estimate, scoring) — the aim is under 1 s;
- **scipy**: ``scipy.stats.mannwhitneyu(x, y, method="asymptotic")`` on the same pairs
  (NaNs removed), the reference for the rank step: one ranking and a p-value;
- **mann_whitney**: :func:`canary.mann_whitney.mann_whitney` alone on the same arrays.

Also printed: how long :func:`canary.judge.read_pairs` takes to read the pairs from JSON,
how many rankings of the combined sample one ``mann_whitney`` makes (each root of the
interval is found by Brent's method, one ranking per step), and a check that its p-value
agrees with scipy's (both: normal approximation, tie-corrected, continuity-corrected).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

import canary.mann_whitney as mw
from canary.config import CanaryConfig, load_canary_config
from canary.judge import MetricSetPair, judge, read_pairs
from canary.scorer import Thresholds

POINTS = 1_440
METRICS = 100
THRESHOLDS = Thresholds(pass_=95.0, marginal=75.0)
AIM_S = 1.0
GROUPS = ("latency", "errors", "saturation", "throughput")
WEIGHTS = {"latency": 40, "errors": 30, "saturation": 20}  # throughput takes the remaining 10
SHIFTED = frozenset({3, 17, 42, 66, 88})  # experiment ×1.3: High
WITH_NANS = frozenset({5, 55, 95})  # 2% NaN on both sides


def _is_count(i: int) -> bool:
    return i % 10 == 9


def config(metrics: int) -> CanaryConfig:
    """A canary config of ``metrics`` atlas metrics ``m0``…, loaded as the service loads one."""
    return load_canary_config(
        {
            "name": "bench-canary",
            "judge": {"name": "NetflixACAJudge-v1.0"},
            "metrics": [
                {
                    "name": f"m{i}",
                    "query": {"type": "atlas", "q": f"name,m{i},:eq,:sum"},
                    "groups": [GROUPS[1] if _is_count(i) else GROUPS[i % len(GROUPS)]],
                    "analysisConfigurations": {"canary": {"direction": "increase"} if i % 2 else {}},
                }
                for i in range(metrics)
            ],
            "classifier": {"groupWeights": WEIGHTS},
        }
    )


def raw_pairs(metrics: int, points: int) -> list[dict[str, Any]]:
    """Kayenta's ``metricSetPairList`` JSON (NaN as ``"NaN"``), from a seeded generator."""
    rng = np.random.default_rng(20240611)
    pairs = []
    for i in range(metrics):
        sides: list[mw.Floats]  # [control, experiment]
        if _is_count(i):
            rate = 0.5 + (i % 7)
            sides = [rng.poisson(rate, points).astype(np.float64) for _ in range(2)]
        else:
            median = 0.02 * (1 + i % 13)
            sides = [rng.lognormal(math.log(median), 0.5, points) for _ in range(2)]
            if i in SHIFTED:
                sides[1] *= 1.3
        if i in WITH_NANS:
            for side in sides:
                side[rng.choice(points, points // 50, replace=False)] = math.nan
        control_list, experiment_list = (
            ["NaN" if math.isnan(v) else v for v in side.tolist()] for side in sides
        )
        pairs.append(
            {
                "name": f"m{i}",
                "id": str(i),
                "tags": {},
                "values": {"control": control_list, "experiment": experiment_list},
            }
        )
    return pairs


def _clean(pairs: list[MetricSetPair]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(experiment, control) per pair with the NaNs removed, as the judge's preprocessing does."""
    return [(p.experiment[~np.isnan(p.experiment)], p.control[~np.isnan(p.control)]) for p in pairs]


def _best_of(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, answer = math.inf, None
    for _ in range(repeats):
        began = time.perf_counter()
        answer = run()
        best = min(best, time.perf_counter() - began)
    return best, answer


def _rankings_per_test(samples: list[tuple[np.ndarray, np.ndarray]], confidence: float) -> float:
    """Mean rankings of the combined sample per :func:`mann_whitney` (counted, not timed)."""
    original = mw.wilcoxon_difference
    calls = 0

    def counted(x: mw.Floats, y: mw.Floats, mu: float, quantile: float) -> float:
        nonlocal calls
        calls += 1
        return original(x, y, mu, quantile)

    mw.wilcoxon_difference = counted
    try:
        for x, y in samples:
            mw.mann_whitney(x, y, confidence)
    finally:
        mw.wilcoxon_difference = original
    return calls / len(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=METRICS, help=f"metrics (default {METRICS})")
    parser.add_argument("--points", type=int, default=POINTS, help="points per side (default: a day)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats, best kept (default 5)")
    options = parser.parse_args(argv)
    n, repeats = options.metrics, options.repeats
    canary = config(n)
    raw = raw_pairs(n, options.points)
    read_s, _ = _best_of(lambda: read_pairs(raw), repeats)
    pairs = read_pairs(raw)
    samples = _clean(pairs)
    print(
        f"canary: {n} metrics × 2 × {options.points:,} points (tolerance {canary.tolerance}, "
        f"confidence {canary.confidence}; best of {repeats})",
        flush=True,
    )

    judge_s, answer = _best_of(lambda: judge(canary, pairs, THRESHOLDS), repeats)
    scipy_s, scipy_answers = _best_of(
        lambda: [mannwhitneyu(x, y, alternative="two-sided", method="asymptotic") for x, y in samples],
        repeats,
    )
    mw_s, mw_answers = _best_of(
        lambda: [mw.mann_whitney(x, y, canary.confidence) for x, y in samples], repeats
    )

    assert isinstance(answer, dict)
    verdicts = Counter(r["classification"] for r in answer["results"])
    score = answer["score"]
    found = ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
    for label, seconds, what in (
        ("judge", judge_s, f"{found}; score {score['score']} {score['classification']}"),
        ("scipy", scipy_s, "mannwhitneyu, two-sided, asymptotic"),
        ("mann_whitney", mw_s, "interval + estimate + p-value"),
        ("read_pairs", read_s, "JSON lists → arrays, not in the judge's time"),
    ):
        print(f"  {label:<14} {seconds:7.3f} s  {seconds / n * 1e3:7.2f} ms/metric  ({what})")
    rankings = _rankings_per_test(samples, canary.confidence)
    print(f"  each mann_whitney ranks the combined sample {rankings:.1f} times on average (scipy: once)")
    print(
        f"  ratio judge / scipy {judge_s / scipy_s:.1f}×, mann_whitney / scipy {mw_s / scipy_s:.1f}×; "
        f"mann_whitney is {mw_s / judge_s:.0%} of the judge"
    )
    hundred = judge_s / n * METRICS
    met = "met" if hundred < AIM_S else "NOT met"
    scaled = "" if n == METRICS else f", scaled from {n} metrics"
    print(f"  aim: judge {METRICS} metrics in under {AIM_S:g} s: {met} ({hundred:.3f} s{scaled})")

    assert isinstance(scipy_answers, list) and isinstance(mw_answers, list)
    ours = np.array([m.p_value for m in mw_answers])
    theirs = np.array([float(s.pvalue) for s in scipy_answers])
    absolute = np.abs(ours - theirs)
    relative = absolute / np.maximum(theirs, np.finfo(np.float64).tiny)
    print(f"  check: m0 p-value {ours[0]:.12g}, scipy {theirs[0]:.12g}")
    print(
        f"  check: over {n} pairs max |difference| {absolute.max():.1e} (m{int(absolute.argmax())}), "
        f"max relative {relative.max():.1e} (p-values from {theirs.min():.1e} to {theirs.max():.3f})"
    )


if __name__ == "__main__":
    main()
