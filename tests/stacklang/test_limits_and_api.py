"""The entry point: its public surface, its range handling, and limits that fail before memory does."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import stacklang
from stacklang import Limits, StackLangError, evaluate, normalise, parse
from stacklang.expr import AggregateExpr, GroupBy
from store.tag_query import Eq
from tests.stacklang.support import STEP, T0, run, values


def test_the_public_surface_does_not_drift():
    assert sorted(stacklang.__all__) == [
        "Expr",
        "Limits",
        "ResultSeries",
        "StackLangError",
        "evaluate",
        "normalise",
        "parse",
        "parse_query",
    ]
    assert [f.name for f in dataclasses.fields(stacklang.ResultSeries)] == [
        "tags",
        "label",
        "values",
        "style",
    ]
    assert (Limits().max_series, Limits().max_points) == (10_000, 5_000_000)
    assert issubclass(StackLangError, ValueError)


def test_parse_answers_typed_expressions_bottom_first():
    assert parse("name,a,:eq,name,b,:eq,(,k,),:by") == [
        AggregateExpr("sum", Eq("name", "a")),
        GroupBy(AggregateExpr("sum", Eq("name", "b")), ("k",)),
    ]
    assert normalise("name,a,:eq , /* why */ (,k,) ,:by") == "name,a,:eq,:sum,(,k,),:by"


def test_the_start_is_aligned_down_and_the_end_rounded_up_to_steps(docs_store):
    [found] = evaluate("name,ssCpuUser,:eq", docs_store, T0 + 1_000, T0 + 2 * STEP + 1, STEP)
    assert values(found) == [10.0, 11.0, 8.0]


def test_values_are_float64_and_read_only(docs_store):
    [found] = run(docs_store, "name,ssCpuUser,:eq", 3)
    assert found.values.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        found.values[0] = 1.0


@pytest.mark.parametrize(
    ("expression", "limits", "message"),
    [
        pytest.param(
            "name,ssCpuUser,:eq",
            Limits(max_series=2),
            "the query name,ssCpuUser,:eq matches 3 series, over the limit of 2",
            id="a query matching more series than allowed is refused before reading",
        ),
        pytest.param(
            "name,ssCpuUser,:eq",
            Limits(max_points_read=8),
            "reading 3 series × 3 steps for name,ssCpuUser,:eq would read 9 points, over the limit of 8",
            id="a read over the points budget is refused",
        ),
        pytest.param(
            "name,ssCpu,:re,(,nf.app,name,),:by",
            Limits(max_series=4),
            "the query name,ssCpu,:re matches 5 series, over the limit of 4",
            id="the series read count against the limit",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.node,),:by",
            Limits(max_points=8),
            "the expression returns 3 series × 3 steps = 9 points, over the limit of 8",
            id="a result with more points than allowed is refused",
        ),
        pytest.param(
            "name,ssCpuSystem,:eq,name,numRequests,:eq,name,numRequests,:eq,:max",
            Limits(max_series=2),
            "the expression returns 3 series, over the limit of 2",
            id="the stack's expressions count together",
        ),
        pytest.param(
            "name,ssCpuUser,:eq",
            Limits(max_points=2),
            "3 steps per series is over the limit of 2 points",
            id="steps",
        ),
    ],
)
def test_limits(docs_store, expression, limits, message):
    with pytest.raises(StackLangError, match="over the limit") as raised:
        run(docs_store, expression, 3, limits=limits)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("start", "end", "step", "message"),
    [
        pytest.param(T0, T0, STEP, "the end of the range must be after its start", id="an empty range"),
        pytest.param(T0, T0 + STEP, 0, "the step must be positive", id="a zero step"),
    ],
)
def test_bad_ranges(docs_store, start, end, step, message):
    with pytest.raises(StackLangError, match=message):
        evaluate("name,ssCpuUser,:eq", docs_store, start, end, step)
