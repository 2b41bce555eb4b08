"""Filter words (statistics, :filter, :topk, :bottomk) and style words (carried in ResultSeries.style)."""

from __future__ import annotations

import pytest

from tests.stacklang.support import NAN, expect, open_store, run, values


@pytest.fixture
def stats_store(tmp_path):
    store = open_store(tmp_path / "s.duckdb", [({"name": "input"}, [0, 5, 1, 3, 1, NAN])])
    yield store
    store.close()


@pytest.mark.parametrize(
    ("stat", "value"),
    [("avg", 2), ("max", 5), ("min", 0), ("last", 1), ("total", 10), ("count", 5)],
    ids=lambda v: f"{v}" if isinstance(v, str) else "",
)
def test_stat_summarises_the_window_as_atlas_documents(stats_store, stat, value):
    [found] = run(stats_store, f"name,input,:eq,{stat},:stat", 6)
    assert values(found) == expect([value] * 6)
    assert found.label == f"stat-{stat}(name=input)"


@pytest.mark.parametrize(
    ("expression", "apps"),
    [
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,:stat-max,5,:gt,:filter", ["nccp"], id="keep groups over 5"
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,:stat-min,2,:lt,:stat-last,5,:gt,:or,:filter",
            ["alerttest", "api", "nccp"],
            id="combined conditions",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,name,numRequests,:eq,3,:gt,:filter",
            ["alerttest", "api", "nccp"],
            id="an ungrouped condition keeps everything when it is ever true",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,name,numRequests,:eq,9,:gt,:filter",
            [],
            id="an ungrouped condition keeps nothing when it is never true",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,max,2,:topk", ["nccp", "alerttest"], id="topk by max"
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,avg,1,:bottomk", ["alerttest"], id="bottomk by average"
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,last,2,:bottomk", ["alerttest", "api"], id="ties keep order"
        ),
        pytest.param(
            "name,ssCpuUser,:eq,(,nf.app,),:by,total,5,:topk",
            ["nccp", "api", "alerttest"],
            id="k larger than the set",
        ),
    ],
)
def test_filters_choose_series(docs_store, expression, apps):
    assert [s.tags["nf.app"] for s in run(docs_store, expression, 3)] == apps


@pytest.mark.parametrize(
    ("expression", "style"),
    [
        pytest.param("name,ssCpuUser,:eq", {}, id="no settings, no style"),
        pytest.param("name,ssCpuUser,:eq,f00,:color", {"color": "ff0000"}, id="a 3-digit color is expanded"),
        pytest.param(
            "name,ssCpuUser,:eq,80ff0000,:color",
            {"color": "ff0000", "alpha": 128},
            id="an 8-digit color carries alpha",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,40,:alpha,00ff00,:color",
            {"color": "00ff00"},
            id="a color after an alpha replaces it",
        ),
        pytest.param(
            "name,ssCpuUser,:eq,00ff00,:color,40,:alpha",
            {"color": "00ff00", "alpha": 64},
            id="an alpha after a color becomes the color's",
        ),
        pytest.param("name,ssCpuUser,:eq,40,:alpha", {"alpha": 64}, id="alpha is two hex digits"),
        pytest.param("name,ssCpuUser,:eq,:area", {"line_style": "area", "stack": False}, id="area"),
        pytest.param("name,ssCpuUser,:eq,:stack", {"line_style": "stack", "stack": True}, id="stack"),
        pytest.param(
            "name,ssCpuUser,:eq,:line,2,:lw,1,:axis",
            {"line_style": "line", "stack": False, "line_width": 2.0, "axis": 1},
            id="line width and axis",
        ),
    ],
)
def test_style_settings_reach_the_result(docs_store, expression, style):
    [found] = run(docs_store, expression, 3)
    assert found.style == style


def test_math_after_style_keeps_the_style(docs_store):
    [found] = run(docs_store, "name,ssCpuUser,:eq,users,:legend,:abs,2,:mul,3,:rolling-max", 3)
    assert (found.label, found.style, values(found)) == ("users", {}, expect([20, 22, 22]))


def test_every_expression_on_the_stack_is_evaluated_in_order(docs_store):
    found = run(docs_store, "name,ssCpuUser,:eq,user,:legend,name,ssCpuSystem,:eq,:max,system,:legend", 3)
    assert [(s.label, values(s)) for s in found] == [
        ("user", expect([10, 11, 8])),
        ("system", expect([6, 7, 8])),
    ]
