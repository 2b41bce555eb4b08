"""Aggregates and group-bys over the store: output tags, NO DATA, labels, offsets, consolidation, macros."""

from __future__ import annotations

import pytest

from tests.stacklang.support import NAN, STEP, T0, expect, open_store, run, values


def _rows(found):
    return [(dict(s.tags), s.label, values(s)) for s in found]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(
            "name,nothing,:eq",
            [({"name": "nothing"}, "NO DATA", [NAN] * 3)],
            id="an aggregate that matches nothing is one all-NaN series labelled NO DATA",
        ),
        pytest.param(
            "name,nothing,:eq,(,nf.app,),:by", [], id="a group-by that matches nothing has no series"
        ),
        pytest.param(
            "name,ssCpuSystem,:eq,(,nf.node,),:by", [], id="a group-by drops series missing a grouping key"
        ),
        pytest.param(
            "name,ssCpu,:re,:sum",
            [({"name": "unknown"}, "name~/^ssCpu/", [19, 22, 21])],
            id="an aggregate with no :eq keys is tagged name=unknown",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,name,),:by",
            [
                (
                    {"name": "ssCpuUser", "nf.app": "alerttest"},
                    "(nf.app=alerttest name=ssCpuUser)",
                    [1, 2, NAN],
                ),
                ({"name": "ssCpuUser", "nf.app": "api"}, "(nf.app=api name=ssCpuUser)", [1, 2, 2]),
                ({"name": "ssCpuUser", "nf.app": "nccp"}, "(nf.app=nccp name=ssCpuUser)", [8, 7, 6]),
            ],
            id="group keys are labelled in the order given and groups sorted by them",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,1m,:offset",
            [({"name": "ssCpuUser"}, "name=ssCpuUser (offset=1m)", [NAN, 10, 11])],
            id="offset reads earlier data",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,:avg",
            [({"name": "ssCpuUser"}, "name=ssCpuUser", [10 / 3, 11 / 3, 4])],
            id="avg is sum over count",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,:avg,(,nf.app,),:by",
            [
                ({"name": "ssCpuUser", "nf.app": "alerttest"}, "(nf.app=alerttest)", [1, 2, NAN]),
                ({"name": "ssCpuUser", "nf.app": "api"}, "(nf.app=api)", [1, 2, 2]),
                ({"name": "ssCpuUser", "nf.app": "nccp"}, "(nf.app=nccp)", [8, 7, 6]),
            ],
            id="a group-by after avg groups both of its aggregates",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,:sum",
            [({"name": "ssCpuUser"}, "name=ssCpuUser", [10, 11, 8])],
            id="a sum of grouped sums is the overall sum",
        ),
    ],
)
def test_data_expressions(docs_store, expression, expected):
    assert _rows(run(docs_store, expression, 3)) == [(t, label, expect(v)) for t, label, v in expected]


def test_legends_substitute_tag_values_and_keep_unknown_keys(docs_store):
    found = run(docs_store, "name,ssCpuUser,:eq,(,nf.app,),:by,$nf.app/$(name)/$nf.zone,:legend", 3)
    assert [s.label for s in found] == [
        "alerttest/ssCpuUser/nf.zone",
        "api/ssCpuUser/nf.zone",
        "nccp/ssCpuUser/nf.zone",
    ]


TIMER: list[tuple[dict[str, str], list[float]]] = [
    ({"name": "latency", "statistic": "count", "nf.node": "a"}, [2, 4]),
    ({"name": "latency", "statistic": "totalTime", "nf.node": "a"}, [1, 1]),
    ({"name": "latency", "statistic": "max", "nf.node": "a"}, [0.7, 0.4]),
    ({"name": "latency", "statistic": "count", "nf.node": "b"}, [2, 0]),
    ({"name": "latency", "statistic": "totalTime", "nf.node": "b"}, [3, 0]),
    ({"name": "latency", "statistic": "max", "nf.node": "b"}, [2.5, NAN]),
]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("name,latency,:eq,:dist-avg", [[1.0, 0.25]], id="dist-avg is total time over count"),
        pytest.param("name,latency,:eq,:dist-max", [[2.5, 0.4]], id="dist-max is the largest max"),
        pytest.param(
            "name,latency,:eq,:dist-avg,(,nf.node,),:by",
            [[0.5, 0.25], [1.5, 0]],
            id="dist-avg groups by node",
        ),
    ],
)
def test_distribution_macros(tmp_path, expression, expected):
    store = open_store(tmp_path / "timer.duckdb", TIMER)
    try:
        assert [values(s) for s in run(store, expression, 2)] == [expect(v) for v in expected]
    finally:
        store.close()


def test_a_wider_step_consolidates_as_the_aggregate_says(tmp_path):
    store = open_store(tmp_path / "c.duckdb", [({"name": "x", "nf.node": "a"}, [1, 5, 2, NAN])])
    try:
        wide = {"start": T0}

        def at_two_steps(expression):
            from stacklang import evaluate

            return [values(s) for s in evaluate(expression, store, wide["start"], T0 + 4 * STEP, 2 * STEP)]

        assert at_two_steps("name,x,:eq,:sum") == [[3.0, 2.0]]  # the average of each pair
        assert at_two_steps("name,x,:eq,:max") == [[5.0, 2.0]]
        assert at_two_steps("name,x,:eq,:min") == [[1.0, 2.0]]
        assert at_two_steps("name,x,:eq,:count") == [[1.0, 1.0]]
    finally:
        store.close()
