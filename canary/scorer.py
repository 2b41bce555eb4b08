"""Kayenta's weighted group scorer (canary-judge.md §5): metric classifications → one canary score.

1. Muted results are left out of scoring (they stay in the results).
2. Per group: 100 × Pass / (Pass + High + Low + NodataFailMetric); Nodata and Error are
   not counted; a group with nothing counted has "no data" (score 0, weighed as 100).
3. A critical result that is not Pass fails the canary: score 0, "Canary Failed: " + its reason.
4. Nodata in half or more of the scored results fails it: "Canary Failed: 50% or more
   metrics returned NODATA".
5. The weighted sum of group scores / 100, a group without a configured weight taking an
   equal share of what the configured weights leave; weights are not normalised; rounded
   to 2 decimals half-up.
6. score ≥ pass → Pass, ≥ marginal → Marginal, else Fail.

With ``fail_on_error`` (Watchfloor's option, spec §9) an ``Error`` result fails the canary
like a critical one; Kayenta lets it pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["CanaryScore", "GroupScore", "ScoredMetric", "Thresholds", "score_canary"]

_COUNTED = ("Pass", "High", "Low", "NodataFailMetric")


@dataclass(frozen=True, slots=True)
class ScoredMetric:
    """What the scorer needs of one metric's classification."""

    name: str
    groups: tuple[str, ...]
    classification: str
    reason: str | None = None
    critical: bool = False
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Thresholds:
    """``pass`` and ``marginal`` scores from the execution request (0–100)."""

    pass_: float
    marginal: float


@dataclass(frozen=True, slots=True)
class GroupScore:
    """One group's score as Kayenta reports it in ``groupScores``."""

    name: str
    score: float
    no_data: bool
    label: str  # Pass / Marginal / Fail of the group's own score against the thresholds


@dataclass(frozen=True, slots=True)
class CanaryScore:
    """The canary's score, classification (Pass, Marginal, Fail) and why."""

    score: float
    classification: str
    reason: str | None
    groups: tuple[GroupScore, ...]


def _label(score: float, thresholds: Thresholds) -> str:
    if score >= thresholds.pass_:
        return "Pass"
    return "Marginal" if score >= thresholds.marginal else "Fail"


def _round_half_up(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _group_scores(results: Sequence[ScoredMetric], thresholds: Thresholds) -> list[GroupScore]:
    order: dict[str, None] = {}
    for result in results:
        for group in result.groups:
            order.setdefault(group)
    scores = []
    for group in order:
        members = [r for r in results if group in r.groups]
        counted = [r for r in members if r.classification in _COUNTED]
        passed = sum(r.classification == "Pass" for r in counted)
        score = 100.0 * passed / len(counted) if counted else 0.0
        scores.append(GroupScore(group, score, not counted, _label(score, thresholds)))
    return scores


def _weights(groups: Sequence[GroupScore], configured: Mapping[str, float]) -> dict[str, float]:
    unweighted = [g.name for g in groups if g.name not in configured]
    share = (100.0 - sum(configured.values())) / len(unweighted) if unweighted else 0.0
    return {g.name: configured.get(g.name, share) for g in groups}


def score_canary(
    results: Sequence[ScoredMetric],
    thresholds: Thresholds,
    group_weights: Mapping[str, float] | None = None,
    *,
    fail_on_error: bool = False,
) -> CanaryScore:
    """The canary score of ``results`` (Kayenta's ``NetflixACAJudge-v1.0`` scorer)."""
    scored = [r for r in results if not r.muted]
    groups = _group_scores(scored, thresholds)
    for result in scored:
        failing = result.critical and result.classification != "Pass"
        if failing or (fail_on_error and result.classification == "Error"):
            return CanaryScore(0.0, "Fail", f"Canary Failed: {result.reason}", tuple(groups))
    nodata = sum(r.classification == "Nodata" for r in scored)
    if scored and nodata / len(scored) >= 0.5:
        return CanaryScore(0.0, "Fail", "Canary Failed: 50% or more metrics returned NODATA", tuple(groups))
    weights = _weights(groups, group_weights or {})
    total = sum((100.0 if g.no_data else g.score) * weights[g.name] / 100.0 for g in groups)
    score = _round_half_up(total)
    return CanaryScore(score, _label(score, thresholds), None, tuple(groups))
