"""A set of series on one time axis (a float64 matrix, one row per series) and its aggregation.

Aggregation follows Atlas's NaN rules: a sum, min or max over series ignores NaN and is NaN
only where every series is; a count counts the series with a value and is NaN where none has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
_FEW_GROUPS = 256


@dataclass(frozen=True)
class Lines:
    tags: list[Mapping[str, str]]
    labels: list[str]
    values: Matrix  # shape (len(tags), steps); may be shared: never written in place

    @staticmethod
    def empty(steps: int) -> Lines:
        return Lines([], [], np.empty((0, steps)))

    def __len__(self) -> int:
        return len(self.tags)

    def take(self, rows: Sequence[int]) -> Lines:
        return Lines([self.tags[i] for i in rows], [self.labels[i] for i in rows], self.values[list(rows)])


def to_label(tags: Mapping[str, str]) -> str:
    """Atlas's label of a tag set: ``k1=v1, k2=v2`` in key order."""
    return ", ".join(f"{k}={tags[k]}" for k in sorted(tags)) if tags else "NO TAGS"


def group_label(key: str) -> str:
    """``(k1=v1 k2=v2)`` from a group key string ``k1=v1 k2=v2 ``."""
    return f"({key.strip()})"


def group_rows(tags: Sequence[Mapping[str, str]], keys: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Rows by group, sorted by Atlas's key string ``k1=v1 k2=v2 ``; rows missing a key are dropped."""
    groups: dict[str, list[int]] = {}
    for row, row_tags in enumerate(tags):
        parts = []
        for key in keys:
            value = row_tags.get(key)
            if value is None:
                break
            parts.append(f"{key}={value} ")
        else:
            groups.setdefault("".join(parts), []).append(row)
    return sorted(groups.items())


def aggregate(values: Matrix, groups: Sequence[Sequence[int]], fn: str) -> Matrix:
    """One row per group: the ``fn`` (sum, count, min, max) of the group's rows."""
    steps = values.shape[1]
    if not groups:
        return np.empty((0, steps))
    order = np.fromiter((row for group in groups for row in group), dtype=np.int64)
    if len(order) == len(groups):  # one row per group: nothing to combine
        identity = len(order) == len(values) and bool(np.all(order == np.arange(len(order))))
        rows = values if identity else values[order]
        return rows if fn != "count" else np.where(np.isnan(rows), np.nan, 1.0)
    if len(groups) <= _FEW_GROUPS:  # a loop of large reductions beats one gather of everything
        return np.vstack([_reduce(values[list(group)], fn) for group in groups])
    starts = np.cumsum([0, *(len(g) for g in groups[:-1])])
    rows = values[order]
    present = ~np.isnan(rows)
    if fn in ("min", "max"):
        combine = np.fmin if fn == "min" else np.fmax
        return combine.reduceat(rows, starts, axis=0)
    counts = np.add.reduceat(present.astype(np.float64), starts, axis=0)
    result = counts if fn == "count" else np.add.reduceat(np.where(present, rows, 0.0), starts, axis=0)
    result[counts == 0] = np.nan
    return result


def _reduce(rows: Matrix, fn: str) -> Matrix:
    """One group's rows to one row."""
    if fn in ("min", "max"):
        return (np.fmin if fn == "min" else np.fmax).reduce(rows, axis=0)  # type: ignore[no-any-return]
    present = ~np.isnan(rows)
    counts = present.sum(axis=0).astype(np.float64)
    result: Matrix = counts if fn == "count" else np.where(present, rows, 0.0).sum(axis=0)
    result[counts == 0] = np.nan
    return result


def common_tags(tags: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The tags every series has with the same value (Atlas's tags of an aggregate of series)."""
    if not tags:
        return {}
    found = dict(tags[0])
    for other in tags[1:]:
        found = {k: v for k, v in found.items() if other.get(k) == v}
    return found
