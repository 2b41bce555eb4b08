"""The Metrics explorer against the seeded server: the chart, legend and exemplars are the API's."""

from __future__ import annotations

import json
import math

import httpx

from console.ui.data.metrics import add_clause, caret, legend_rows, query_part
from stacklang.tokens import escape
from tests.console.ui.support import window
from tests.support.console_seed import SLOW_TRACE, TOKEN

BY_APP = "name,span.calls,:eq,(,nf.app,),:by"
DRM_MAX = "name,span.duration,:eq,statistic,max,:eq,:and,nf.app,drm,:eq,:and"


def _graph(world, q):
    w = window(world)
    answer = httpx.get(f"{world.url}/api/v1/graph", params={"q": q, "s": w["from"], "e": w["to"]})
    answer.raise_for_status()
    return answer.json()


def _figure(page):
    charts = page.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def _number(value):
    return None if value == "NaN" else value


def test_chart_and_legend_are_the_apis_figures_with_nan_as_gaps(world, console):
    page = console("views/metrics.py", q=BY_APP, **window(world))
    assert not page.exception
    api = _graph(world, BY_APP)
    lines = {trace["name"]: trace["y"] for trace in _figure(page)["data"] if trace["name"] != "exemplars"}
    assert set(lines) == set(api["legend"]) == {"(nf.app=cdn)", "(nf.app=drm)", "(nf.app=playback)"}
    for column, label in enumerate(api["legend"]):
        assert lines[label] == [_number(row[column]) for row in api["values"]]
    # The seeded half hour sits inside a one-hour window: the rest are gaps, not zeros.
    assert None in lines["(nf.app=drm)"] and any(v for v in lines["(nf.app=drm)"])

    legend = page.dataframe[0].value
    assert list(legend["series"]) == api["legend"]
    for column, row in enumerate(legend.to_dict("records")):
        values = [v for r in api["values"] if (v := _number(r[column])) is not None]
        assert row["tags"] == f"name=span.calls, nf.app={api['metrics'][column]['nf.app']}"
        assert (row["last"], row["max"], row["points"]) == (values[-1], max(values), len(values))
        assert math.isclose(row["avg"], sum(values) / len(values))
    assert page.text_area[0].value == BY_APP
    assert page.query_params["q"] == BY_APP


def test_a_bad_expression_shows_the_servers_reason_naming_the_field(world, console):
    page = console("views/metrics.py", q="name,foo,:eq,:bogus", **window(world))
    assert not page.exception
    errors = [e.value for e in page.error]
    assert errors == [r"Expression \(q\)\: unknown word \'\:bogus\' at position 13"]
    assert page.code[0].value == "name,foo,:eq,:bogus\n             ^"
    assert not page.get("plotly_chart")

    page = console("views/metrics.py", q=BY_APP, step="7s", **window(world))
    assert [e.value for e in page.error] == [
        r"Step \(step\)\: must be a multiple of the store\'s step \(10s\)"
    ]


def test_step_from_the_url_is_asked_of_the_server(world, console):
    page = console("views/metrics.py", q=BY_APP, step="1m", **window(world))
    assert not page.exception
    api = httpx.get(
        f"{world.url}/api/v1/graph",
        params={"q": BY_APP, "s": window(world)["from"], "e": window(world)["to"], "step": "1m"},
    ).json()
    assert api["step"] == 60_000
    drm = next(t for t in _figure(page)["data"] if t["name"] == "(nf.app=drm)")
    assert drm["y"] == [_number(row[1]) for row in api["values"]]
    assert page.text_input(key="wf.metrics.step").value == "1m"


def test_tag_browser_narrows_the_expression_in_one_click(world, console):
    page = console("views/metrics.py", q=BY_APP, **window(world))
    keys = httpx.get(f"{world.url}/api/v1/tags", params={"q": "name,span.calls,:eq"}).json()
    assert page.selectbox(key="metrics.tag_key").options == keys
    page.selectbox(key="metrics.tag_key").select("nf.app").run()
    values = httpx.get(f"{world.url}/api/v1/tags/nf.app", params={"q": "name,span.calls,:eq"}).json()
    assert page.selectbox(key="metrics.tag_value").options == values == ["cdn", "drm", "playback"]
    assert any(c.value == "3 values in the series the expression selects" for c in page.caption)
    page.selectbox(key="metrics.tag_value").select("drm").run()
    page.button(key="metrics.add_tag").click().run()
    assert not page.exception
    narrowed = "name,span.calls,:eq,nf.app,drm,:eq,:and,(,nf.app,),:by"
    assert page.text_area[0].value == narrowed
    assert page.query_params["q"] == narrowed
    assert [t["name"] for t in _figure(page)["data"] if t["name"] != "exemplars"] == ["(nf.app=drm)"]


def test_tag_browser_falls_back_to_every_series_for_an_unusable_query(world, console):
    page = console("views/metrics.py", q="a,:eq", **window(world))  # :eq needs two arguments
    assert not page.exception
    every = httpx.get(f"{world.url}/api/v1/tags").json()
    assert page.selectbox(key="metrics.tag_key").options == every
    page.selectbox(key="metrics.tag_key").select("statistic").run()
    assert page.selectbox(key="metrics.tag_value").options == ["count", "max", "percentile", "totalTime"]
    assert any(c.value == "4 values in all series" for c in page.caption)
    page.selectbox(key="metrics.tag_value").select("max").run()
    page.button(key="metrics.add_tag").click().run()
    assert page.query_params["q"] == "a,:eq,statistic,max,:eq,:and"


def test_an_example_fills_an_empty_expression(world, console):
    page = console("views/metrics.py", **window(world))
    assert not page.exception
    assert not page.get("plotly_chart")
    assert "Type an expression" in page.info[0].value
    page.button(key="metrics.example.0").click().run()
    assert page.query_params["q"] == BY_APP
    assert len([t for t in _figure(page)["data"] if t["name"] != "exemplars"]) == 3


def test_exemplars_link_the_slowest_traces_per_step(world, console):
    page = console("views/metrics.py", q=DRM_MAX, **window(world))
    assert not page.exception
    w = window(world)
    api = httpx.get(
        f"{world.url}/api/v1/exemplars",
        params={"q": DRM_MAX, "start": w["from"], "end": w["to"], "step": 10_000},
    ).json()
    expected = [e for s in api["series"] for e in s["exemplars"]]
    assert len(page.dataframe) == 2  # the legend, then the exemplars
    table = page.dataframe[1].value
    assert sorted(table["trace_id"]) == sorted(e["trace_id"] for e in expected)
    slow = table[table["trace_id"] == SLOW_TRACE].iloc[0]
    assert slow["duration ms"] == 900.0
    assert slow["trace"] == f"/traces?trace={SLOW_TRACE}&from={w['from']}&to={w['to']}"
    marks = next(t for t in _figure(page)["data"] if t["name"] == "exemplars")
    assert len(marks["y"]) == sum(1 for e in expected if e.get("value") is not None)


def _publish_queue_depth(world, values):
    """A metric that is not span-derived, one point per 10 s step ending a minute ago (None: no point)."""
    first = (world.now_ms - 60_000) // 10_000 * 10_000 - 10_000 * len(values)
    metrics = [
        {"tags": {"name": "queue.depth"}, "timestamp": first + 10_000 * n, "value": v}
        for n, v in enumerate(values)
        if v is not None
    ]
    body = {"tags": {}, "metrics": metrics}  # no other tags: other pages' tests list tag values
    headers = {"Authorization": f"Bearer {TOKEN}"}
    httpx.post(f"{world.url}/api/v1/publish", json=body, headers=headers).raise_for_status()


def test_a_published_metric_charts_with_gaps_and_has_no_exemplars(world, console):
    _publish_queue_depth(world, [3.0, None, None, 5.0, 4.0])
    q = "name,queue.depth,:eq"
    page = console("views/metrics.py", q=q, **window(world))
    assert not page.exception
    api = _graph(world, q)
    line = [t for t in _figure(page)["data"] if t["name"] != "exemplars"]
    assert len(line) == 1 and line[0]["y"] == [_number(row[0]) for row in api["values"]]
    shown = [v for v in line[0]["y"] if v is not None]
    assert shown == [3.0, 5.0, 4.0]  # the two missing steps are gaps, not zeros
    legend = page.dataframe[0].value.to_dict("records")[0]
    assert (legend["last"], legend["max"], legend["points"]) == (4.0, 5.0, 3)
    assert math.isclose(legend["avg"], 4.0)
    assert len(page.dataframe) == 1  # the legend only: no exemplars table
    assert any("no span-derived series" in c.value for c in page.caption)


def test_add_clause_goes_into_the_first_query():
    assert add_clause("", "nf.app", "drm") == "nf.app,drm,:eq"
    assert add_clause("name,x,:eq", "k", "v") == "name,x,:eq,k,v,:eq,:and"
    assert add_clause("name,x,:eq,:sum", "k", "v") == "name,x,:eq,k,v,:eq,:and,:sum"
    assert add_clause(BY_APP, "k", "v") == "name,span.calls,:eq,k,v,:eq,:and,(,nf.app,),:by"
    assert add_clause("name,x,:eq,app,(,a,b,),:in,:and,:max", "k", "v") == (
        "name,x,:eq,app,(,a,b,),:in,:and,k,v,:eq,:and,:max"
    )
    assert add_clause("name,x,", "k", "v") == "name,x,k,v,:eq,:and"
    assert add_clause("name,x,:eq", "span.name", "GET /a,b:c") == (
        "name,x,:eq,span.name,GET /a\\u002cb\\u003ac,:eq,:and"
    )


def test_query_part_literal_and_caret():
    assert query_part(BY_APP) == "name,span.calls,:eq"
    assert query_part("1,2,:add") == ""
    assert escape("(") == "\\u0028" and escape(" a ") == "\\u0020a\\u0020"
    assert caret("a,b,:eq,:x", "unknown word ':x' at position 8") == "a,b,:eq,:x\n        ^"
    assert caret("a,b,\n:x", "unknown word ':x' at position 5") == ":x\n^"
    assert caret("a", "no position here") is None


def test_legend_rows_leave_gaps_out():
    answer = {"legend": ["a"], "metrics": [{"name": "a"}], "values": [["NaN"], [2.0], [4.0], ["NaN"]]}
    assert legend_rows(answer) == [
        {"series": "a", "tags": "name=a", "last": 4.0, "avg": 3.0, "max": 4.0, "points": 2}
    ]
    empty = legend_rows({"legend": ["b"], "metrics": [{}], "values": [["NaN"]]})
    assert empty[0]["last"] is None and empty[0]["points"] == 0
