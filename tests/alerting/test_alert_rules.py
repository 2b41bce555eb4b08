"""Threshold rules from a file and the API: fields checked by name, file rules read-only,
and a rule put through the API evaluated by the running server."""

from __future__ import annotations

import time

import httpx
import pytest

from alerting.rule_book import RuleBook, RuleError, read_rule
from store.duckdb_store import DuckDBStore
from store.model import Datapoint
from tests.support.polling import eventually
from tests.support.server import RunningServer

RULE = {"expr": "name,queue,:eq,(,nf.app,),:by,100,:gt", "for": "0s", "labels": {"severity": "ticket"}}


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "r.duckdb")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "body"),
        ({**RULE, "name": "has space"}, "name"),
        ({**RULE, "name": "ok", "expr": ""}, "expr"),
        ({**RULE, "name": "ok", "expr": "name,queue,:eq,:nosuchword"}, "expr"),
        ({**RULE, "name": "ok", "for": "soon"}, "for"),
        ({**RULE, "name": "ok", "step": "0s"}, "step"),
        ({**RULE, "name": "ok", "lookback": "30d"}, "lookback"),
        ({**RULE, "name": "ok", "labels": {"severity": 3}}, "labels"),
        ({**RULE, "name": "canary"}, "name"),  # Watchfloor's own rule names are reserved
        ({**RULE, "name": "alertmanager"}, "name"),
    ],
)
def test_bad_rules_name_the_field(store, raw, field):
    with pytest.raises(RuleError) as caught:
        read_rule(raw, store, 60_000)
    assert caught.value.field == field


def test_a_rules_file_is_read_and_its_problems_name_file_and_rule(store, tmp_path):
    good = tmp_path / "rules.yaml"
    good.write_text("rules:\n  - name: QueueBacklog\n    expr: name,queue,:eq,100,:gt\n    for: 2m\n")
    book = RuleBook(store, store, 60_000, good)
    [rule] = book.rules()
    assert (rule.name, rule.for_ms, rule.step_ms) == ("QueueBacklog", 120_000, 60_000)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: A\n    expr: name,a,:eq\n  - name: A\n    expr: name,b,:eq\n")
    with pytest.raises(RuleError, match=r"rules\[1\]\.name"):
        RuleBook(store, store, 60_000, bad)


def test_rules_through_the_api_are_kept_evaluated_and_removed(tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("rules:\n  - name: FromFile\n    expr: name,never,:eq,1,:gt\n")
    server = RunningServer(
        tmp_path / "data", step_ms=60_000, alert_eval_interval_s=0.2, alert_rules_file=rules_file
    )
    try:
        end = int(time.time() * 1000) // 60_000 * 60_000
        server.server.store.write_datapoints(
            [
                Datapoint({"name": "queue", "nf.app": "encoding"}, ts, 250.0)
                for ts in range(end - 600_000, end + 1, 60_000)
            ]
        )
        url = f"{server.url}/api/v1/alert-rules"
        assert httpx.put(f"{url}/QueueBacklog", json=RULE).status_code == 201
        assert httpx.put(f"{url}/QueueBacklog", json=RULE).status_code == 200
        listed = {r["name"]: r["source"] for r in httpx.get(url).json()["rules"]}
        assert listed == {"slo-burn-rate": "slo", "FromFile": "file", "QueueBacklog": "api"}

        def firing():
            alerts = httpx.get(
                f"{server.url}/api/v1/alerts", params={"label": "alertname=QueueBacklog"}
            ).json()
            return alerts["alerts"] or None

        [alert] = eventually(firing, timeout_s=30, what="the rule's alert")
        assert (alert["state"], alert["labels"]["nf.app"], alert["severity"]) == (
            "firing",
            "encoding",
            "ticket",
        )
        assert httpx.put(f"{url}/FromFile", json=RULE).status_code == 409
        bad = httpx.put(f"{url}/Broken", json={"expr": "name,a,:eq,:nosuchword"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "expr"
        assert httpx.delete(f"{url}/QueueBacklog").status_code == 204
        assert httpx.delete(f"{url}/QueueBacklog").status_code == 404
        eventually(
            lambda: firing()[0]["state"] == "resolved" or None, timeout_s=30, what="its alert to resolve"
        )
    finally:
        server.stop()
