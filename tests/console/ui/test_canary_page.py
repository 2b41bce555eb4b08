"""The Canary page against a real server: analyses started through its form, the API's verdicts shown.

The test seeds its own canary-able metrics (two clusters of ``cnryapp``: the canary twice as
slow on one metric, the same on the others) and its own canary config, so the verdict is
known: one High metric of four, weighed to a passing 80 — a passing canary raises no alert,
so the other pages' tests keep seeing the world's one firing alert.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from canary.config import MetricQuery
from canary.metric_source import spans_expression
from console.ui.data.canary import (
    DEFAULT_THRESHOLDS,
    comparison,
    config_thresholds,
    form_label,
    metric_expression,
    scoped,
    start_request,
)
from console.ui.session import TOKEN_ENV, reset
from store.model import Datapoint
from tests.support.console_seed import TOKEN
from tests.support.polling import eventually

APP, BASELINE, CANARY_CLUSTER = "cnryapp", "cnry-v1", "cnry-v2-canary"
CONFIG_ID = "console-test-canary"
STEP_MS = 10_000
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _metric(name: str, query: dict[str, str], group: str) -> dict[str, object]:
    return {"name": name, "query": query, "groups": [group], "scopeName": "default",
            "analysisConfigurations": {"canary": {"direction": "increase"}}}  # fmt: skip


CONFIG = {
    "id": CONFIG_ID,
    "name": "console-test-canary",
    "applications": [APP],
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "metrics": [
        _metric("latency", {"type": "atlas", "q": "name,cnry.latency,:eq,:avg"}, "latency"),
        _metric("queue", {"type": "atlas", "q": "name,cnry.queue,:eq,:avg"}, "latency"),
        _metric("errors", {"type": "atlas", "q": "name,cnry.errors,:eq,:sum"}, "errors"),
        _metric("error log lines", {"type": "logs", "service": APP, "level": "error"}, "errors"),
    ],
    "classifier": {
        "groupWeights": {"latency": 40, "errors": 60},
        "scoreThresholds": {"pass": 75, "marginal": 50},
    },
}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _wait(world, analysis_id: str) -> dict[str, object]:
    """The verdict once the server's runner has made every judgement (they are all due at once)."""

    def verdict() -> dict[str, object] | None:
        found = httpx.get(f"{world.url}/api/v1/canary/analyses/{analysis_id}/verdict").json()
        return None if found["verdict"] == "running" else found

    return eventually(verdict, timeout_s=60, what=f"analysis {analysis_id} to finish")


@pytest.fixture(scope="module")
def seeded(world):
    """cnryapp's series for the seeded half hour and the canary config judging them."""
    rng = random.Random(9)
    points = []
    for t in range((world.now_ms - 30 * 60_000) // STEP_MS * STEP_MS, world.now_ms, STEP_MS):
        for cluster, slow in ((BASELINE, 100.0), (CANARY_CLUSTER, 200.0)):
            tags = {"nf.app": APP, "nf.cluster": cluster}
            points.append(Datapoint({"name": "cnry.latency", **tags}, t, slow + rng.random() * 10))
            points.append(Datapoint({"name": "cnry.queue", **tags}, t, 5.0))
            points.append(Datapoint({"name": "cnry.errors", **tags}, t, 0.5))
    world.server.store.write_datapoints(points)
    httpx.post(f"{world.url}/canaryConfig", json=CONFIG, headers=AUTH).raise_for_status()
    return world


@pytest.fixture(scope="module")
def finished(seeded):
    """A finished standalone analysis and a finished single judgement (``POST /canary``), started by API."""
    begin = seeded.now_ms - 20 * 60_000
    scope = {"scopeName": "default", "controlScope": BASELINE, "experimentScope": CANARY_CLUSTER,
             "startTimeIso": _iso(begin)}  # fmt: skip
    standalone = httpx.post(
        f"{seeded.url}/standalone_canary_analysis/{CONFIG_ID}",
        json={"scopes": [scope], "lifetimeDurationMins": 10},
        params={"application": APP},
        headers=AUTH,
    ).json()["canaryAnalysisExecutionId"]
    side = {"location": "", "start": _iso(begin), "end": _iso(begin + 600_000), "step": 10}
    request = {"scopes": {"default": {"controlScope": {**side, "scope": BASELINE},
                                      "experimentScope": {**side, "scope": CANARY_CLUSTER}}}}  # fmt: skip
    single = httpx.post(f"{seeded.url}/canary/{CONFIG_ID}", json=request, headers=AUTH).json()[
        "canaryExecutionId"
    ]
    verdicts = {i: _wait(seeded, i) for i in (standalone, single)}
    return {"url": seeded.url, "standalone": standalone, "canary": single, "verdicts": verdicts}


def test_a_running_analysis_shows_the_judgements_made_so_far(seeded, console):
    # Clusters of its own, with series up to the real clock: judgement 1 of 3 is due at once,
    # judgement 2 only eight minutes on.
    now = int(time.time() * 1000)
    base, canary = "cnry-run-v1", "cnry-run-v2"
    points = [
        Datapoint({"name": name, "nf.app": APP, "nf.cluster": cluster}, t, value)
        for t in range((now - 15 * 60_000) // STEP_MS * STEP_MS, now, STEP_MS)
        for cluster in (base, canary)
        for name, value in (("cnry.latency", 100.0 + t % 7), ("cnry.queue", 5.0), ("cnry.errors", 0.5))
    ]
    seeded.server.store.write_datapoints(points)
    scope = {"scopeName": "default", "controlScope": base, "experimentScope": canary,
             "startTimeIso": _iso(now - 12 * 60_000)}  # fmt: skip
    body = {"scopes": [scope], "lifetimeDurationMins": 30, "analysisIntervalMins": 10}
    url = f"{seeded.url}/standalone_canary_analysis/{CONFIG_ID}"
    analysis_id = httpx.post(url, json=body, headers=AUTH).json()["canaryAnalysisExecutionId"]

    def judged() -> dict[str, Any] | None:
        found: dict[str, Any] = httpx.get(f"{seeded.url}/canary/{analysis_id}-1").json()
        return found if found["status"] == "succeeded" else None

    first = eventually(judged, timeout_s=60, what="the first judgement")
    page = console("views/canary.py", analysis=analysis_id)
    assert not page.exception
    assert _metrics(page) == {"Verdict": "running", "Score": "–", "Status": "RUNNING", "Judgements": "1 of 3"}
    assert any("next judgement due" in i.value for i in page.info)
    classes = _frame(page, "metric").set_index("metric")["classification"].to_dict()
    assert classes == {r["name"]: r["classification"] for r in first["result"]["judgeResult"]["results"]}


def _frame(page, column):
    """The first table with ``column`` (display tables carry no key in AppTest)."""
    return next(d.value for d in page.dataframe if column in d.value.columns)


def _metrics(page):
    return {m.label: m.value for m in page.metric}


def _fill(page, *, canary=CANARY_CLUSTER, begin_ms):
    page.selectbox(key="canary.f.config").select(CONFIG_ID)
    page.text_input(key="canary.f.baseline").input(BASELINE)
    page.text_input(key="canary.f.canary").input(canary)
    page.number_input(key="canary.f.lifetime").set_value(10.0)
    page.number_input(key="canary.f.interval").set_value(5.0)
    page.text_input(key="canary.f.start").input(str(begin_ms))
    page.text_input(key="canary.f.user").input("console-test")
    return page.button(key="canary.f.submit").click().run()


def _analysis_ids(world):
    return [a["id"] for a in httpx.get(f"{world.url}/api/v1/canary/analyses").json()["analyses"]]


def test_an_analysis_started_from_the_form_shows_the_apis_verdict_scores_and_series(seeded, console):
    page = _fill(console("views/canary.py"), begin_ms=seeded.now_ms - 25 * 60_000)
    assert not page.exception
    new_id = page.query_params["analysis"]
    assert new_id == _analysis_ids(seeded)[0]
    assert any(new_id in s.value for s in page.success)
    verdict = _wait(seeded, new_id)
    reset()  # the page cached the running analysis; read what the server says now
    page.run()
    assert not page.exception
    assert _metrics(page)["Verdict"] == verdict["verdict"] == "pass"
    assert _metrics(page)["Score"] == f"{verdict['score']:g}" == "80"
    assert _metrics(page)["Judgements"] == "2 of 2"

    answer = httpx.get(f"{seeded.url}/standalone_canary_analysis/{new_id}").json()
    assert answer["user"] == "console-test" and answer["application"] == APP
    last = answer["canaryAnalysisExecutionResult"]["canaryExecutionResults"][-1]
    judged = last["result"]["judgeResult"]
    metrics = _frame(page, "metric").set_index("metric")
    for result in judged["results"]:
        row = metrics.loc[result["name"]]
        assert row["classification"] == result["classification"]
        assert row["ratio"] == result["resultMetadata"]["ratio"]
        assert row["control mean"] == result["controlMetadata"]["stats"]["mean"]
        assert row["experiment n"] == result["experimentMetadata"]["stats"]["count"]
    assert metrics.loc["latency", "classification"] == "High"
    assert metrics.loc["latency", "CI low"] == judged["results"][0]["resultMetadata"]["lower"]
    groups = _frame(page, "group")
    assert groups.to_dict("records") == [
        {"group": g["name"], "score": g["score"], "no data": g["noData"]} for g in judged["groupScores"]
    ]

    # Three atlas metrics are charted (log lines are not series); each line is the graph API's.
    charts = page.get("plotly_chart")
    assert len(charts) == 3
    spec = json.loads(charts[0].proto.spec)
    window = {"s": str(last["judgementStartTimeMillis"]), "e": str(last["judgementEndTimeMillis"])}
    for trace, cluster in zip(spec["data"], (BASELINE, CANARY_CLUSTER), strict=True):
        q = scoped("name,cnry.latency,:eq,:avg", "nf.cluster", cluster)
        graph = httpx.get(f"{seeded.url}/api/v1/graph", params={"q": q, **window}).json()
        assert trace["y"] == [None if v == "NaN" else v for (v,) in graph["values"]]
        assert cluster in trace["name"]

    links = {link.value: link.proto.query_string for link in page.page_link}
    assert "service=cnryapp" in links[f"Service {APP}"]
    explore = links["Explore latency"]
    assert f"from={last['judgementStartTimeMillis']}" in explore and "q=name" in explore


def test_a_refused_start_names_the_form_field_in_plain_text(seeded, console):
    before = _analysis_ids(seeded)
    page = _fill(console("views/canary.py"), canary="", begin_ms=seeded.now_ms - 25 * 60_000)
    assert not page.exception
    assert any("refused the analysis (400)" in e.value for e in page.error)
    texts = [t.value for t in page.text]
    assert any(
        t.startswith("Canary cluster (executionRequest.scopes[0].experimentScope): expected") for t in texts
    )
    assert "analysis" not in page.query_params
    assert _analysis_ids(seeded) == before


def test_without_a_token_the_start_fails_with_the_servers_401(seeded, console, monkeypatch):
    page = console("views/canary.py")
    monkeypatch.delenv(TOKEN_ENV)
    reset()
    before = _analysis_ids(seeded)
    page = _fill(page, begin_ms=seeded.now_ms - 25 * 60_000)
    assert not page.exception
    assert any("(401)" in e.value for e in page.error)
    assert "authorization: a bearer token is required" in [t.value for t in page.text]
    assert _analysis_ids(seeded) == before


def test_the_url_selects_an_analysis_and_the_list_links_to_each(finished, console):
    analysis_id = finished["standalone"]
    page = console("views/canary.py", analysis=analysis_id)
    assert not page.exception
    assert page.query_params["analysis"] == analysis_id
    assert any(analysis_id in s.value for s in page.subheader)
    verdict = finished["verdicts"][analysis_id]
    assert _metrics(page)["Verdict"] == verdict["verdict"]
    listed = _frame(page, "verdict").set_index("id")
    assert listed.loc[analysis_id, "verdict"] == verdict["verdict"]
    assert listed.loc[analysis_id, "score"] == verdict["score"]
    assert listed.loc[analysis_id, "open"].startswith(f"/canary?analysis={analysis_id}")


def test_a_single_judgement_reads_kayentas_execution_answer(finished, console):
    analysis_id = finished["canary"]
    page = console("views/canary.py", analysis=analysis_id)
    assert not page.exception
    execution = httpx.get(f"{finished['url']}/canary/{analysis_id}").json()
    judged = execution["result"]["judgeResult"]
    assert _metrics(page)["Score"] == f"{judged['score']['score']:g}"
    classes = _frame(page, "metric").set_index("metric")["classification"].to_dict()
    assert classes == {r["name"]: r["classification"] for r in judged["results"]}
    assert len(page.get("plotly_chart")) == 3
    assert (
        "service=cnryapp"
        in {link.value: link.proto.query_string for link in page.page_link}[f"Service {APP}"]
    )


def test_an_unknown_analysis_is_said_as_text(seeded, console):
    page = console("views/canary.py", analysis="no-such-analysis")
    assert not page.exception
    assert any("404" in e.value for e in page.error)
    assert page.query_params["analysis"] == "no-such-analysis"


@pytest.mark.parametrize("statistic", ["mean", "p95", "errorRate"])
@pytest.mark.parametrize("operation", ["POST /license", None, "GET /a,b"])
def test_spans_metrics_chart_what_the_judge_reads(statistic, operation):
    query = {"type": "spans", "service": "drm", "statistic": statistic}
    if operation is not None:
        query["operation"] = operation
    assert metric_expression(query) == spans_expression(MetricQuery(**query))
    assert metric_expression({"type": "logs", "service": "drm"}) is None


def test_the_form_takes_the_chosen_config_s_thresholds_and_the_analysis_carries_them(seeded, console):
    classifier = {
        "groupWeights": {"latency": 40, "errors": 60},
        "scoreThresholds": {"pass": 80, "marginal": 60},
    }
    strict = {
        **CONFIG,
        "id": f"{CONFIG_ID}-strict",
        "name": "console-test-canary-strict",
        "classifier": classifier,
    }
    httpx.post(f"{seeded.url}/canaryConfig", json=strict, headers=AUTH).raise_for_status()
    stored = httpx.get(f"{seeded.url}/canaryConfig/{strict['id']}").json()
    assert stored["classifier"]["scoreThresholds"] == {"pass": 80, "marginal": 60}

    page = console("views/canary.py")
    page.selectbox(key="canary.f.config").select(strict["id"]).run()
    assert not page.exception
    shown = (page.number_input(key=f"canary.f.pass.{strict['id']}").value,
             page.number_input(key=f"canary.f.marginal.{strict['id']}").value)  # fmt: skip
    assert shown == (80.0, 60.0)
    page.selectbox(key="canary.f.config").select(CONFIG_ID).run()  # and back: that config's own
    assert page.number_input(key=f"canary.f.pass.{CONFIG_ID}").value == 75.0
    page.selectbox(key="canary.f.config").select(strict["id"]).run()

    page.text_input(key="canary.f.baseline").input(BASELINE)
    page.text_input(key="canary.f.canary").input(CANARY_CLUSTER)
    page.number_input(key="canary.f.lifetime").set_value(10.0)
    page.text_input(key="canary.f.start").input(str(seeded.now_ms - 25 * 60_000))
    page.button(key="canary.f.submit").click().run()
    assert not page.exception
    new_id = page.query_params["analysis"]
    _wait(seeded, new_id)
    answer = httpx.get(f"{seeded.url}/standalone_canary_analysis/{new_id}").json()
    assert answer["canaryConfig"]["id"] == strict["id"]
    assert answer["canaryAnalysisExecutionRequest"]["thresholds"] == {"pass": 80.0, "marginal": 60.0}
    # Each judgement's own execution says the thresholds the judge classified its score by.
    judged = answer["canaryAnalysisExecutionResult"]["canaryExecutionResults"]
    assert judged
    for made in judged:
        execution = httpx.get(f"{seeded.url}/canary/{made['executionId']}").json()
        assert execution["canaryExecutionRequest"]["thresholds"] == {"pass": 80.0, "marginal": 60.0}


def test_form_pieces():
    assert form_label("executionRequest.scopes[0].controlScope").startswith("Baseline cluster (")
    assert form_label("executionRequest.thresholds.marginal").startswith("Marginal threshold")
    assert form_label("canaryConfig.metrics") == "canaryConfig.metrics"
    assert config_thresholds({"classifier": {"scoreThresholds": {"pass": 80, "marginal": 60}}}) == (
        80.0,
        60.0,
    )
    for bare in (None, {}, {"classifier": {"groupWeights": {"a": 100}}}, {"classifier": None}):
        assert config_thresholds(bare) == DEFAULT_THRESHOLDS == (75.0, 50.0)
    assert config_thresholds({"classifier": {"scoreThresholds": {"pass": 90}}}) == (90.0, 50.0)
    assert config_thresholds({"classifier": {"scoreThresholds": [80, 60]}}) == DEFAULT_THRESHOLDS
    assert config_thresholds({"classifier": {"scoreThresholds": {"pass": "high", "marginal": 101}}}) == (
        75.0, 50.0
    )  # fmt: skip
    request = start_request(
        ["default"], baseline="a", canary="b", start_ms=0, lifetime_min=10, interval_min=0,
        begin_after_min=2, lookback_min=0, step_s=0, pass_score=75, marginal_score=50,
    )  # fmt: skip
    assert request == {
        "scopes": [{"scopeName": "default", "controlScope": "a", "experimentScope": "b",
                    "startTimeIso": "1970-01-01T00:00:00Z"}],
        "lifetimeDurationMins": 10, "thresholds": {"pass": 75, "marginal": 50}, "beginAfterMins": 2,
    }  # fmt: skip
    merged = comparison(
        {"start": 0, "step": 10, "legend": ["x"], "values": [[1.0], [2.0]]},
        {"start": 60, "step": 10, "legend": ["y"], "values": [[3.0]]},
        "base",
        "can",
    )
    assert merged == {"start": 60, "step": 10, "legend": ["control base: x", "experiment can: y"],
                      "values": [[1.0, 3.0], [2.0, "NaN"]]}  # fmt: skip
