"""Per-side preprocessing before classification and the statistics reported (canary-judge.md §3).

Control and experiment are treated separately:

1. NaN: ``remove`` drops NaNs, ``replace`` turns them into 0.0.
2. Outliers (strategy ``remove`` only): Kayenta's IQR detector with reduced sensitivity.
   Percentiles are R-7 (numpy's default linear interpolation, Kayenta's
   ``EstimationType.R_7``); lower fence ``min(P1, Q1 − k·IQR)``, upper fence
   ``max(P99, Q3 + k·IQR)``; points strictly outside are dropped.
3. Statistics on the result: min, max, mean, sample std (n − 1; 0 for one point) and
   count; all zero for an empty array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "Floats",
    "MetricStats",
    "NanStrategy",
    "OutlierStrategy",
    "handle_nans",
    "outlier_fences",
    "percentile",
    "preprocess",
    "remove_outliers",
    "summary",
]

Floats = npt.NDArray[np.float64]
NanStrategy = Literal["remove", "replace"]
OutlierStrategy = Literal["remove", "keep"]


@dataclass(frozen=True, slots=True)
class MetricStats:
    """Kayenta's ``experimentMetadata.stats`` / ``controlMetadata.stats`` of one side."""

    min: float
    max: float
    mean: float
    std: float
    count: int

    def as_dict(self) -> dict[str, float]:
        """Kayenta's key names, in Kayenta's order."""
        return {"min": self.min, "max": self.max, "mean": self.mean, "std": self.std, "count": self.count}


def handle_nans(values: Floats, strategy: NanStrategy) -> Floats:
    """``values`` without NaNs (``remove``) or with each NaN as 0.0 (``replace``); a new array."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if strategy == "remove":
        return values[~missing]
    if strategy == "replace":
        return np.where(missing, 0.0, values)
    raise ValueError(f"unknown NaN strategy {strategy!r}")


def percentile(values: Floats, p: float) -> float:
    """The ``p``-th percentile (0–100) of non-empty ``values`` by the R-7 method (linear interpolation)."""
    return float(np.percentile(values, p, method="linear"))


def outlier_fences(values: Floats, factor: float) -> tuple[float, float]:
    """``(lower, upper)`` fences of Kayenta's reduced-sensitivity IQR detector; ``values`` non-empty.

    Taking the 1st/99th percentile when it lies further out than Tukey's fence keeps
    small or tightly clustered samples from losing their tails.
    """
    p1, q1, q3, p99 = (percentile(values, p) for p in (1.0, 25.0, 75.0, 99.0))
    iqr = q3 - q1
    return float(min(p1, q1 - factor * iqr)), float(max(p99, q3 + factor * iqr))


def remove_outliers(values: Floats, factor: float) -> Floats:
    """``values`` (NaN-free) without the points strictly outside :func:`outlier_fences`."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    # An infinite value makes the IQR NaN (inf − inf); the comparisons then keep every point.
    with np.errstate(invalid="ignore"):
        lower, upper = outlier_fences(values, factor)
        return values[~((values < lower) | (values > upper))]


def preprocess(
    values: Floats,
    nan_strategy: NanStrategy = "remove",
    outlier_strategy: OutlierStrategy = "keep",
    outlier_factor: float = 3.0,
) -> Floats:
    """Steps 1 and 2 of §3 for one side: NaN handling, then outlier removal when asked for."""
    cleaned = handle_nans(values, nan_strategy)
    if outlier_strategy == "remove":
        return remove_outliers(cleaned, outlier_factor)
    return cleaned


def summary(values: Floats) -> MetricStats:
    """Statistics of the preprocessed ``values``; zeros for an empty array (Kayenta's convention)."""
    if values.size == 0:
        return MetricStats(0.0, 0.0, 0.0, 0.0, 0)
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return MetricStats(
        float(values.min()), float(values.max()), float(np.mean(values)), std, int(values.size)
    )
