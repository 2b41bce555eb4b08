"""Trace analytics reads of the DuckDB store: trace search, services, operations, service calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from store.duckdb_store import DuckDBStore
from store.interfaces import TraceQuery
from store.model import SPAN_KIND_CLIENT, SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER, SPAN_KIND_SERVER, Span

A, B, C = "a1" * 16, "b2" * 16, "c3" * 16


def sp(
    trace: str, n: int, parent: int | None, name: str, kind: int, start: int, end: int, service: str, **kw
):
    return Span(
        trace, f"{n:016x}", "" if parent is None else f"{parent:016x}", name, kind, start, end, service, **kw
    )


SPANS = [
    # A: playback → drm (fails) and → cdn, and a leaf call to an uninstrumented origin.
    sp(A, 1, None, "POST /play", SPAN_KIND_SERVER, 1_000, 1_100, "playback", resource={"region": "eu"}),
    sp(A, 2, 1, "POST /license", SPAN_KIND_CLIENT, 1_010, 1_040, "playback"),
    sp(A, 3, 2, "POST /license", SPAN_KIND_SERVER, 1_012, 1_038, "drm", status_code=2),
    sp(A, 4, 1, "GET /manifest", SPAN_KIND_CLIENT, 1_010, 1_030, "playback"),
    sp(A, 5, 4, "GET /manifest", SPAN_KIND_SERVER, 1_011, 1_029, "cdn"),
    sp(A, 6, 5, "origin fetch", SPAN_KIND_CLIENT, 1_012, 1_020, "cdn", attributes={"peer.service": "origin"}),
    # B: a slower play, cdn only, with an attribute to search by.
    sp(B, 1, None, "POST /play", SPAN_KIND_SERVER, 2_000, 2_500, "playback"),
    sp(B, 2, 1, "GET /manifest", SPAN_KIND_CLIENT, 2_010, 2_490, "playback"),
    sp(B, 3, 2, "GET /manifest", SPAN_KIND_SERVER, 2_020, 2_480, "cdn", attributes={"http.status": 200}),
    # C: encoding publishes a message drm consumes; an orphan with no root.
    sp(C, 1, 9, "encode", SPAN_KIND_PRODUCER, 3_000, 3_010, "encoding"),
    sp(C, 2, 1, "package", SPAN_KIND_CONSUMER, 3_050, 3_090, "drm"),
]


@pytest.fixture
def store(tmp_path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(tmp_path / "traces.duckdb")
    opened.write_spans(SPANS)
    yield opened
    opened.close()


@pytest.fixture
def blank(tmp_path) -> Iterator[DuckDBStore]:
    """A store with nothing in it, for a test's own spans."""
    opened = DuckDBStore(tmp_path / "blank.duckdb")
    yield opened
    opened.close()


def ids(store: DuckDBStore, **query) -> list[str]:
    return [s.trace_id[:2] for s in store.find_traces(TraceQuery(**query))]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({}, ["c3", "b2", "a1"], id="everything, newest first"),
        pytest.param({"order": "duration"}, ["b2", "a1", "c3"], id="longest first"),
        pytest.param({"limit": 1}, ["c3"], id="the limit"),
        pytest.param({"service": "cdn"}, ["b2", "a1"], id="a service"),
        pytest.param({"service": "playback", "operation": "POST /play"}, ["b2", "a1"], id="an operation"),
        pytest.param({"status_code": 2}, ["a1"], id="an error span"),
        pytest.param({"service": "cdn", "min_duration_ns": 100}, ["b2"], id="a span's minimum duration"),
        pytest.param({"service": "cdn", "max_duration_ns": 100}, ["a1"], id="a span's maximum duration"),
        pytest.param({"attributes": (("http.status", "200"),)}, ["b2"], id="a span attribute as text"),
        pytest.param({"attributes": (("region", "eu"),)}, ["a1"], id="a resource attribute"),
        pytest.param({"attributes": (("region", "us"),)}, [], id="an attribute value that is not there"),
        pytest.param(
            {"service": "drm", "attributes": (("region", "eu"),)},
            [],
            id="every condition holds on one span, not across the trace",
        ),
        pytest.param({"start_ns": 1_500, "end_ns": 2_600}, ["b2"], id="a time range"),
    ],
)
def test_trace_search(store, query, expected):
    assert ids(store, **query) == expected


def test_a_search_row_summarises_the_whole_trace_not_the_matching_span(store):
    [row] = store.find_traces(TraceQuery(service="drm", status_code=2))
    assert (row.root_service, row.root_operation, row.start_ns, row.duration_ns) == (
        "playback",
        "POST /play",
        1_000,
        100,
    )
    assert (row.span_count, row.error_count, row.services) == (6, 1, {"cdn": 2, "drm": 1, "playback": 3})


def test_a_trace_without_a_root_is_summarised_from_its_earliest_span(store):
    [row] = store.find_traces(TraceQuery(service="encoding"))
    assert (row.root_service, row.root_operation) == ("encoding", "encode")


def test_services_and_their_operations_with_span_kinds(store):
    assert store.span_services() == {"cdn": 3, "drm": 2, "encoding": 1, "playback": 5}
    assert store.span_services(start_ns=2_000) == {"cdn": 1, "drm": 1, "encoding": 1, "playback": 2}
    assert store.span_operations("cdn") == [
        ("GET /manifest", "server", 2),
        ("origin fetch", "client", 1),
    ]
    assert store.span_operations("nobody") == []


def test_service_calls_pair_clients_with_servers_and_name_uninstrumented_peers(store):
    calls = {(c.caller, c.callee): c for c in store.service_calls(0, 10_000)}
    assert sorted(calls) == [
        ("cdn", "origin"),
        ("encoding", "drm"),
        ("playback", "cdn"),
        ("playback", "drm"),
    ]
    drm = calls[("playback", "drm")]
    assert (drm.calls, drm.errors, drm.virtual, drm.messaging) == (1, 1, False, False)
    assert drm.client_latency_ns == (30.0, 30.0, 30.0, 30.0)
    assert drm.server_latency_ns == (26.0, 26.0, 26.0, 26.0)
    cdn = calls[("playback", "cdn")]
    assert (cdn.calls, cdn.errors) == (2, 0)
    # Linear interpolation between the two client durations, 20 and 480.
    assert cdn.client_latency_ns == pytest.approx((250.0, 434.0, 457.0, 475.4))
    origin = calls[("cdn", "origin")]
    assert (origin.virtual, origin.calls, origin.server_latency_ns) == (True, 1, None)
    assert calls[("encoding", "drm")].messaging


def test_service_calls_only_count_spans_in_the_range(store):
    calls = {(c.caller, c.callee): c.calls for c in store.service_calls(1_500, 2_600)}
    assert calls == {("playback", "cdn"): 1}


def test_a_client_span_without_a_peer_name_calls_unknown(blank):
    store = blank
    store.write_spans([sp(A, 1, None, "GET", SPAN_KIND_CLIENT, 0, 10, "batch")])
    [call] = store.service_calls(0, 100)
    assert (call.caller, call.callee, call.virtual) == ("batch", "unknown", True)


def test_a_span_delivered_twice_counts_once(blank):
    store = blank
    batch = [
        sp(A, 1, None, "GET /", SPAN_KIND_SERVER, 0, 100, "edge"),
        sp(A, 2, 1, "GET /x", SPAN_KIND_CLIENT, 10, 90, "edge", status_code=2),
        sp(A, 3, 2, "GET /x", SPAN_KIND_SERVER, 20, 80, "api", status_code=2),
    ]
    store.write_spans(batch)
    store.write_spans(batch)  # an OTLP retry after a lost answer
    [call] = store.service_calls(0, 1_000)
    assert (call.caller, call.callee, call.calls, call.errors) == ("edge", "api", 1, 1)
    [row] = store.find_traces(TraceQuery())
    assert (row.span_count, row.error_count, row.services) == (3, 2, {"api": 1, "edge": 2})


def test_a_call_across_the_range_edge_is_paired_not_taken_for_a_peer(blank):
    store = blank
    store.write_spans(
        [
            sp(A, 1, None, "GET /x", SPAN_KIND_CLIENT, 1_000, 2_000, "edge"),
            sp(A, 2, 1, "GET /x", SPAN_KIND_SERVER, 1_010, 1_990, "api"),
        ]
    )
    # The client started in the range, its server after it: the call is not counted
    # here (its callee's span is outside), and nothing calls a peer.
    assert store.service_calls(0, 1_005) == []
    # The server started in the range, its client before it: the call is counted.
    assert [(c.caller, c.callee, c.virtual) for c in store.service_calls(1_005, 3_000)] == [
        ("edge", "api", False)
    ]


def test_a_client_span_with_only_internal_children_still_calls_its_peer(blank):
    store = blank
    store.write_spans(
        [
            sp(
                A,
                1,
                None,
                "SELECT",
                SPAN_KIND_CLIENT,
                0,
                50,
                "api",
                attributes={"db.system": "postgresql"},
            ),
            sp(A, 2, 1, "connect", 1, 1, 5, "api"),
        ]
    )
    assert [(c.caller, c.callee, c.virtual) for c in store.service_calls(0, 100)] == [
        ("api", "postgresql", True)
    ]


def test_an_attribute_matches_on_the_span_or_else_on_its_resource(blank):
    store = blank
    store.write_spans(
        [
            sp(
                A,
                1,
                None,
                "GET",
                SPAN_KIND_SERVER,
                0,
                5,
                "api",
                attributes={"zone": "a"},
                resource={"zone": "b"},
            ),
        ]
    )
    assert ids(store, attributes=(("zone", "a"),)) == ["a1"]
    assert ids(store, attributes=(("zone", "b"),)) == ["a1"]
    assert ids(store, attributes=(("zone", "c"),)) == []
