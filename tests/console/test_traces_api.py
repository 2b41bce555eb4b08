"""The trace analytics API on a real server: search, one trace, compare, dependencies, services."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from store.model import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, Span
from tests.support.server import RunningServer

NOW_S = 1_800_000_000.0
MS = 1_000_000
T0 = int(NOW_S * 1000 - 600_000) * MS  # ten minutes before the server's now, in ns
A, B, LOOP = "a1" * 16, "b2" * 16, "c3" * 16


def sp(
    trace: str,
    n: int,
    parent: int | None,
    name: str,
    kind: int,
    start_ms: int,
    end_ms: int,
    service: str,
    **kw,
):
    return Span(
        trace,
        f"{n:016x}",
        "" if parent is None else f"{parent:016x}",
        name,
        kind,
        T0 + start_ms * MS,
        T0 + end_ms * MS,
        service,
        resource={"host.name": "node-1"},
        **kw,
    )


def play(trace: str, segments: int, *, start: int = 0, drm_error: bool = False) -> list[Span]:
    """playback POST /play: a license from drm, then ``segments`` sequential cdn fetches."""
    spans = [
        sp(trace, 1, None, "POST /play", SPAN_KIND_SERVER, start, start + 55 + 15 * segments, "playback"),
        sp(trace, 2, 1, "POST /license", SPAN_KIND_CLIENT, start + 5, start + 35, "playback"),
        sp(
            trace,
            3,
            2,
            "POST /license",
            SPAN_KIND_SERVER,
            start + 6,
            start + 34,
            "drm",
            status_code=2 if drm_error else 0,
        ),
    ]
    for n in range(segments):
        begin = start + 40 + n * 15
        spans.append(
            sp(trace, 10 + 2 * n, 1, "GET /segment", SPAN_KIND_CLIENT, begin, begin + 10, "playback")
        )
        spans.append(
            sp(trace, 11 + 2 * n, 10 + 2 * n, "GET /segment", SPAN_KIND_SERVER, begin + 1, begin + 9, "cdn")
        )
    return spans


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("traces"), clock=lambda: NOW_S)
    running.store.write_spans(
        play(A, 3, drm_error=True)
        + play(B, 4, start=1_000)
        + [
            sp(LOOP, 1, 2, "spin", SPAN_KIND_SERVER, 0, 10, "playback"),
            sp(LOOP, 2, 1, "spin", SPAN_KIND_SERVER, 1, 9, "playback"),
        ]
    )
    yield running
    running.stop()


def get(server: RunningServer, path: str, **params) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1{path}", params=params)


def test_search_answers_trace_summaries_newest_first(server):
    found = get(server, "/traces", service="cdn").json()
    assert [t["trace_id"] for t in found["traces"]] == [B, A]
    first = found["traces"][0]
    assert (first["root_service"], first["root_operation"], first["duration_ms"]) == (
        "playback",
        "POST /play",
        115.0,
    )
    assert (first["span_count"], first["error_count"], first["services"]) == (
        11,
        0,
        {"cdn": 4, "drm": 1, "playback": 6},
    )


def test_search_by_status_attribute_duration_and_sort(server):
    assert [t["trace_id"] for t in get(server, "/traces", status="error").json()["traces"]] == [A]
    by_duration = get(server, "/traces", service="cdn", sort="duration", limit=1).json()["traces"]
    assert [t["trace_id"] for t in by_duration] == [B]  # 115 ms against 100
    assert get(server, "/traces", attr="host.name=node-2").json()["traces"] == []
    assert len(get(server, "/traces", attr="host.name=node-1").json()["traces"]) == 3
    slow = get(server, "/traces", service="drm", min_duration_ms=27).json()["traces"]
    assert [t["trace_id"] for t in slow] == [B, A] and get(
        server, "/traces", service="drm", min_duration_ms=29
    ).json()["traces"] == []


def test_search_defaults_to_the_last_hour(server):
    hour_ago = int(NOW_S * 1000) - 3_600_000
    answer = get(server, "/traces").json()
    assert (answer["start_ns"], answer["end_ns"]) == (hour_ago * MS, int(NOW_S * 1000) * MS)
    assert get(server, "/traces", end=str(hour_ago)).json()["traces"] == []


def test_one_trace_has_its_tree_critical_path_and_statistics(server):
    answer = get(server, f"/traces/{A}").json()
    assert not answer["malformed"] and not answer["truncated"]
    spans = answer["spans"]
    assert [(s["name"], s["depth"], s["service"]) for s in spans[:3]] == [
        ("POST /play", 0, "playback"),
        ("POST /license", 1, "playback"),
        ("POST /license", 2, "drm"),
    ]
    assert spans[0]["parent"] is None and spans[1]["parent"] == spans[0]["span_id"]
    # The root: 100 ms, children cover 5–35 and 40–50, 55–65, 70–80 → 40 ms of its own.
    assert spans[0]["self_time_ms"] == 40.0
    path = [(p["span_id"][-2:], p["duration_ms"]) for p in answer["critical_path"]]
    assert path[0] == ("01", 20.0)  # the root after the last segment fetch, 80–100
    assert sum(p["duration_ms"] for p in answer["critical_path"]) == 100.0
    by_operation = {(r["service"], r["operation"]): r for r in answer["statistics"]["by_operation"]}
    segments = by_operation[("cdn", "GET /segment")]
    assert (segments["count"], segments["total_ms"], segments["avg_ms"], segments["self_total_ms"]) == (
        3,
        24.0,
        8.0,
        24.0,
    )
    assert by_operation[("drm", "POST /license")]["errors"] == 1
    by_service = {r["service"]: r["count"] for r in answer["statistics"]["by_service"]}
    assert by_service == {"playback": 5, "drm": 1, "cdn": 3}


def test_a_trace_whose_parents_loop_is_answered_marked_malformed(server):
    answer = get(server, f"/traces/{LOOP}").json()
    assert answer["malformed"] and "parent cycle" in answer["problems"][0]
    assert len(answer["spans"]) == 2


def test_comparing_two_traces_reports_the_structural_difference(server):
    answer = get(server, f"/traces/{A}/compare/{B}").json()
    nodes = {(n["service"], n["operation"], n["depth"]): n for n in answer["nodes"]}
    segments = nodes[("cdn", "GET /segment", 2)]
    assert (segments["count_a"], segments["count_b"], segments["count_difference"]) == (3, 4, 1)
    assert segments["presence"] == "both"
    assert nodes[("drm", "POST /license", 2)]["errors_a"] == 1
    assert answer["summary"] == {"only_a": 0, "only_b": 0, "both": 5, "changed": 2}
    assert answer["nodes"][segments["parent"]]["operation"] == "GET /segment"


def test_the_dependency_graph_has_the_edges_with_counts_errors_and_latency(server):
    graph = get(server, "/dependencies").json()
    edges = {(e["caller"], e["callee"]): e for e in graph["edges"]}
    assert sorted(edges) == [("playback", "cdn"), ("playback", "drm")]
    assert (edges[("playback", "cdn")]["calls"], edges[("playback", "cdn")]["errors"]) == (7, 0)
    drm = edges[("playback", "drm")]
    assert (drm["calls"], drm["errors"], drm["error_rate"], drm["connection_type"]) == (2, 1, 0.5, "rpc")
    assert drm["client_latency_ms"]["p50"] == 30.0 and drm["server_latency_ms"]["p99"] == 28.0
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert (nodes["playback"]["calls_out"], nodes["cdn"]["calls_in"], nodes["drm"]["errors_in"]) == (9, 7, 1)


def test_services_and_operations(server):
    assert get(server, "/services").json()["services"] == [
        {"name": "cdn", "spans": 7},
        {"name": "drm", "spans": 2},
        {"name": "playback", "spans": 13},
    ]
    operations = get(server, "/services/drm/operations").json()["operations"]
    assert operations == [{"name": "POST /license", "span_kind": "server", "spans": 2}]


@pytest.mark.parametrize(
    ("path", "params", "field", "reason"),
    [
        ("/traces/xyz", {}, "trace_id", "32 hexadecimal"),
        ("/traces/" + "0" * 32, {}, "trace_id", "all-zero"),
        (f"/traces/{'d4' * 16}", {}, "trace_id", "no spans stored"),
        (f"/traces/{A}/compare/nope", {}, "trace_b", "32 hexadecimal"),
        ("/traces", {"start": "2000", "end": "1000"}, "start", "before end"),
        ("/traces", {"limit": "1001"}, "limit", "between 1 and 1000"),
        ("/traces", {"limit": "0"}, "limit", "between 1 and 1000"),
        ("/traces", {"service": "nobody"}, "service", "no spans of service"),
        ("/traces", {"operation": "GET"}, "operation", "needs a service"),
        ("/traces", {"status": "broken"}, "status", "unset, ok, error"),
        ("/traces", {"sort": "name"}, "sort", "start (newest first) or duration"),
        ("/traces", {"attr": "no-equals"}, "attr", "not key=value"),
        ("/traces", {"attr": 'k"ey=1'}, "attr", "not an attribute key"),
        ("/traces", {"min_duration_ms": "inf"}, "min_duration_ms", "between 0 and a week"),
        ("/traces", {"min_duration_ms": "5", "max_duration_ms": "2"}, "min_duration_ms", "not be over"),
        ("/dependencies", {"start": "5000", "end": "5000"}, "start", "before end"),
        ("/dependencies", {"start": "0"}, "start", "31 days at most"),
        ("/dependencies", {"end": "tomorrow"}, "end", "ISO 8601"),
        ("/services/nobody/operations", {}, "service", "no spans of service"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_parameter(server, path, params, field, reason):
    answer = get(server, path, **params)
    assert answer.status_code == (404 if "no spans stored" in reason else 400), answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == field and reason in error["reason"]
