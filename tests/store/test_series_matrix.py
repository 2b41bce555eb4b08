"""Series reads into a matrix: consolidation to wider steps (property-tested), rollups, ids, limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stacklang import evaluate
from store.duckdb_store import HOUR_MS, MINUTE_MS, DuckDBStore
from store.interfaces import TooManySeries
from store.model import Datapoint
from store.tag_query import Eq, MatchAll

STEP = 10_000
T0 = 1_800_000_000_000  # a whole hour
TAGS = {"name": "x", "nf.node": "a"}


def _write(store: DuckDBStore, fine: list[float], tags=TAGS) -> None:
    store.write_datapoints([Datapoint(tags, T0 + (i + 1) * STEP, v) for i, v in enumerate(fine)])


def _consolidate(fine: list[float], ratio: int, how: str) -> list[float]:
    """The reference: each coarse step from the fine steps inside it, NaN when none has data."""
    out = []
    for start in range(0, len(fine), ratio):
        present = [v for v in fine[start : start + ratio] if not math.isnan(v)]
        if not present:
            out.append(math.nan)
        elif how == "sum":
            out.append(math.fsum(present))
        elif how == "avg":
            out.append(math.fsum(present) / len(present))
        else:
            out.append(max(present) if how == "max" else min(present))
    return out


FINE = st.one_of(st.just(math.nan), st.floats(-1e3, 1e3, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(1, 8), st.data())
def test_a_wider_step_consolidates_the_steps_inside_it(ratio, coarse_steps, data):
    fine = data.draw(st.lists(FINE, min_size=ratio * coarse_steps, max_size=ratio * coarse_steps))
    store = DuckDBStore(":memory:")
    try:
        _write(store, fine)
        for how in ("avg", "sum", "max", "min"):
            [found] = store.series(MatchAll(), T0, T0 + len(fine) * STEP, ratio * STEP, how)
            assert np.allclose(found.values, _consolidate(fine, ratio, how), equal_nan=True), how
    finally:
        store.close()


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(1, 8), st.data())
def test_consolidation_preserves_sums(ratio, coarse_steps, data):
    """Gap-free rates: the average of each wide step times the ratio adds up to the fine steps' sum."""
    fine = data.draw(
        st.lists(st.floats(0, 1e3), min_size=ratio * coarse_steps, max_size=ratio * coarse_steps)
    )
    store = DuckDBStore(":memory:")
    try:
        _write(store, fine)
        end = T0 + len(fine) * STEP
        [narrow] = evaluate("name,x,:eq,:sum", store, T0, end, STEP)
        [wide] = evaluate("name,x,:eq,:sum", store, T0, end, ratio * STEP)
        [totals] = store.series(MatchAll(), T0, end, ratio * STEP, "sum")
    finally:
        store.close()
    assert math.isclose(
        float(wide.values.sum()) * ratio, float(narrow.values.sum()), rel_tol=1e-9, abs_tol=1e-6
    )
    assert math.isclose(float(totals.values.sum()), math.fsum(fine), rel_tol=1e-9, abs_tol=1e-6)


def test_rollups_consolidate_like_the_raw_data_they_replace(tmp_path):
    rng = np.random.default_rng(11)
    fine = rng.random(6 * 150).round(3).tolist()  # 150 minutes of 10 s steps
    for gap in (5, 6, 7, 400, 401):
        fine[gap] = math.nan
    store = DuckDBStore(tmp_path / "r.duckdb")
    try:
        _write(store, fine)
        store.roll_up(T0 + 150 * MINUTE_MS)
        store.cursor().execute("DELETE FROM points WHERE ts <= ?", [store.watermark("1m")])
        assert store.watermark("1h") == T0 + 2 * HOUR_MS
        for step, ratio in ((MINUTE_MS, 6), (5 * MINUTE_MS, 30), (HOUR_MS, 360)):
            for how in ("avg", "sum", "max", "min"):
                [found] = store.series(MatchAll(), T0, T0 + 2 * HOUR_MS, step, how)
                expected = _consolidate(fine[: 2 * 360], ratio, how)
                assert np.allclose(found.values, expected, equal_nan=True), (step, how)
    finally:
        store.close()


def test_a_step_straddling_the_rollup_watermark_combines_rollups_and_raw_data(tmp_path):
    fine = [float(i % 7) for i in range(6 * 20)]  # 20 minutes
    store = DuckDBStore(tmp_path / "w.duckdb")
    try:
        _write(store, fine)
        store.roll_up(T0 + 9 * MINUTE_MS)  # minutes 1-7 sealed; the rest only raw
        assert store.watermark("1m") == T0 + 7 * MINUTE_MS
        for how in ("avg", "sum", "max", "min"):
            [found] = store.series(MatchAll(), T0, T0 + 20 * MINUTE_MS, 5 * MINUTE_MS, how)
            assert np.allclose(found.values, _consolidate(fine, 30, how)), how
    finally:
        store.close()


def test_series_with_scattered_ids_are_read_the_same_as_consecutive_ones(tmp_path):
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        # Interleaved creation: the even series' ids are 200 runs of one, selected through the id list.
        points = [
            Datapoint({"name": "even" if n % 2 == 0 else "odd", "n": str(n)}, T0 + STEP, float(n))
            for n in range(400)
        ]
        store.write_datapoints(points)
        even = store.series(Eq("name", "even"), T0, T0 + STEP, STEP)
        assert [s.values.tolist() for s in even] == [[float(n)] for n in range(0, 400, 2)]
    finally:
        store.close()


def test_a_read_over_the_series_limit_fails_before_reading(docs_like_store):
    with pytest.raises(TooManySeries) as raised:
        docs_like_store.series(MatchAll(), T0, T0 + STEP, STEP, max_series=1)
    assert (raised.value.found, raised.value.limit) == (2, 1)


@pytest.fixture
def docs_like_store(tmp_path):
    store = DuckDBStore(tmp_path / "d.duckdb")
    store.write_datapoints(
        [Datapoint({"name": "a"}, T0 + STEP, 1.0), Datapoint({"name": "b"}, T0 + STEP, 2.0)]
    )
    yield store
    store.close()
