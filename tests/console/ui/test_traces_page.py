"""The Traces page against real servers: the seeded world, and a small server of this module's own
(compare, malformed and hostile traces, kept apart so other pages' figures stay as seeded)."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest

from console.settings import SERVER_URL_ENV
from console.ui.data.dependency_graph import dependency_figure, layers
from console.ui.data.traces import search_query
from console.ui.safe import plain
from store.model import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, STATUS_ERROR, STATUS_OK, Span
from tests.console.ui.support import api, none, window
from tests.support.console_seed import HOSTILE_MESSAGE, SLOW_TRACE, TOKEN
from tests.support.server import RunningServer

PAGE = "views/traces.py"
MS = 1_000_000
# The own server's traces start two hours ago: within every retention, and looked up by id only.
T0 = (int(time.time()) - 7_200) * 1_000 * MS
COMPARE_A = "a" * 31 + "1"
COMPARE_B = "b" * 31 + "2"
BROKEN = "c" * 31 + "3"
HOSTILE = "d" * 31 + "4"
HOSTILE_OPERATION = "**GET** /x <b>y</b>"
EVENT = {"time_ns": T0 + 5 * MS, "name": "retry <i>1</i>", "attributes": {"why": "# heading"}}
HOSTILE_PARTS = {
    "status_code": STATUS_ERROR,
    "status_message": HOSTILE_MESSAGE,
    "attributes": {"note": HOSTILE_MESSAGE},
    "events": (EVENT,),
}


def frame_with(page, *columns):
    """The page's dataframe holding these columns (tables are told apart by what they show)."""
    found = [d.value for d in page.dataframe if set(columns) <= set(d.value.columns)]
    assert len(found) == 1, [list(d.value.columns) for d in page.dataframe]
    return found[0]


def param(page, name):
    """A query parameter as a list (AppTest keeps a single value as a text)."""
    value = page.query_params[name]
    return value if isinstance(value, list) else [value]


def picked_point(customdata):
    """A plotly chart's selection state after a click on the point carrying ``customdata``."""
    return {
        "selection": {"points": [{"customdata": customdata}], "point_indices": [0], "box": [], "lasso": []}
    }


def figures(page):
    return [json.loads(chart.proto.spec) for chart in page.get("plotly_chart")]


def links(page):
    return {
        link.proto.label: (link.proto.page, parse_qs(link.proto.query_string))
        for link in page.get("page_link")
    }


def _span(trace, n, parent, name, service, start_ms, end_ms, kind=SPAN_KIND_SERVER, **more):
    span_id, parent_id = (f"{trace[:4]}{i:012x}" if i else "" for i in (n, parent))
    times = (T0 + start_ms * MS, T0 + end_ms * MS)
    return Span(trace, span_id, parent_id, name, kind, *times, service, **{"status_code": STATUS_OK, **more})


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """A server with four traces: A and B differ in shape, one has a parent cycle, one hostile text."""
    server = RunningServer(tmp_path_factory.mktemp("traces-page"), api_token=TOKEN)
    server.store.write_spans(
        [
            _span(COMPARE_A, 1, None, "POST /play", "playback", 0, 100),
            _span(COMPARE_A, 2, 1, "POST /license", "playback", 2, 60, SPAN_KIND_CLIENT),
            _span(COMPARE_A, 3, 2, "POST /license", "drm", 3, 59),
            _span(COMPARE_A, 4, 1, "GET /manifest", "cdn", 61, 90),
            _span(COMPARE_B, 1, None, "POST /play", "playback", 0, 80),
            _span(COMPARE_B, 2, 1, "POST /license", "drm", 2, 30, status_code=STATUS_ERROR),
            _span(COMPARE_B, 3, 1, "GET /manifest", "cdn", 31, 50),
            _span(COMPARE_B, 4, 1, "GET /manifest", "cdn", 51, 70),
            _span(BROKEN, 1, 2, "POST /play", "playback", 0, 10),
            _span(BROKEN, 2, 1, "POST /license", "drm", 1, 5),
            _span(HOSTILE, 1, None, HOSTILE_OPERATION, "playback", 0, 30, **HOSTILE_PARTS),
        ]
    )
    yield server
    server.stop()


@pytest.fixture
def on_own(own, console, monkeypatch):
    """``console`` pointed at the own server (the read cache is keyed by server, so nothing mixes)."""
    monkeypatch.setenv(SERVER_URL_ENV, own.url)
    return console


# --- search -----------------------------------------------------------------------------------


def test_search_results_and_scatter_equal_the_apis(world, console):
    page = console(PAGE, **window(world))
    assert not page.exception
    w = window(world)
    expected = api(world.url, "/api/v1/traces", start=w["from"], end=w["to"], limit=20, sort="start")[
        "traces"
    ]
    shown = frame_with(page, "trace id", "duration ms")
    assert list(shown["trace id"]) == [t["trace_id"] for t in expected]
    assert list(shown["duration ms"]) == [t["duration_ms"] for t in expected]
    assert list(shown["spans"]) == [t["span_count"] for t in expected]
    assert list(shown["errors"]) == [t["error_count"] for t in expected]
    assert list(shown["root service"]) == [t["root_service"] for t in expected]
    assert [int(s.value // 1_000_000) for s in shown["start"]] == [
        t["start_ns"] // 1_000_000 for t in expected
    ]
    (scatter,) = figures(page)
    points = {i: d for trace in scatter["data"] for i, d in zip(trace["customdata"], trace["y"], strict=True)}
    assert points == {t["trace_id"]: t["duration_ms"] for t in expected}
    errors = next(trace for trace in scatter["data"] if trace["name"] == "with errors")
    assert set(errors["customdata"]) == {t["trace_id"] for t in expected if t["error_count"]}


def test_a_url_with_filters_reopens_the_same_search(world, console):
    query = {
        **window(world),
        "service": "drm",
        "status": "error",
        "sort": "duration",
        "limit": "5",
        "refresh": "30s",
    }
    page = console(PAGE, **query)
    assert not page.exception
    assert page.selectbox(key="wf.traces.service").value == "drm"
    assert page.selectbox(key="wf.traces.status").value == "error"
    assert page.radio(key="wf.traces.sort").value == "duration"
    assert page.number_input(key="wf.traces.limit").value == 5
    expected = api(
        world.url,
        "/api/v1/traces",
        service="drm",
        status="error",
        sort="duration",
        limit=5,
        start=query["from"],
        end=query["to"],
    )["traces"]
    assert list(frame_with(page, "trace id")["trace id"]) == [t["trace_id"] for t in expected]
    assert {t["trace_id"] for t in expected} <= set(world.failed_trace_ids)
    assert dict(page.query_params) == query


def test_changing_the_form_searches_again_and_writes_the_url(world, console):
    page = console(PAGE, **window(world))
    page.selectbox(key="wf.traces.service").set_value("drm").run()
    page.number_input(key="wf.traces.min_ms").set_value(800.0).run()
    page.multiselect(key="wf.traces.tag").set_value(["nf.cluster=drm-v1"]).run()
    assert not page.exception
    w = window(world)
    expected = api(
        world.url,
        "/api/v1/traces",
        service="drm",
        min_duration_ms=800,
        attr="nf.cluster=drm-v1",
        start=w["from"],
        end=w["to"],
        limit=20,
        sort="start",
    )["traces"]
    assert [t["trace_id"] for t in expected] == [SLOW_TRACE]
    assert list(frame_with(page, "trace id")["trace id"]) == [SLOW_TRACE]
    assert param(page, "service") == ["drm"]
    assert [float(v) for v in param(page, "min_ms")] == [800.0]
    assert param(page, "tag") == ["nf.cluster=drm-v1"]


def test_selecting_a_row_opens_that_trace_and_back_returns_to_the_results(world, console):
    page = console(PAGE, **window(world))
    rows = frame_with(page, "trace id")
    page.session_state["traces.results"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    page.run()
    assert not page.exception
    assert param(page, "trace") == [rows["trace id"][2]]
    assert page.text_input(key="wf.traces.trace").value == rows["trace id"][2]
    assert {m.label: m.value for m in page.metric}["Spans"] == str(rows["spans"][2])
    page.button[0].click().run()
    assert "trace" not in page.query_params
    assert list(frame_with(page, "trace id")["trace id"]) == list(rows["trace id"])


def test_clicking_a_point_of_the_scatter_opens_that_trace(world, console):
    page = console(PAGE, **window(world))
    (scatter,) = figures(page)
    clicked = scatter["data"][0]["customdata"][1]
    page.session_state["traces.scatter"] = picked_point(clicked)
    page.run()
    assert not page.exception
    assert param(page, "trace") == [clicked]


def test_bad_url_values_are_reported_as_text_and_fall_back(world, console):
    page = console(PAGE, trace="xyz", status="broken", **window(world))
    assert not page.exception
    warning = " ".join(w.value for w in page.warning)
    assert "trace" in warning and "not a trace id" in warning and "status" in warning
    assert "trace" not in page.query_params and "status" not in page.query_params
    assert len(frame_with(page, "trace id")) > 0  # the search, with defaults
    page.text_input(key="wf.traces.trace").input("12 not hex").run()
    assert "is not a trace id" in " ".join(w.value for w in page.warning)
    assert "trace" not in page.query_params


def test_an_unknown_trace_id_is_reported(world, console):
    page = console(PAGE, trace="e" * 32, **window(world))
    assert not page.exception
    assert "e" * 32 in " ".join(e.value for e in page.error).replace("\\", "")


# --- one trace --------------------------------------------------------------------------------


def test_the_waterfall_highlights_exactly_the_apis_critical_path(world, console):
    page = console(PAGE, trace=SLOW_TRACE, **window(world))
    assert not page.exception
    trace = api(world.url, f"/api/v1/traces/{SLOW_TRACE}")
    (waterfall,) = figures(page)
    start_ns = min(s["adjusted_start_ns"] for s in trace["spans"])
    row = {s["span_id"]: n for n, s in enumerate(trace["spans"])}
    (critical,) = [d for d in waterfall["data"] if d["name"] == "critical path"]
    drawn = sorted(zip(critical["customdata"], critical["y"], critical["base"], critical["x"], strict=True))
    assert drawn == sorted(
        (c["span_id"], row[c["span_id"]], round((c["start_ns"] - start_ns) / 1e6, 3), c["duration_ms"])
        for c in trace["critical_path"]
    )
    drm = next(s for s in trace["spans"] if s["service"] == "drm")
    assert (
        sum(x for i, x in zip(critical["customdata"], critical["x"], strict=True) if i == drm["span_id"])
        == 900
    )
    spans = [d for d in waterfall["data"] if d["name"] != "critical path"]
    bars = {
        i: (y, b, x)
        for d in spans
        for i, y, b, x in zip(d["customdata"], d["y"], d["base"], d["x"], strict=True)
    }
    assert bars == {
        s["span_id"]: (
            row[s["span_id"]],
            round((s["adjusted_start_ns"] - start_ns) / 1e6, 3),
            s["duration_ms"],
        )
        for s in trace["spans"]
    }
    assert {d["name"] for d in spans} == {"playback", "drm", "cdn"}
    # Where the time went opens first: the drm span holds 900 of the 940 ms.
    details = frame_with(page, "section", "field", "value")
    assert dict(zip(details["field"], details["value"], strict=False))["span id"] == drm["span_id"]


def test_clicking_a_span_opens_its_details_until_another_is_chosen(world, console):
    page = console(PAGE, trace=SLOW_TRACE, **window(world))
    spans = api(world.url, f"/api/v1/traces/{SLOW_TRACE}")["spans"]
    cdn = next(s for s in spans if s["service"] == "cdn")
    page.session_state["traces.waterfall"] = picked_point(cdn["span_id"])
    page.run()
    assert not page.exception

    def opened():
        details = frame_with(page, "section", "field", "value")
        return dict(zip(details["field"], details["value"], strict=False))["span id"]

    assert opened() == cdn["span_id"]
    root = spans[0]["span_id"]
    page.selectbox(key="wf.traces.span").set_value(root).run()
    assert opened() == root  # the chart's earlier click does not take the span back


def test_trace_statistics_equal_the_apis(world, console):
    page = console(PAGE, trace=SLOW_TRACE, **window(world))
    stats = api(world.url, f"/api/v1/traces/{SLOW_TRACE}")["statistics"]
    by_operation = frame_with(page, "operation", "self total ms")
    names = {
        "service": "service",
        "operation": "operation",
        "spans": "count",
        "errors": "errors",
        "self % of trace": "self_percent",
    }
    for figure in ("total", "avg", "min", "max"):
        names |= {f"{figure} ms": f"{figure}_ms", f"self {figure} ms": f"self_{figure}_ms"}
    assert by_operation.to_dict("records") == [
        {shown: row[sent] for shown, sent in names.items()} for row in stats["by_operation"]
    ]
    by_service = frame_with(page, "open", "self total ms")
    assert list(by_service["service"]) == [r["service"] for r in stats["by_service"]]
    assert list(by_service["self total ms"]) == [r["self_total_ms"] for r in stats["by_service"]]
    w = window(world)
    assert list(by_service["open"]) == [
        f"/service?service={r['service']}&from={w['from']}&to={w['to']}" for r in stats["by_service"]
    ]


def test_logs_and_service_links_carry_the_trace_and_a_window_around_it(world, console):
    page = console(PAGE, trace=SLOW_TRACE, **window(world))
    summary = api(world.url, f"/api/v1/traces/{SLOW_TRACE}")["summary"]
    shown = links(page)
    target, query = shown["Logs of this trace"]
    start_ms = summary["start_ns"] // 1_000_000
    assert target == "logs"
    assert query["trace"] == [SLOW_TRACE]
    assert int(query["from"][0]) == start_ms - 60_000
    assert int(query["to"][0]) == start_ms + 940 + 60_000
    for service in ("playback", "drm", "cdn"):
        assert shown[f"Service {service}"] == (
            "service",
            {"service": [service], **{k: [v] for k, v in window(world).items()}},
        )


def test_span_details_come_from_the_api_and_stay_text(own, on_own):
    page = on_own(PAGE, trace=HOSTILE)
    assert not page.exception
    assert page.subheader[0].value == plain(f"playback: {HOSTILE_OPERATION}")
    details = frame_with(page, "section", "field", "value")
    rows = {(s, f): v for s, f, v in details.itertuples(index=False)}
    assert rows[("attribute", "note")] == HOSTILE_MESSAGE
    assert rows[("status", "message")] == HOSTILE_MESSAGE
    assert rows[("status", "code")] == "error"
    assert rows[("event", "5.0 ms retry <i>1</i>")] == '{"why": "# heading"}'
    rendered = (
        [m.value for m in page.markdown] + [w.value for w in page.warning] + [c.value for c in page.caption]
    )
    assert not any("<script>" in text or "**not bold**" in text for text in rendered)


def test_a_malformed_trace_is_drawn_with_its_problems_as_text(own, on_own):
    page = on_own(PAGE, trace=BROKEN)
    assert not page.exception
    problems = api(own.url, f"/api/v1/traces/{BROKEN}")["problems"]
    assert problems
    warning = " ".join(w.value for w in page.warning).replace("\\", "")
    assert all(problem in warning for problem in problems)
    assert len(figures(page)) == 1


def test_compare_tables_equal_the_apis(own, on_own):
    page = on_own(PAGE, trace=COMPARE_A)
    page.text_input(key="wf.traces.compare").input(COMPARE_B).run()
    assert not page.exception
    assert param(page, "compare") == [COMPARE_B]
    answer = api(own.url, f"/api/v1/traces/{COMPARE_A}/compare/{COMPARE_B}")
    tables = [d.value for d in page.dataframe if "span difference" in d.value.columns]
    assert len(tables) == 3
    for table, presence in zip(tables, ("only_a", "only_b", "both"), strict=True):
        nodes = [n for n in answer["nodes"] if n["presence"] == presence]
        assert nodes
        assert list(
            zip(
                table["service"],
                table["operation"],
                table["spans A"],
                table["spans B"],
                table["span difference"],
                table["errors B"],
                strict=True,
            )
        ) == [
            (n["service"], n["operation"], n["count_a"], n["count_b"], n["count_difference"], n["errors_b"])
            for n in nodes
        ]
    only_b = tables[1]
    assert list(only_b["path"]) == ["playback: POST /play › drm: POST /license"]
    metrics = {m.label: m.value for m in page.metric}
    assert [metrics[k] for k in ("Only in A", "Only in B", "In both", "Changed")] == [
        str(answer["summary"][k]) for k in ("only_a", "only_b", "both", "changed")
    ]


# --- dependency graph -------------------------------------------------------------------------


def test_the_dependency_graph_has_the_apis_edges_and_counts(world, console):
    page = console(PAGE, view="graph", **window(world))
    assert not page.exception
    w = window(world)
    answer = api(world.url, "/api/v1/dependencies", start=w["from"], end=w["to"])
    edges = {(e["caller"], e["callee"]): e for e in answer["edges"]}
    assert {("playback", "drm"), ("playback", "cdn")} <= set(edges)
    table = frame_with(page, "caller", "callee", "calls")
    assert {
        (r["caller"], r["callee"]): (r["calls"], r["errors"], r["error %"], none(r["client p95 ms"]))
        for r in table.to_dict("records")
    } == {
        k: (
            e["calls"],
            e["errors"],
            round(e["error_rate"] * 100, 2),
            (e["client_latency_ms"] or {}).get("p95"),
        )
        for k, e in edges.items()
    }
    (graph,) = figures(page)
    drawn = {tuple(d["customdata"][0]) for d in graph["data"] if d["name"] != "services"}
    assert drawn == {(a, b, e["calls"], e["errors"]) for (a, b), e in edges.items()}
    (nodes,) = [d for d in graph["data"] if d["name"] == "services"]
    x = dict(zip(nodes["text"], nodes["x"], strict=True))
    assert x["playback"] < x["drm"] and x["playback"] < x["cdn"]
    assert page.radio(key="wf.traces.view").value == "graph"
    assert param(page, "view") == ["graph"]


def test_virtual_peers_are_dashed_and_cycles_still_lay_out():
    answer = {
        "nodes": [
            {"name": n, "virtual": n == "db", "calls_in": 1, "errors_in": 0, "calls_out": 1, "errors_out": 0}
            for n in ("a", "b", "db")
        ],
        "edges": [
            {
                "caller": a,
                "callee": b,
                "connection_type": t,
                "calls": 1,
                "errors": 0,
                "error_rate": 0.0,
                "client_latency_ms": None,
                "server_latency_ms": None,
            }
            for a, b, t in (("a", "b", "rpc"), ("b", "a", "rpc"), ("b", "db", "virtual_node"))
        ],
    }
    figure = dependency_figure(answer)
    dash = {trace.name: trace.line.dash for trace in figure.data if trace.name != "services"}
    assert dash == {"a → b": "solid", "b → a": "solid", "b → db": "dash"}
    column = layers(["a", "b", "db"], [("a", "b"), ("b", "a"), ("b", "db")])
    assert max(column.values()) < 3
    assert layers(["a", "b", "c"], [("a", "b"), ("b", "c")]) == {"a": 0, "b": 1, "c": 2}


def test_tags_become_attribute_conditions():
    values = {
        "service": "",
        "operation": "",
        "tag": ["http.route=/play", "bad", "k = v"],
        "min_ms": 0.0,
        "max_ms": 5.0,
        "status": "any",
        "sort": "start",
        "limit": 20,
    }
    query, problems = search_query(values, 1, 2)
    assert query == {
        "start": 1,
        "end": 2,
        "limit": 20,
        "sort": "start",
        "max_duration_ms": 5.0,
        "attrs": {"http.route": "/play", "k": "v"},
    }
    assert problems == ["tag 'bad' is not key=value; left out of the search"]
