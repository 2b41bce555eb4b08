"""Element-wise math with Atlas's NaN rules (stacklang.md §3), vectorised.

- ``add``/``sub``: NaN counts as 0 unless both sides are NaN (then NaN).
- ``div``: x/0 is NaN, except 0/0 which is 0 (no activity rather than no data).
- comparisons give 1.0 or 0.0; a comparison with NaN is 0.0.
- ``and``/``or``: a value is true when it is neither NaN nor 0.
- ``fadd``, ``fsub``, ``fmul``, ``fdiv``: plain IEEE arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from stacklang.lines import Matrix

LABELS = {
    "add": "({} + {})",
    "sub": "({} - {})",
    "mul": "({} * {})",
    "div": "({} / {})",
    "pow": "pow({}, {})",
    "gt": "({} > {})",
    "ge": "({} >= {})",
    "lt": "({} < {})",
    "le": "({} <= {})",
    "and": "({} AND {})",
    "or": "({} OR {})",
    "fadd": "({} + {})",
    "fsub": "({} - {})",
    "fmul": "({} * {})",
    "fdiv": "({} / {})",
}


def _nan_as_zero(combine: Callable[[Matrix, Matrix], Matrix]) -> Callable[[Matrix, Matrix], Matrix]:
    def apply(a: Matrix, b: Matrix) -> Matrix:
        a_nan, b_nan = np.isnan(a), np.isnan(b)
        result = combine(np.where(a_nan, 0.0, a), np.where(b_nan, 0.0, b))
        result[a_nan & b_nan] = np.nan
        return result

    return apply


def _div(a: Matrix, b: Matrix) -> Matrix:
    result: Matrix = np.divide(a, b, out=np.full(np.broadcast_shapes(a.shape, b.shape), np.nan), where=b != 0)
    result[(a == 0) & (b == 0)] = 0.0
    return result


def _truth(a: Matrix) -> npt.NDArray[np.bool_]:
    truth: npt.NDArray[np.bool_] = (a != 0) & ~np.isnan(a)
    return truth


_OPS: dict[str, Callable[[Matrix, Matrix], Matrix]] = {
    "add": _nan_as_zero(np.add),
    "sub": _nan_as_zero(np.subtract),
    "mul": np.multiply,
    "div": _div,
    "pow": np.power,
    "gt": lambda a, b: (a > b).astype(np.float64),
    "ge": lambda a, b: (a >= b).astype(np.float64),
    "lt": lambda a, b: (a < b).astype(np.float64),
    "le": lambda a, b: (a <= b).astype(np.float64),
    "and": lambda a, b: (_truth(a) & _truth(b)).astype(np.float64),
    "or": lambda a, b: (_truth(a) | _truth(b)).astype(np.float64),
    "fadd": np.add,
    "fsub": np.subtract,
    "fmul": np.multiply,
    "fdiv": np.divide,
}


def binary(op: str, a: Matrix, b: Matrix) -> Matrix:
    with np.errstate(all="ignore"):
        return np.asarray(_OPS[op](a, b), dtype=np.float64)


def unary(op: str, a: Matrix, step_ms: int) -> Matrix:
    with np.errstate(all="ignore"):
        if op == "abs":
            return np.abs(a)
        if op == "neg":
            return -a
        if op == "sqrt":
            return np.sqrt(a)
        return a * (step_ms / 1000)  # per-step: a rate per second to a count per step
