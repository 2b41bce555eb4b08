"""Property: Atlas's NaN rules of :add, :sub, :div and the comparisons hold for random inputs.

The vectorised implementation is compared with a scalar reference written from the rules
(stacklang.md §3), directly and end to end through a DuckDB store (where NaN is no data).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stacklang import nanmath
from tests.stacklang.support import NAN, open_store, run

OPS = ("add", "sub", "div", "gt", "ge", "lt", "le")


def reference(op: str, a: float, b: float) -> float:
    a_nan, b_nan = math.isnan(a), math.isnan(b)
    if op in ("add", "sub"):
        if a_nan and b_nan:
            return NAN
        x, y = (0.0 if a_nan else a), (0.0 if b_nan else b)
        return x + y if op == "add" else x - y
    if op == "div":
        if b == 0:
            return 0.0 if a == 0 else NAN
        return a / b
    compare = {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    return 1.0 if compare else 0.0  # a comparison with NaN is false


FLOATS = st.one_of(
    st.just(NAN),
    st.just(0.0),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.integers(-3, 3).map(float),
)
PAIRS = st.lists(st.tuples(FLOATS, FLOATS), min_size=1, max_size=40)


def _same(found: float, expected: float) -> bool:
    return (math.isnan(found) and math.isnan(expected)) or found == expected


@settings(max_examples=300)
@given(st.sampled_from(OPS), PAIRS)
def test_vectorised_math_follows_the_scalar_rules(op, pairs):
    a = np.asarray([[p[0] for p in pairs]], dtype=np.float64)
    b = np.asarray([[p[1] for p in pairs]], dtype=np.float64)
    found = nanmath.binary(op, a, b)[0]
    for n, (x, y) in enumerate(pairs):
        assert _same(float(found[n]), reference(op, x, y)), (op, x, y, found[n])


STORED = st.one_of(st.just(NAN), st.integers(-5, 5).map(float), st.floats(-1e6, 1e6, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(OPS), st.lists(st.tuples(STORED, STORED), min_size=1, max_size=12))
def test_evaluated_math_follows_the_scalar_rules(tmp_path_factory, op, pairs):
    path = tmp_path_factory.mktemp("nan") / "nan.duckdb"
    store = open_store(path, [({"name": "a"}, [p[0] for p in pairs]), ({"name": "b"}, [p[1] for p in pairs])])
    try:
        [found] = run(store, f"name,a,:eq,name,b,:eq,:{op}", len(pairs))
    finally:
        store.close()
    for n, (x, y) in enumerate(pairs):
        assert _same(float(found.values[n]), reference(op, x, y)), (op, x, y, found.values[n])
