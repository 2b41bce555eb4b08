"""Finished canary analyses become PagerDuty change events (protocols.md §1), field by field,
and the running server hands each one to its installed senders."""

from __future__ import annotations

import time

from canary.analysis import Analysis, Judgement, final_result
from canary.change_events import change_event
from canary.scopes import ScopePair, ScopeWindow, iso
from canary.scorer import Thresholds
from tests.support.canary import post_canary, seed_latency
from tests.support.polling import eventually
from tests.support.server import RunningServer

T0 = 1_800_000_000_000
ALLOWED_TOP = {"payload", "links"}  # the sender adds routing_key; no action, dedup key or severity


def _analysis(score: float, *, kind: str = "standalone") -> Analysis:
    pair = ScopePair(
        ScopeWindow("drm-v1", T0, T0 + 600_000, 10_000),
        ScopeWindow("drm-v2-canary", T0, T0 + 600_000, 10_000),
    )
    judgement = Judgement(1, "A-1", {"default": pair}, T0, status="SUCCEEDED", score=score)
    analysis = Analysis(
        id="A",
        kind=kind,
        config={"name": "drm-canary"},
        request={},
        thresholds=Thresholds(75.0, 50.0),
        judgements=[judgement],
        created_ms=T0,
        application="drm",
        status="SUCCEEDED",
        ended_ms=T0 + 700_000,
    )
    analysis.result = final_result(analysis)
    return analysis


def test_a_change_event_carries_what_pagerduty_accepts_and_the_verdict():
    event = change_event(_analysis(100.0), "http://127.0.0.1:7070/")
    assert set(event) == ALLOWED_TOP
    payload = event["payload"]
    assert payload["summary"] == "Canary pass: drm-canary (drm-v2-canary vs drm-v1), score 100"
    assert len(payload["summary"]) <= 1024
    assert payload["source"] == "watchfloor canary (drm)"
    assert payload["timestamp"] == iso(T0 + 700_000)
    details = payload["custom_details"]
    assert (details["verdict"], details["score"], details["scores"]) == ("pass", 100.0, [100.0])
    assert event["links"] == [
        {
            "href": "http://127.0.0.1:7070/standalone_canary_analysis/A",
            "text": "Canary analysis in Watchfloor",
        }
    ]


def test_a_marginal_canary_says_so_and_a_long_name_is_cut_to_the_limit():
    analysis = _analysis(60.0, kind="canary")
    analysis.config["name"] = "x" * 2000
    event = change_event(analysis)
    assert event["payload"]["summary"].startswith("Canary marginal: xxx")
    assert len(event["payload"]["summary"]) == 1024
    assert event["links"] == []


def test_the_server_hands_each_finished_analysis_to_its_senders(tmp_path):
    server = RunningServer(tmp_path, step_ms=10_000)
    try:
        sent: list[dict] = []
        server.server.change_event_senders.append(sent.append)
        end = (int(time.time() * 1000) - 600_000) // 10_000 * 10_000
        seed_latency(server.server.store, end - 300_000, end)
        execution_id = post_canary(server.url, end - 300_000, end)
        eventually(lambda: sent, timeout_s=30, what="a change event")
        [event] = sent
        assert event["payload"]["custom_details"]["analysis_id"] == execution_id
        assert event["payload"]["custom_details"]["verdict"] == "pass"
    finally:
        server.stop()
