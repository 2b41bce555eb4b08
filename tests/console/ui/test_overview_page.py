"""The Overview against a real server with the seeded world: the figures shown are the API's."""

from __future__ import annotations

import httpx

from console.ui.data.overview import health, verdict_counts
from tests.console.ui.support import table, window


def _api_rows(world, by="cluster"):
    params = {"by": by, "start": window(world)["from"], "end": window(world)["to"]}
    return httpx.get(f"{world.url}/api/v1/red", params=params).json()["rows"]


def test_one_row_per_service_and_cluster_with_the_apis_figures(world, console):
    page = console("views/overview.py", **window(world))
    assert not page.exception
    services = page.dataframe[0].value
    api = {(r["service"], r["cluster"]): r for r in _api_rows(world)}
    assert {(r.service, r.cluster) for r in services.itertuples()} == set(api)
    for row in services.to_dict("records"):
        figures = api[(row["service"], row["cluster"])]
        assert row["req/s"] == figures["rate_per_s"]
        assert row["error %"] == figures["error_pct"]
        assert (row["p50 ms"], row["p95 ms"], row["p99 ms"]) == (
            figures["p50_ms"],
            figures["p95_ms"],
            figures["p99_ms"],
        )


def test_health_is_red_for_drm_which_fails_a_fifth_of_its_calls(world, console):
    page = console("views/overview.py")
    rows = {r["cluster"]: r for r in page.dataframe[0].value.to_dict("records")}
    assert rows["drm-v1"]["health"] == "critical"
    assert "errors" in rows["drm-v1"]["why"] and "alert DrmErrors" in rows["drm-v1"]["why"]
    assert rows["cdn-v1"]["health"] == "ok"
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Firing alerts"] == "5"  # DrmErrors and the SLO's four burn-rate tiers
    assert metrics["SLOs burning"] == "1"


def test_rows_per_service_follow_the_url(world, console):
    page = console("views/overview.py", by="service")
    services = page.dataframe[0].value
    assert "cluster" not in services.columns
    assert sorted(services["service"]) == ["cdn", "drm", "playback"]
    assert page.radio[0].value == "service"


def test_health_rules():
    row = {"requests": 10, "error_pct": 0.5}
    assert health(row, [], []) == ("ok", "")
    assert health({**row, "error_pct": 2.0}, [], [])[0] == "warning"
    assert health(row, [{"name": "a", "state": "exhausted"}], [])[0] == "critical"
    assert health(row, [{"name": "a", "state": "burning"}], [])[0] == "warning"
    assert health(row, [], [{"severity": "critical", "labels": {"alertname": "X"}}]) == (
        "critical",
        "alert X",
    )
    assert health({"requests": 0}, [], [])[0] == "no data"


def test_slo_alert_and_change_tables_are_the_apis(world, console):
    page = console("views/overview.py", **window(world))
    assert not page.exception
    slos = httpx.get(f"{world.url}/api/v1/slos").json()["slos"]
    shown_slos = table(page, "budget left %")
    assert list(shown_slos["SLO"]) == [s["name"] for s in slos]
    assert list(shown_slos["budget left %"]) == [round(s["budget_remaining"] * 100, 2) for s in slos]
    firing = httpx.get(f"{world.url}/api/v1/alerts", params={"state": "firing"}).json()["alerts"]
    shown_alerts = table(page, "acknowledged by")
    assert sorted(shown_alerts["alert"]) == sorted(a["labels"].get("alertname", a["rule"]) for a in firing)
    assert "DRM license errors over 5 % <b>now</b>" in set(shown_alerts["summary"])  # as text
    # Deploys, and canary analyses (other page tests may have run some on this world), newest first.
    (deploy,) = httpx.get(f"{world.url}/api/v1/annotations").json()["annotations"]
    analyses = httpx.get(f"{world.url}/api/v1/canary/analyses").json()["analyses"]
    w = window(world)
    expected = [(deploy["time_ms"], "deploy", "drm")] + [
        (a["createdMs"], "canary", service)
        for a in analyses
        if int(w["from"]) <= a["createdMs"] <= int(w["to"])
        for service in a["applications"]
    ]
    changes = table(page, "what")
    shown = zip(
        [t.value // 1_000_000 for t in changes["time"]], changes["kind"], changes["service"], strict=True
    )
    assert list(shown) == sorted(expected, key=lambda r: (-r[0], r[2], r[1]))


def test_canaries_failing_counts_each_canarys_newest_verdict_once():
    def analysis(n, config, experiment, verdict):
        scopes = {"default": {"control": "x-v1", "experiment": experiment}} if experiment else {}
        return {"id": str(n), "configName": config, "scopes": scopes, "verdict": verdict}

    newest_first = [
        analysis(5, "drm-canary", "drm-v2-canary", "pass"),  # judged again: it passes now
        analysis(4, "drm-canary", "drm-v2-canary", "fail"),
        analysis(3, "cdn-canary", "cdn-v2-canary", "fail"),
        analysis(2, "cdn-canary", "cdn-v3-canary", None),
        analysis(1, "adhoc", None, "fail"),  # no scopes listed: each analysis is its own canary
        analysis(0, "adhoc", None, "fail"),
    ]
    assert verdict_counts(newest_first) == {"pass": 1, "fail": 3, "running": 1}
