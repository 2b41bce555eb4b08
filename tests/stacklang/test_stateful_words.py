"""Stateful words: Atlas's documented windows, look-back before the graph's start, DES."""

from __future__ import annotations

import numpy as np
import pytest

from stacklang import stateful
from tests.stacklang.support import NAN, STEP, T0, expect, open_store, run, values

WINDOW = [0, 1, -1, NAN, 0, 1, 1, 1, 1, 0]
GAPPY = [0, 1, -1, NAN, NAN, 0, 1, 1, 1, 0]
SPARSE = [0, 1, -1, NAN, NAN, NAN, 1, 1, 1, 0]


@pytest.fixture
def windows(tmp_path):
    store = open_store(
        tmp_path / "w.duckdb",
        [({"name": "window"}, WINDOW), ({"name": "gappy"}, GAPPY), ({"name": "sparse"}, SPARSE)],
    )
    yield store
    store.close()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("name,window,:eq,3,:rolling-count", [0, 1, 2, 2, 1, 1, 2, 3, 3, 2], id="rolling-count"),
        pytest.param(
            "name,window,:eq,3,:rolling-min", [0, 0, -1, -1, -1, 0, 0, 1, 1, 0], id="rolling-min ignores NaN"
        ),
        pytest.param(
            "name,window,:eq,3,:rolling-max", [0, 1, 1, 1, 0, 1, 1, 1, 1, 1], id="rolling-max ignores NaN"
        ),
        pytest.param(
            "name,gappy,:eq,3,2,:rolling-mean",
            [NAN, 0.5, 0, 0, NAN, NAN, 0.5, 2 / 3, 1, 2 / 3],
            id="rolling-mean needs a minimum number of values",
        ),
        pytest.param(
            "name,sparse,:eq,3,:rolling-sum",
            [0, 1, 0, 0, -1, NAN, 1, 2, 3, 2],
            id="rolling-sum is NaN for an empty window",
        ),
        pytest.param(
            "name,window,:eq,2,:delay", [NAN, NAN, 0, 1, -1, NAN, 0, 1, 1, 1], id="delay shifts by n"
        ),
        pytest.param(
            "name,sparse,:eq,:integral",
            [0, 1, 0, 0, 0, 0, 1, 2, 3, 3],
            id="integral carries over missing values",
        ),
        pytest.param(
            "name,window,:eq,:derivative",
            [NAN, 1, -2, NAN, NAN, 1, 0, 0, 0, -1],
            id="derivative is the change",
        ),
    ],
)
def test_atlas_documented_windows(windows, expression, expected):
    [found] = run(windows, expression, 10)
    assert values(found) == expect(expected)


def test_windows_look_back_before_the_start_of_the_range(windows):
    [count] = run(windows, "name,window,:eq,3,:rolling-count", 4, start=T0 + 6 * STEP)
    # The same values as over the whole range (without look-back the first would be 1, not 2).
    assert values(count) == expect([2, 3, 3, 2])
    [delayed] = run(windows, "name,window,:eq,1,:delay", 2, start=T0 + 1 * STEP)
    assert values(delayed) == expect([0, 1])
    [change] = run(windows, "name,window,:eq,:derivative", 1, start=T0 + 1 * STEP)
    assert values(change) == expect([1])


def test_stateful_labels(windows):
    assert run(windows, "name,window,:eq,3,:rolling-count", 1)[0].label == "rolling-count(name=window, 3)"
    assert run(windows, "name,window,:eq,:integral", 1)[0].label == "integral(name=window)"


def _des_reference(values, training, alpha, beta):
    """Atlas's OnlineDes, one value at a time."""
    out, samples, sp, bp = [], 0, NAN, NAN
    for v in values:
        out.append(sp if samples >= training else NAN)
        if v == v:
            if samples == 0:
                sp, bp = v, 0.0
            else:
                sn = alpha * v + (1 - alpha) * (sp + bp)
                bp = beta * (sn - sp) + (1 - beta) * bp
                sp = sn
            samples += 1
    return out


def test_des_matches_atlas_one_value_at_a_time():
    rng = np.random.default_rng(3)
    data = rng.random((4, 50))
    data[1, 7:12] = NAN
    found = stateful.des("des", data, 5, 0.1, 0.5)
    for row in range(4):
        assert np.allclose(found[row], _des_reference(data[row], 5, 0.1, 0.5), equal_nan=True)


def test_sliding_des_does_not_depend_on_where_the_graph_starts(tmp_path):
    rng = np.random.default_rng(5)
    series = [({"name": "load"}, (10 + rng.random(60)).tolist())]
    store = open_store(tmp_path / "d.duckdb", series)
    try:
        [whole] = run(store, "name,load,:eq,5,0.1,0.5,:sdes", 30, start=T0 + 30 * STEP)
        [later] = run(store, "name,load,:eq,5,0.1,0.5,:sdes", 20, start=T0 + 40 * STEP)
        assert values(whole)[10:] == values(later)
        assert not any(v is None for v in values(whole)), "a full training period of look-back is read"
    finally:
        store.close()
