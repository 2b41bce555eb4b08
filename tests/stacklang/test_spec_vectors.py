"""Every public vector of stacklang.md §6, through ``stacklang.evaluate`` over a real DuckDB store."""

from __future__ import annotations

import pytest

from stacklang.parsing import execute
from tests.stacklang.support import NAN, STEP, T0, expect, open_store, run, values

DOCS_VECTORS = [
    pytest.param(
        "name,ssCpuUser,:eq",
        [({"name": "ssCpuUser"}, [10, 11, 8])],
        id="a query alone is its sum, tagged by its :eq",
    ),
    pytest.param(
        "name,ssCpuUser,:eq,:sum",
        [({"name": "ssCpuUser"}, [10, 11, 8])],
        id="an explicit sum adds the series",
    ),
    pytest.param(
        "name,ssCpuUser,:eq,:count",
        [({"name": "ssCpuUser"}, [3, 3, 2])],
        id="a count counts series with a value",
    ),
    pytest.param(
        "name,ssCpuUser,:eq,:max", [({"name": "ssCpuUser"}, [8, 7, 6])], id="a max takes the largest"
    ),
    pytest.param(
        "name,ssCpuUser,:eq,:min", [({"name": "ssCpuUser"}, [1, 2, 2])], id="a min takes the smallest"
    ),
    pytest.param(
        "name,ssCpu,:re,(,name,),:by",
        [({"name": "ssCpuSystem"}, [9, 11, 13]), ({"name": "ssCpuUser"}, [10, 11, 8])],
        id="a regex group-by gives one series per name, sorted",
    ),
]


@pytest.mark.parametrize(("expression", "expected"), DOCS_VECTORS)
def test_docs_dataset_vectors(docs_store, expression, expected):
    found = run(docs_store, expression, 3)
    assert [(dict(s.tags), values(s)) for s in found] == [(tags, expect(v)) for tags, v in expected]


TUTORIAL_VECTORS = [
    pytest.param(
        "app,www,:eq,name,cpuUsage,:eq,:and,:sum",
        [({"app": "www", "name": "cpuUsage"}, [53, 68])],
        id="a sum over an and of two :eq keeps both keys",
    ),
    pytest.param(
        "name,cpuUsage,:eq,:max,(,app,),:by",
        [({"app": "db", "name": "cpuUsage"}, [57, 62]), ({"app": "www", "name": "cpuUsage"}, [33, 37])],
        id="a max grouped by app gives each app's largest",
    ),
]


@pytest.mark.parametrize(("expression", "expected"), TUTORIAL_VECTORS)
def test_tutorial_vectors(tutorial_store, expression, expected):
    found = run(tutorial_store, expression, 2)
    assert [(dict(s.tags), values(s)) for s in found] == [(tags, expect(v)) for tags, v in expected]


def test_grouped_series_are_labelled_by_their_keys(docs_store, tutorial_store):
    assert [s.label for s in run(docs_store, "name,ssCpu,:re,(,name,),:by", 3)] == [
        "(name=ssCpuSystem)",
        "(name=ssCpuUser)",
    ]
    assert [s.label for s in run(tutorial_store, "name,cpuUsage,:eq,:max,(,app,),:by", 2)] == [
        "(app=db)",
        "(app=www)",
    ]


def test_the_window_vector_counts_non_zero_values_over_three_datapoints(tmp_path):
    store = open_store(tmp_path / "w.duckdb", [({"name": "w"}, [0, 1, -1, NAN, 0, 1, 1, 1, 1, 0])])
    try:
        [found] = run(store, "name,w,:eq,3,:rolling-count", 10)
        assert values(found) == expect([0, 1, 2, 2, 1, 1, 2, 3, 3, 2])
    finally:
        store.close()


@pytest.mark.parametrize(
    ("expression", "top_first"),
    [
        pytest.param("a,b,:dup", ["b", "b", "a"], id="dup copies the top item"),
        pytest.param("a,b,c,d,e,:swap", ["d", "e", "c", "b", "a"], id="swap exchanges the top two items"),
    ],
)
def test_stack_vectors(expression, top_first):
    assert [item.value for item in reversed(execute(expression))] == top_first


def test_every_value_covers_the_step_ending_at_its_time(docs_store):
    [shifted] = run(docs_store, "name,ssCpuUser,:eq", 3, start=T0 + STEP)
    assert values(shifted) == expect([11, 8, NAN])
