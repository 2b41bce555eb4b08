"""The SLOs page against real servers: the seeded world, and a world of this module's own whose
burn-rate alerts have been evaluated (kept apart, so the shared world's alerts stay as seeded)."""

from __future__ import annotations

import httpx
import pytest

from console.settings import SERVER_URL_ENV
from console.ui.data.slos import (
    Indicator,
    breaches,
    burn_rate_rows,
    duration_text,
    exhaustion_text,
    indicator_of,
    sli_points,
)
from console.ui.time_range import step_for
from tests.console.ui.support import api, charts, none, query_of, table, window
from tests.support.console_seed import HOSTILE_MESSAGE, SLO_YAML, TOKEN, seed_world

PAGE = "views/slos.py"
SLO = "drm-license-ok"
HOSTILE_SLO = "hostile-text"


@pytest.fixture(scope="module")
def burning(tmp_path_factory):
    """A world of its own with a second SLO (hostile description) and its alerts evaluated once."""
    world = seed_world(tmp_path_factory.mktemp("slos-page"))
    hostile = SLO_YAML.replace("name: drm-license-ok", f"name: {HOSTILE_SLO}").replace(
        "description: License requests answered without an error span", f"description: '{HOSTILE_MESSAGE}'"
    )
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/yaml"}
    httpx.put(f"{world.url}/api/v1/slos/{HOSTILE_SLO}", content=hostile, headers=headers).raise_for_status()
    world.server.server.alerts.evaluate()  # what the server's loop does every 30 s
    yield world
    world.stop()


@pytest.fixture
def on_burning(burning, console, monkeypatch):
    monkeypatch.setenv(SERVER_URL_ENV, burning.url)
    return console


def test_the_list_is_the_apis_order_and_figures(world, console):
    page = console(PAGE, **window(world))
    assert not page.exception
    listed = table(page, "SLO")
    slos = api(world.url, "/api/v1/slos")["slos"]
    assert list(listed["SLO"]) == [s["name"] for s in slos] == [SLO]
    row, slo = listed.iloc[0], slos[0]
    assert (row["service"], row["state"], row["window"]) == ("drm", slo["state"], "1d")
    assert row["SLI %"] == round(slo["sli"] * 100, 3)
    assert row["target %"] == 99.0
    assert row["budget left %"] == round(slo["budget_remaining"] * 100, 2)
    assert row["burn rate"] == round(slo["current_burn_rate"], 2)
    assert row["exhausted in"] == "exhausted"  # a fifth of the calls failed against a 1 % budget
    assert "Choose an SLO" in page.info[0].value


def test_the_detail_shows_the_apis_burn_rates_and_burn_down(world, console):
    page = console(PAGE, slo=SLO, **window(world))
    assert not page.exception
    detail = api(world.url, f"/api/v1/slos/{SLO}", points=360)
    objective = detail["objectives"][0]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["State"] == detail["state"]
    assert metrics["Budget left %"] == f"{detail['budget_remaining'] * 100:.2f}"
    assert metrics["Target %"] == "99.000"

    rates = table(page, "windows")
    assert list(rates["windows"]) == ["1h / 5m", "6h / 30m", "1d / 2h", "3d / 6h"]
    for row, tier in zip(rates.to_dict("records"), objective["burn_rates"], strict=True):
        assert row["severity"] == tier["severity"]
        assert none(row["long burn rate"]) == tier["long_burn_rate"]
        assert none(row["short burn rate"]) == tier["short_burn_rate"]
        assert row["threshold"] == tier["threshold"]
        assert row["firing"] == tier["firing"]
        assert (row["state"] == "firing") == tier["firing"]

    burn_down = charts(page)["Error budget left over the period (%)"]
    budget = next(t for t in burn_down["data"] if t["name"] == "budget left")
    assert budget["y"] == [v * 100 for _, v in objective["burn_down"]["points"]]
    assert budget["y"][-1] == detail["budget_remaining"] * 100


def test_the_sli_per_step_is_the_indicators_ratio_with_breaches_shaded(world, console):
    page = console(PAGE, slo=SLO, **window(world))
    w = window(world)
    step_ms = step_for(int(w["from"]), int(w["to"]), 500, 60_000)
    answers = {
        name: api(world.url, "/api/v1/graph", q=q, s=w["from"], e=w["to"], step=f"{step_ms // 1000}s")
        for name, q in (
            ("total", "name,span.calls,:eq,nf.app,drm,:eq,:and,:sum"),
            ("bad", "name,span.calls,:eq,nf.app,drm,:eq,:and,status.code,error,:eq,:and,:sum"),
        )
    }
    expected = []
    for total, bad in zip(answers["total"]["values"], answers["bad"]["values"], strict=True):
        t, b = total[0], bad[0]
        expected.append(None if t in ("NaN", 0) else (1 - (0 if b == "NaN" else b) / t) * 100)
    sli = charts(page)["SLI per step (%)"]
    assert sli["data"][0]["y"] == pytest.approx(expected)
    missing = [i for i, v in enumerate(expected) if v is not None and v < 99]
    assert len(missing) >= 1  # the seeded failures
    shaded = [s for s in sli["layout"]["shapes"] if s["type"] == "rect"]
    runs = sum(1 for n, i in enumerate(missing) if n == 0 or missing[n - 1] != i - 1)
    assert len(shaded) == runs
    links = {link.proto.label: link.proto for link in page.get("page_link")}
    assert links["Service drm"].page == "service"
    assert links["Service drm"].query_string == f"service=drm&from={w['from']}&to={w['to']}"
    assert links["Alerts and incidents"].page == "alerts"


def test_picking_an_slo_writes_the_url_and_an_unknown_one_is_said(world, console):
    page = console(PAGE, **window(world))
    page.selectbox(key="wf.slos.slo").select(SLO).run()
    assert not page.exception
    assert page.query_params["slo"] == SLO
    assert page.subheader[0].value == SLO.replace("-", "\\-")
    assert "windows" in {c for d in page.dataframe for c in d.value.columns}
    gone = console(PAGE, slo="no-such-slo", **window(world))
    assert not gone.exception
    assert any("404" in e.value for e in gone.error)


def test_alert_history_lists_this_slos_burn_rate_alerts(burning, on_burning):
    page = on_burning(PAGE, slo=SLO, **window(burning))
    assert not page.exception
    alerts = table(page, "summary")
    api_alerts = api(burning.url, "/api/v1/alerts", label=f"slo={SLO}")["alerts"]
    assert len(api_alerts) == 4
    assert list(alerts["fingerprint"]) == [a["fingerprint"] for a in api_alerts]
    assert set(alerts["window"]) == {"1h/5m", "6h/30m", "1d/2h", "3d/6h"}
    assert list(alerts["state"]) == [a["state"] for a in api_alerts]
    assert "DrmErrors" not in " ".join(alerts["summary"])
    first = alerts.iloc[0]
    assert query_of(first["open"]) == (
        "/alerts",
        {"state": "all", "alert": first["fingerprint"], **window(burning)},
    )
    history = table(page, "transition")
    changes = [
        (a["fingerprint"], h["transition"])
        for a in api_alerts
        for h in api(burning.url, f"/api/v1/alerts/{a['fingerprint']}")["history"]
    ]
    assert sorted(zip(history["fingerprint"], history["transition"], strict=True)) == sorted(changes)
    assert ("firing" in set(history["transition"])) and len(history) >= 4


def test_text_from_the_definition_is_shown_as_text(burning, on_burning):
    page = on_burning(PAGE, slo=HOSTILE_SLO, **window(burning))
    assert not page.exception
    assert HOSTILE_MESSAGE in [t.value for t in page.text]
    assert all(HOSTILE_MESSAGE not in m.value for m in page.markdown)
    assert list(table(page, "SLO")["SLO"]) == [s["name"] for s in api(burning.url, "/api/v1/slos")["slos"]]


def test_indicators_from_openslo_text():
    assert indicator_of(SLO_YAML, SLO) == Indicator(
        "ratio",
        total="name,span.calls,:eq,nf.app,drm,:eq,:and,:sum",
        bad="name,span.calls,:eq,nf.app,drm,:eq,:and,status.code,error,:eq,:and,:sum",
    )
    referenced = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: good-plays}
spec:
  ratioMetric:
    good: {metricSource: {type: atlas, spec: {query: "name,ok,:eq"}}}
    total: {metricSource: {type: atlas, spec: {query: "name,all,:eq"}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: plays}
spec: {indicatorRef: good-plays}
"""
    assert indicator_of(referenced, "plays") == Indicator("ratio", total="name,all,:eq", good="name,ok,:eq")
    threshold = "kind: SLO\nmetadata: {name: t}\nspec:\n  indicator:\n    spec:\n      thresholdMetric:\n"
    threshold += "        metricSource: {type: atlas, spec: {query: 'name,lat,:eq'}}\n"
    assert indicator_of(threshold, "t") == Indicator("threshold", metric="name,lat,:eq")
    assert isinstance(indicator_of(SLO_YAML.replace("type: atlas", "type: prometheus"), SLO), str)
    assert isinstance(indicator_of("a: [", SLO), str)


def test_sli_points_and_breaches():
    def answer(*values):
        return {"start": 0, "step": 10, "values": [[v] for v in values]}

    good = Indicator("ratio", total="t", good="g")
    assert sli_points(good, {"total": answer(4.0, "NaN", 2.0), "good": answer(3.0, "NaN", "NaN")}) == [
        (0, 0.75),
        (10, None),
        (20, 0.0),
    ]
    bad = Indicator("ratio", total="t", bad="b")
    assert sli_points(bad, {"total": answer(4.0, 2.0), "bad": answer(1.0, "NaN")}) == [(0, 0.75), (10, 1.0)]
    points = [(10, 0.5), (20, 0.4), (30, 1.0), (40, None), (50, 0.1)]
    assert breaches(points, {"target": 0.9}, "ratio", 10) == [(0, 20), (40, 50)]
    assert breaches(
        [(10, 300.0), (20, 100.0)], {"target": 0.9, "op": "lt", "value": 200}, "threshold", 10
    ) == [(0, 10)]


def test_burn_rate_states_and_durations():
    tier = {"severity": "page", "long": "1h", "short": "5m", "threshold": 14.4, "budget_percent": 2}
    rows = burn_rate_rows(
        {
            "burn_rates": [
                {**tier, "long_burn_rate": 20.0, "short_burn_rate": 30.0, "firing": True},
                {**tier, "long_burn_rate": 20.0, "short_burn_rate": None, "firing": False},
                {**tier, "long_burn_rate": 20.0, "short_burn_rate": 30.0, "firing": False, "guarded": True},
                {**tier, "long_burn_rate": 1.0, "short_burn_rate": 1.0, "firing": False},
            ]
        }
    )
    assert [r["state"] for r in rows] == ["firing", "no data", "guarded: too few events", "ok"]
    assert duration_text(90_061_000) == "1d 1h"
    assert exhaustion_text({"budget_remaining": 0.5, "time_to_exhaustion_ms": 2_700_000}) == "45m"
    assert exhaustion_text({"budget_remaining": 0.5, "time_to_exhaustion_ms": None}) == ""
    assert exhaustion_text({"budget_remaining": -1.0, "time_to_exhaustion_ms": 0}) == "exhausted"
