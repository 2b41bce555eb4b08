"""The Service page against the seeded world: its charts and tables are the API's figures, its links
open the next piece of evidence with the service, operation and time range filled in."""

from __future__ import annotations

from urllib.parse import parse_qsl

import plotly.graph_objects as go

from console.ui.data.service import (
    error_answer,
    operation_rows,
    options,
    queries,
    show_lonely_points,
)
from console.ui.pages import TRACES
from console.ui.safe import plain
from console.ui.url_state import COMMON, Schema, decode
from tests.console.ui.support import api, charts, query_of, table, window

PAGE = "views/service.py"
STEP_S = 10  # the seeded store's step


def graph(world, q):
    w = window(world)
    return api(world.url, "/api/v1/graph", q=q, s=w["from"], e=w["to"], format="json")


def red(world, by, service):
    w = window(world)
    return api(world.url, "/api/v1/red", by=by, service=service, start=w["from"], end=w["to"])["rows"]


def lines(spec):
    return {trace["name"]: trace["y"] for trace in spec["data"]}


def number(value):
    return None if value == "NaN" else value


def test_red_charts_are_the_graph_apis_figures_with_the_deploy_marked(world, console):
    page = console(PAGE, service="drm", **window(world))
    assert not page.exception
    shown = charts(page)
    q = queries("drm")

    calls = [number(row[0]) for row in graph(world, q["calls"])["values"]]
    rate = lines(shown["Requests"])["drm"]
    filled = [i for i, v in enumerate(calls) if v is not None]
    assert rate[filled[0] : filled[-1] + 1] == [v or 0.0 for v in calls[filled[0] : filled[-1] + 1]]
    assert all(v is None for v in rate[filled[-1] + 1 :])
    # Every drm call of the half hour (one a trace, and the slow trace) counted once.
    assert round(sum(v or 0 for v in rate) * STEP_S) == len(world.trace_ids) + 1

    errors = lines(shown["Errors"])["drm"]
    assert [e is None for e in errors] == [not c for c in calls]  # a gap exactly where nothing was called
    failed = sum(e / 100 * c for e, c in zip(errors, calls, strict=True) if c)
    assert round(failed * STEP_S) == len(world.failed_trace_ids)

    latency = graph(world, q["latency"])
    assert list(lines(shown["Latency"])) == ["p50", "p95", "p99"]
    for column, name in enumerate(["p50", "p95", "p99"]):
        assert lines(shown["Latency"])[name] == [number(row[column]) for row in latency["values"]]

    deploy = api(world.url, "/api/v1/annotations", service="drm")["annotations"][0]
    for spec in shown.values():
        assert [s["x0"] for s in spec["layout"]["shapes"]] == [deploy["time_ms"]]
        assert [a["text"] for a in spec["layout"]["annotations"]] == ["deploy drm-v1.42"]

    figures = red(world, "service", "drm")[0]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Requests/s"] == f"{figures['rate_per_s']:.3f}"
    assert metrics["Error %"] == f"{figures['error_pct']:.2f}"
    assert metrics["p99 ms"] == f"{figures['p99_ms']:.1f}"


def test_top_operations_by_impact_open_a_prefilled_trace_search(world, console):
    page = console(PAGE, service="playback", **window(world))
    operations = table(page, "operation")
    expected = sorted(red(world, "operation", "playback"), key=lambda r: -r["impact"])
    assert list(operations["operation"]) == [r["operation"] for r in expected] == ["POST /play"]
    row = operations.iloc[0]
    assert (row["impact ms/s"], row["req/s"], row["error %"], row["p99 ms"]) == (
        expected[0]["impact"],
        expected[0]["rate_per_s"],
        expected[0]["error_pct"],
        expected[0]["p99_ms"],
    )
    schema = Schema.of(TRACES.schema, COMMON)
    for column, extra in (("traces", {}), ("slowest", {"sort": "duration"}), ("errors", {"status": "error"})):
        path, params = query_of(row[column])
        assert path == "/traces"
        assert params == {"service": "playback", "operation": "POST /play", **extra, **window(world)}
        state, problems = decode(schema, params)
        assert not problems and state["operation"] == "POST /play"


def test_a_cluster_from_the_url_filters_every_figure(world, console):
    page = console(PAGE, service="playback", cluster="playback-v2-canary", **window(world))
    assert not page.exception
    assert page.selectbox(key="wf.service.cluster").value == "playback-v2-canary"
    assert page.query_params["cluster"] == "playback-v2-canary"
    figures = next(r for r in red(world, "cluster", "playback") if r["cluster"] == "playback-v2-canary")
    assert {m.label: m.value for m in page.metric}["Requests/s"] == f"{figures['rate_per_s']:.3f}"
    rate = lines(charts(page)["Requests"])
    assert list(rate) == ["playback-v2-canary"]
    assert round(sum(v or 0 for v in rate["playback-v2-canary"]) * STEP_S) == figures["requests"] == 30


def test_split_by_cluster_draws_a_line_per_cluster(world, console):
    page = console(PAGE, service="playback", **window(world))
    page.toggle(key="wf.service.split").set_value(True).run()
    assert not page.exception
    shown = charts(page)
    rate = lines(shown["Requests"])
    assert {k: round(sum(v or 0 for v in ys) * STEP_S) for k, ys in rate.items()} == {
        "playback-v1": 61,  # two traces in three, and the slow one
        "playback-v2-canary": 30,
    }
    assert set(lines(shown["Errors"])) == set(rate)
    assert len(lines(shown["Latency"])) == 6
    assert "playback-v1 p99" in lines(shown["Latency"])


def test_links_carry_the_service_and_the_range(world, console):
    page = console(PAGE, service="drm", **window(world))
    links = {link.proto.label: link.proto for link in page.get("page_link")}
    shared = f"from={window(world)['from']}&to={window(world)['to']}"
    assert links["Traces of drm"].page == "traces"
    assert links["Traces of drm"].query_string == f"service=drm&{shared}"
    assert links["Dependency graph"].query_string == f"service=drm&view=graph&{shared}"
    assert links["Logs of drm"].page == "logs"
    assert links["Logs of drm"].query_string == f"service=drm&{shared}"
    assert links[plain("SLO drm-license-ok")].page == "slos"
    assert links[plain("SLO drm-license-ok")].query_string == f"slo=drm-license-ok&{shared}"
    assert links["Latency in Metrics explorer"].page == "metrics"
    assert (
        dict(parse_qsl(links["Latency in Metrics explorer"].query_string))["q"] == queries("drm")["latency"]
    )
    slos = table(page, "SLO")
    assert list(slos["SLO"]) == [s["name"] for s in api(world.url, "/api/v1/slos", service="drm")["slos"]]
    assert query_of(slos.iloc[0]["open"]) == ("/slos", {"slo": "drm-license-ok", **window(world)})
    assert slos.iloc[0]["state"] == api(world.url, "/api/v1/slos/drm-license-ok")["state"]


def test_picking_a_service_writes_the_url_and_forgets_the_cluster(world, console):
    page = console(PAGE, service="playback", cluster="playback-v1", **window(world))
    picker = page.selectbox(key="wf.service.service")
    assert picker.options == ["Choose a service", "cdn", "drm", "playback"]
    picker.select("cdn").run()
    assert not page.exception
    assert page.query_params["service"] == "cdn"
    assert "cluster" not in page.query_params
    assert list(lines(charts(page)["Requests"])) == ["cdn"]


def test_without_a_service_the_page_asks_for_one(world, console):
    page = console(PAGE)
    assert not page.exception
    assert "Choose a service" in page.info[0].value
    assert not page.get("plotly_chart")


def test_a_name_full_of_stack_language_syntax_stays_one_literal(world, console):
    odd = "x,:(y) ,:sum"
    for q in queries(odd, "c,)", split=True).values():
        answer = graph(world, q)  # 400 if the name had split into tokens
        assert answer["metrics"] == []  # nothing is called that: no group
    page = console(PAGE, service=odd, **window(world))
    assert not page.exception
    assert page.selectbox(key="wf.service.service").value == odd


def test_error_percent_keeps_clusters_that_never_failed():
    calls = {"start": 0, "step": 10, "metrics": [{"nf.cluster": "a"}, {"nf.cluster": "b"}]}
    calls["values"] = [[4.0, 2.0], ["NaN", 1.0]]
    errors = {"start": 0, "step": 10, "metrics": [{"nf.cluster": "b"}], "values": [[1.0], ["NaN"]]}
    answer = error_answer(calls, errors, "svc")
    assert answer["legend"] == ["a", "b"]
    assert answer["values"] == [[0.0, 50.0], [None, 0.0]]


def test_operations_by_impact_highest_first_and_unknown_last():
    rows: list[dict[str, object]] = [
        {"operation": "a", "impact": 1.0},
        {"operation": "b", "impact": None},
        {"operation": "c", "impact": 5.0},
    ]
    assert [r["operation"] for r in operation_rows(rows)] == ["c", "a", "b"]


def test_pickers_keep_an_unknown_choice_and_markers_show_lonely_points():
    assert options("", ["b", "a", "b"]) == ["", "a", "b"]
    assert options("gone", ["a"]) == ["", "gone", "a"]
    figure = go.Figure(
        [go.Scatter(y=[1, None, 2, 3], mode="lines"), go.Scatter(y=[1, 2, None], mode="lines")]
    )
    show_lonely_points(figure)
    assert [t.mode for t in figure.data] == ["lines+markers", "lines"]
