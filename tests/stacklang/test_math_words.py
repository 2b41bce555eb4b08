"""Math words: Atlas's NaN rules, unary operations, joins of groupings, aggregates of expressions."""

from __future__ import annotations

import pytest

from tests.stacklang.support import NAN, expect, open_store, run, values

# Atlas's documentation tables for the binary operators.
INPUTS = [
    ({"name": "in1"}, [1, 0, 1, 1, NAN]),
    ({"name": "in2"}, [2, 0, 0, NAN, NAN]),
    ({"name": "in3"}, [2, 0, 1, 1, NAN]),
    ({"name": "in4"}, [1, 0, 0, NAN, NAN]),
]


@pytest.fixture
def inputs(tmp_path):
    store = open_store(tmp_path / "inputs.duckdb", INPUTS)
    yield store
    store.close()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(
            "name,in1,:eq,name,in2,:eq,:add", [3, 0, 1, 1, NAN], id="add treats NaN as 0 unless both are"
        ),
        pytest.param(
            "name,in3,:eq,name,in4,:eq,:sub", [1, 0, 1, 1, NAN], id="sub treats NaN as 0 unless both are"
        ),
        pytest.param(
            "name,in1,:eq,name,in2,:eq,:div", [0.5, 0, NAN, NAN, NAN], id="div gives 0 for 0/0, NaN for x/0"
        ),
        pytest.param("name,in3,:eq,name,in4,:eq,:fadd", [3, 0, 1, NAN, NAN], id="fadd is plain addition"),
        pytest.param("name,in3,:eq,name,in4,:eq,:fsub", [1, 0, 1, NAN, NAN], id="fsub is plain subtraction"),
        pytest.param(
            "name,in3,:eq,name,in4,:eq,:fdiv", [2, NAN, float("inf"), NAN, NAN], id="fdiv is plain division"
        ),
        pytest.param("name,in1,:eq,name,in2,:eq,:mul", [2, 0, 0, NAN, NAN], id="mul propagates NaN"),
        pytest.param("name,in1,:eq,name,in2,:eq,:gt", [0, 0, 1, 0, 0], id="gt is 1 or 0, NaN gives 0"),
        pytest.param("name,in1,:eq,name,in2,:eq,:ge", [0, 1, 1, 0, 0], id="ge is 1 or 0, NaN gives 0"),
        pytest.param("name,in1,:eq,name,in2,:eq,:lt", [1, 0, 0, 0, 0], id="lt is 1 or 0, NaN gives 0"),
        pytest.param("name,in1,:eq,name,in2,:eq,:le", [1, 1, 0, 0, 0], id="le is 1 or 0, NaN gives 0"),
        pytest.param(
            "name,in1,:eq,:sum,name,in2,:eq,:sum,:and",
            [1, 0, 0, 0, 0],
            id="and on series: both non-zero, not NaN",
        ),
        pytest.param(
            "name,in1,:eq,:sum,name,in2,:eq,:sum,:or",
            [1, 0, 1, 1, 0],
            id="or on series: either non-zero, not NaN",
        ),
        pytest.param("name,in1,:eq,name,in2,:eq,:or", [3, 0, 1, 1, NAN], id="or on two queries is a query"),
        pytest.param("name,in1,:eq,2,:pow", [1, 0, 1, 1, NAN], id="pow with a constant"),
        pytest.param("name,in1,:eq,:neg", [-1, 0, -1, -1, NAN], id="neg"),
        pytest.param("name,in1,:eq,:neg,:abs", [1, 0, 1, 1, NAN], id="abs"),
        pytest.param("name,in3,:eq,4,:mul,:sqrt", [8**0.5, 0, 2, 2, NAN], id="sqrt"),
        pytest.param(
            "name,in1,:eq,:per-step", [60, 0, 60, 60, NAN], id="per-step turns a rate into a count per step"
        ),
        pytest.param(
            "name,in3,:eq,1.5,:clamp-min", [2, 1.5, 1.5, 1.5, NAN], id="clamp-min raises values below"
        ),
        pytest.param("name,in3,:eq,1.5,:clamp-max", [1.5, 0, 1, 1, NAN], id="clamp-max lowers values above"),
        pytest.param("42", [42] * 5, id="a number is a constant series"),
        pytest.param("1,2,:add,4,:const,:div", [0.75] * 5, id="numbers combine as constants"),
    ],
)
def test_math(inputs, expression, expected):
    [found] = run(inputs, expression, 5)
    assert values(found) == expect(expected)


def test_a_constant_is_tagged_and_labelled_with_its_value(inputs):
    [found] = run(inputs, "42", 5)
    assert (dict(found.tags), found.label) == ({"name": "42.0"}, "42.0")
    [ratio] = run(inputs, "name,in1,:eq,name,in2,:eq,:div", 5)
    assert (dict(ratio.tags), ratio.label) == ({"name": "in1"}, "(name=in1 / name=in2)")


def _rows(found):
    return [(dict(s.tags), values(s)) for s in found]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,name,ssCpuSystem,:eq,(,nf.app,),:by,:add",
            [
                ({"name": "ssCpuUser", "nf.app": "alerttest"}, [4, 6, 5]),
                ({"name": "ssCpuUser", "nf.app": "nccp"}, [14, 14, 14]),
            ],
            id="equal groupings join on their keys and drop unmatched groups",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,name,numRequests,:eq,:div",
            [
                ({"name": "ssCpuUser", "nf.app": "alerttest"}, [1, 1, NAN]),
                ({"name": "ssCpuUser", "nf.app": "api"}, [1, 1, 0.5]),
                ({"name": "ssCpuUser", "nf.app": "nccp"}, [8, 3.5, 1.5]),
            ],
            id="an ungrouped side applies to every group",
        ),
        pytest.param(
            "name,ssCpuSystem,:eq,(,nf.app,),:by,name,ssCpuUser,:eq,(,nf.app,nf.node,),:by,:sub",
            [
                ({"name": "ssCpuUser", "nf.app": "alerttest", "nf.node": "i-0123"}, [2, 2, 5]),
                ({"name": "ssCpuUser", "nf.app": "nccp", "nf.node": "i-0abc"}, [-2, 0, 2]),
            ],
            id="a subset grouping joins on its keys and the result keeps the superset's tags",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,:max",
            [({"name": "ssCpuUser"}, [8, 7, 6])],
            id="a max over grouped series keeps their common tags",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,:count",
            [({"name": "ssCpuUser"}, [3, 3, 2])],
            id="a count over grouped series counts those with a value",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,nf.node,),:by,:max,(,nf.app,),:by",
            [
                ({"name": "ssCpuUser", "nf.app": "alerttest"}, [1, 2, NAN]),
                ({"name": "ssCpuUser", "nf.app": "api"}, [1, 2, 2]),
                ({"name": "ssCpuUser", "nf.app": "nccp"}, [8, 7, 6]),
            ],
            id="a second group-by regroups by a subset of the keys",
        ),
        pytest.param(
            "name,ssCpu,:re,(,name,nf.app,),:by,(,name,),:by",
            [({"name": "ssCpuSystem"}, [9, 11, 13]), ({"name": "ssCpuUser"}, [10, 11, 8])],
            id="a second group-by without an aggregate sums",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,name,ssCpuSystem,:eq,:add,(,nf.app,),:by",
            [
                ({"name": "ssCpuUser", "nf.app": "alerttest"}, [4, 6, 5]),
                ({"name": "ssCpuUser", "nf.app": "nccp"}, [14, 14, 14]),
            ],
            id="a group-by after math groups every aggregate inside it",
        ),
    ],
)
def test_joins_and_aggregates_of_expressions(docs_store, expression, expected):
    assert _rows(run(docs_store, expression, 3)) == [(t, expect(v)) for t, v in expected]


def test_a_common_query_restricts_every_query_of_an_expression(docs_store):
    [found] = run(docs_store, "name,ssCpuUser,:eq,name,ssCpuSystem,:eq,:add,nf.app,nccp,:eq,:cq", 3)
    assert values(found) == expect([14, 14, 14])
