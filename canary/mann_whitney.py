"""R's two-sample Wilcoxon (Mann-Whitney) interval, shift estimate and p-value (canary-judge.md §4.1).

:func:`mann_whitney` is ``wilcox.test(x, y, conf.int=TRUE, correct=TRUE, exact=FALSE)`` as
Kayenta computes it: the asymptotic (normal) interval for the location shift of ``x``
(experiment) against ``y`` (control), found by inverting the rank-sum statistic
:func:`wilcoxon_difference` with R's Brent root finder :func:`zeroin`. Ties get average
ranks and the tie-corrected variance; every evaluation uses the continuity correction.

Kayenta departs from R in one place and the judge follows Kayenta: the Hodges-Lehmann
estimate keeps the continuity correction (R drops it for the estimate).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm, rankdata

__all__ = [
    "EPSILON",
    "AllTiedError",
    "MannWhitneyResult",
    "cles",
    "mann_whitney",
    "wilcoxon_difference",
    "zeroin",
]

Floats = npt.NDArray[np.float64]

# DBL_EPSILON, as R's zeroin.c uses it for the relative part of the tolerance.
EPSILON = 2.220446049250313e-16


class AllTiedError(ValueError):
    """Every observation of the combined sample is tied, so the rank statistic has no spread."""

    def __init__(self) -> None:
        # R's own message, so a log line can be matched against R or Kayenta output.
        super().__init__("cannot compute confidence interval when all observations are tied")


@dataclass(frozen=True, slots=True)
class MannWhitneyResult:
    """Interval ``[lower, upper]`` for the shift of experiment over control, its estimate and p-value.

    ``p_value`` is R's two-sided normal approximation with continuity correction at a
    shift of 0 (``wilcox.test(..., exact=FALSE, correct=TRUE)$p.value``). Kayenta computed
    its own with Apache Commons (no continuity correction) and never reported it; here it
    is shown beside the verdict and no verdict depends on it.
    """

    lower: float
    upper: float
    estimate: float
    p_value: float


def zeroin(
    f: Callable[[float], float], lower: float, upper: float, tol: float = 1e-4, max_iter: int = 1000
) -> float:
    """A root of ``f`` in ``[lower, upper]`` by Brent's method, as R's ``R_zeroin2`` (``uniroot``).

    A faithful port, so intervals agree with R to the last bit: an endpoint where ``f`` is
    exactly 0 is returned at once; the step is accepted when ``|c − b| / 2 ≤ 2·ε·|b| + tol/2``;
    at most ``max_iter + 1`` steps are taken and, like R, the last iterate is returned
    without error when that is not enough. ``f`` should change sign over the interval.
    """
    a, b = lower, upper
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(max_iter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            # Keep b the best approximation so far.
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * EPSILON * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        # Interpolate only when the previous step was large enough and went the right way.
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                # Two distinct points: the secant.
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                # Inverse quadratic interpolation.
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            # Accept b + p/q only inside [b, c] and when it shrinks faster than bisection.
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            # c keeps the sign opposite to b's, so [b, c] still brackets the root.
            c, fc = a, fa
    return b


def wilcoxon_difference(x: Floats, y: Floats, mu: float, quantile: float) -> float:
    """R's ``wdiff(mu, zq)``: the standardised rank sum of ``x − mu`` against ``y``, minus ``quantile``.

    Average ranks for ties, the tie-corrected variance and the continuity correction
    ``sign(dz)·0.5``. Raises :class:`AllTiedError` when the variance is 0.
    """
    nx, ny = float(x.size), float(y.size)
    ranks = rankdata(np.concatenate((x - mu, y)))
    dz = float(ranks[: x.size].sum()) - nx * (nx + 1.0) / 2.0 - nx * ny / 2.0
    correction = math.copysign(0.5, dz) if dz != 0.0 else 0.0
    # R groups ties by equal ranks (table(dr)); equal values get equal average ranks.
    _, ties = np.unique(ranks, return_counts=True)
    tie_sum = float(np.sum(ties.astype(np.float64) ** 3 - ties))
    n = nx + ny
    sigma = math.sqrt((nx * ny / 12.0) * ((n + 1.0) - tie_sum / (n * (n - 1.0))))
    if sigma == 0.0:
        raise AllTiedError()
    return (dz - correction) / sigma - quantile


def _root(x: Floats, y: Floats, quantile: float, mu_min: float, mu_max: float) -> float:
    """R's ``root(zq)``: an endpoint when the statistic never crosses ``quantile``, else Brent."""

    def w(mu: float) -> float:
        return wilcoxon_difference(x, y, mu, quantile)

    # In extreme cases (wilcox.test(1, 2:60, conf.int=TRUE)) the bound is an endpoint.
    if w(mu_min) <= 0.0:
        return mu_min
    if w(mu_max) >= 0.0:
        return mu_max
    return zeroin(w, mu_min, mu_max)


def mann_whitney(x: Floats, y: Floats, confidence: float) -> MannWhitneyResult:
    """Interval and estimate of the shift of ``x`` (experiment) over ``y`` (control) at ``confidence``.

    Both samples must be non-empty and NaN-free. Raises :class:`AllTiedError` when all
    observations are tied at a shift the search evaluates (Kayenta then reports ``Error``).
    """
    alpha = 1.0 - confidence
    mu_min = float(x.min() - y.max())
    mu_max = float(x.max() - y.min())
    z = float(norm.ppf(alpha / 2.0))  # negative: −1.959964 at 0.95
    lower = _root(x, y, -z, mu_min, mu_max)
    upper = _root(x, y, z, mu_min, mu_max)
    # No endpoint shortcut for the estimate, as in R; W(μmin) ≥ 0 ≥ W(μmax) always holds.
    estimate = zeroin(lambda mu: wilcoxon_difference(x, y, mu, 0.0), mu_min, mu_max)
    statistic = wilcoxon_difference(x, y, 0.0, 0.0)
    p_value = 2.0 * min(float(norm.cdf(statistic)), float(norm.sf(statistic)))
    return MannWhitneyResult(lower, upper, estimate, p_value)


def cles(x: Floats, y: Floats) -> float:
    """Common-language effect size: P(an experiment point > a control point), ties counting half.

    ``(2·R₁ − m(m+1)) / (2·n·m)`` with ``R₁`` the rank sum of ``x`` (``m`` points) in the
    combined average-tie ranking and ``n`` the control count. 0.5 means no effect.
    """
    m, n = float(x.size), float(y.size)
    ranks = rankdata(np.concatenate((x, y)))
    return (2.0 * float(ranks[: x.size].sum()) - m * (m + 1.0)) / (2.0 * n * m)
