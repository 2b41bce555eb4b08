"""Deploys and canaries near a trace or log lines: the last hop of a chase, one click away."""

from __future__ import annotations

from urllib.parse import parse_qs

from console.ui.data.changes import CONTEXT_MS, ago_text, analysis_names, change_rows, latest_before
from tests.console.ui.support import api, query_of, table, window
from tests.support.console_seed import SLOW_TRACE

MIN = 60_000

DEPLOY = {"kind": "deploy", "service": "drm", "version": "drm-v2", "summary": "v2 out", "time_ms": 10 * MIN}
CONFIG = {"kind": "config", "service": "cdn", "summary": "ttl 60 s", "time_ms": 30 * MIN}
CANARY = {
    "id": "01A",
    "createdMs": 20 * MIN,
    "configName": "drm-canary",
    "applications": ["drm"],
    "scopes": {"default": {"control": "drm-v1", "experiment": "drm-v2-canary"}},
    "verdict": "fail",
    "score": 12.5,
}


def test_an_analysis_names_its_applications_else_its_clusters_else_its_application():
    assert analysis_names(CANARY, "drm") and not analysis_names(CANARY, "cdn")
    scoped = {"scopes": {"default": {"control": "cdn-v1", "experiment": "cdn-v2"}}, "application": "ad-hoc"}
    assert analysis_names(scoped, "cdn") and not analysis_names(scoped, "drm")
    assert not analysis_names(scoped, "cd")  # a cluster is the service's when it starts "<service>-"
    assert analysis_names({"application": "drm"}, "drm")
    assert not analysis_names({"applications": ["cdn"], "application": "drm"}, "drm")


def test_change_rows_are_the_services_changes_in_the_range_newest_first():
    rows = change_rows([DEPLOY, CONFIG], [CANARY], ["drm"], 0, 60 * MIN)
    assert [(r["time_ms"], r["kind"], r["service"], r["analysis"]) for r in rows] == [
        (20 * MIN, "canary", "drm", "01A"),
        (10 * MIN, "deploy", "drm", ""),
    ]
    assert rows[0]["what"] == "drm-canary fail (score 12.5): drm-v2-canary against drm-v1"
    assert rows[0]["version"] == "fail"  # what a chart mark shows beside "canary"
    assert (rows[1]["what"], rows[1]["version"]) == ("drm-v2: v2 out", "drm-v2")
    assert change_rows([DEPLOY, CONFIG], [CANARY], ["drm"], 15 * MIN, 60 * MIN) == rows[:1]
    everyone = change_rows([DEPLOY, CONFIG], [CANARY], None, 0, 60 * MIN)
    assert [(r["kind"], r["service"]) for r in everyone] == [
        ("config", "cdn"),
        ("canary", "drm"),
        ("deploy", "drm"),
    ]


def test_the_latest_change_before_a_moment_is_one_per_service():
    rows = change_rows([DEPLOY, CONFIG], [CANARY], None, 0, 60 * MIN)

    def latest(at_ms):
        return [(r["service"], r["kind"]) for r in latest_before(rows, at_ms)]

    assert latest(31 * MIN) == [("cdn", "config"), ("drm", "canary")]
    assert latest(25 * MIN) == [("drm", "canary")]  # the config came 5 minutes after
    assert latest(15 * MIN) == [("drm", "deploy")]
    assert latest(10 * MIN - 30_000) == [("drm", "deploy")]  # 60 s of slack after the moment
    assert latest(10 * MIN - 61_000) == []
    assert ago_text(0, 45_000) == "45 s before"
    assert ago_text(0, 12 * MIN + 5_000) == "12 min before"
    assert ago_text(0, 185 * MIN) == "3 h 5 min before"
    assert ago_text(40_000, 0) == "40 s after"


def _deploy(world):
    (deploy,) = api(world.url, "/api/v1/annotations", service="drm")["annotations"]
    return deploy


def _change_links(page):
    return [
        (link.proto.page, parse_qs(link.proto.query_string))
        for link in page.get("page_link")
        if link.proto.label.startswith("deploy drm")
    ]


def _around(deploy):
    return {"from": [str(deploy["time_ms"] - CONTEXT_MS)], "to": [str(deploy["time_ms"] + CONTEXT_MS)]}


def test_a_trace_leads_to_the_deploy_before_it(world, console):
    page = console("views/traces.py", trace=SLOW_TRACE, **window(world))
    assert not page.exception
    # The seeded drm deploy is 10 minutes ago, the slow trace 5: the deploy is the change before it.
    assert _change_links(page) == [("service", {"service": ["drm"], **_around(_deploy(world))})]


def test_the_logs_of_a_trace_lead_to_the_deploy_before_them(world, console):
    page = console("views/logs.py", trace=SLOW_TRACE, **window(world))
    assert not page.exception
    assert _change_links(page) == [("service", {"service": ["drm"], **_around(_deploy(world))})]


def test_logs_without_a_trace_or_service_filter_show_no_changes(world, console):
    page = console("views/logs.py", **window(world))
    assert not page.exception
    assert _change_links(page) == []


def test_the_service_page_lists_its_deploys_with_a_link_around_each(world, console):
    page = console("views/service.py", service="drm", **window(world))
    assert not page.exception
    deploy = _deploy(world)
    shown = table(page, "what")
    assert list(shown["kind"]) == ["deploy"] and list(shown["what"]) == ["drm-v1.42: drm v1.42 rolled out"]
    path, query = query_of(shown["open"][0])
    assert path == "/service"
    assert query == {"service": "drm", **{k: v[0] for k, v in _around(deploy).items()}}
