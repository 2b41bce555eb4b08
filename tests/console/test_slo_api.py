"""``/api/v1/slos`` on a real server over loopback: figures, definitions, bad input, persistence.

Data is written straight into the server's store at a fixed clock, so the expected figures
are exact: 100 requests a minute for a day, with a known number of errors.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
import yaml

from sample_services.slos import DEMO_SLO_DIR
from tests.support.server import RunningServer

STEP = 60_000
DAY = 1440
NOW_MS = int(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp() * 1000)

AVAILABILITY = textwrap.dedent(
    """
    apiVersion: openslo/v1
    kind: SLO
    metadata: {name: checkout}
    spec:
      service: shop
      indicator:
        metadata: {name: checkout-ok}
        spec:
          ratioMetric:
            bad: {metricSource: {type: atlas, spec: {query: "name,requests,:eq,outcome,error,:eq,:and,:sum"}}}
            total: {metricSource: {type: atlas, spec: {query: "name,requests,:eq,:sum"}}}
      timeWindow: [{duration: 1d, isRolling: true}]
      budgetingMethod: Occurrences
      objectives: [{target: 0.99}]
    """
)


def _write_traffic(store, errors_at_end: int) -> None:
    """A day of 100 requests a minute; the last ``errors_at_end`` minutes have 50 errors each."""
    stamps = NOW_MS - STEP * np.arange(DAY - 1, -1, -1)
    bad = np.zeros(DAY)
    bad[DAY - errors_at_end :] = 50.0
    for outcome, counts in (("ok", 100.0 - bad), ("error", bad)):
        tags = {"name": "requests", "outcome": outcome}
        store.write_point_columns([tags] * DAY, stamps.tolist(), (counts / 60).tolist())


@pytest.fixture
def server(tmp_path):
    running = RunningServer(tmp_path / "data", clock=lambda: NOW_MS / 1000, slo_dir=DEMO_SLO_DIR)
    _write_traffic(running.store, errors_at_end=6)
    yield running
    running.stop()


def composite_slo(name: str, components: str) -> str:
    """A 1-day composite SLO of the service ``shop`` over ``components`` (YAML flow list)."""
    return textwrap.dedent(
        f"""
        apiVersion: openslo/v1
        kind: SLO
        metadata: {{name: {name}}}
        spec:
          service: shop
          timeWindow: [{{duration: 1d, isRolling: true}}]
          budgetingMethod: Occurrences
          objectives: [{{target: 0.99}}]
          watchfloor: {{composite: {{components: {components}}}}}
        """
    )


def put(server, name, text, **kwargs):
    return httpx.put(f"{server.url}/api/v1/slos/{name}", content=text.encode(), **kwargs)


def test_put_then_get_gives_the_figures_of_the_data(server):
    created = put(server, "checkout", AVAILABILITY)
    assert created.status_code == 201, created.text
    assert created.json()["created"] is True
    detail = httpx.get(f"{server.url}/api/v1/slos/checkout", params={"points": 24}).json()
    [objective] = detail["objectives"]
    # 144,000 events in the day, 300 bad (6 minutes × 50); 1 % of 144,000 = 1,440 allowed.
    assert objective["budget"] == {
        "total": pytest.approx(1440.0),
        "spent": pytest.approx(300.0),
        "remaining": pytest.approx(1 - 300 / 1440),
        "unit": "events",
    }
    assert objective["sli"] == pytest.approx(1 - 300 / 144_000)
    page = objective["burn_rates"][0]
    # Scaled to a 1-day period, the fastest tier is 1 h / 5 m at 2 % × 24 h / 1 h = 0.48.
    assert (page["long"], page["short"], page["threshold"]) == ("1h", "5m", pytest.approx(0.48))
    assert page["long_burn_rate"] == pytest.approx(300 / 6000 / 0.01)
    assert page["short_burn_rate"] == pytest.approx(0.5 / 0.01)
    assert page["firing"] is True and detail["state"] == "burning" and detail["firing"] == ["page", "ticket"]
    burn_down = objective["burn_down"]
    assert len(burn_down["points"]) == 24 and burn_down["step_ms"] == 60 * STEP
    assert burn_down["points"][-1] == [NOW_MS, pytest.approx(1 - 300 / 1440)]
    assert burn_down["points"][0][1] == 1.0
    again = put(server, "checkout", AVAILABILITY.replace("0.99", "0.995"))
    assert again.status_code == 200 and again.json()["created"] is False
    changed = httpx.get(f"{server.url}/api/v1/slos/checkout").json()
    assert changed["objectives"][0]["budget"]["total"] == pytest.approx(720.0)


def test_the_list_has_every_slo_sorted_by_budget_remaining(server):
    assert put(server, "checkout", AVAILABILITY).status_code == 201
    tighter = AVAILABILITY.replace("checkout", "checkout-strict").replace("0.99", "0.999")
    assert put(server, "checkout-strict", tighter).status_code == 201
    slos = httpx.get(f"{server.url}/api/v1/slos").json()["slos"]
    names = [s["name"] for s in slos]
    assert names[:2] == ["checkout-strict", "checkout"]
    assert slos[0]["budget_remaining"] == pytest.approx(1 - 300 / 144)
    # The demo's SLOs have no data in this store: listed after, in state no_data.
    assert set(names[2:]) == {
        "playback-start-availability",
        "playback-start-latency",
        "drm-license-availability",
        "cdn-segment-availability",
        "cdn-cache-miss-latency",
        "encoding-job-success",
        "viewer-journey",
    }
    assert all(s["state"] == "no_data" for s in slos[2:])
    only = httpx.get(f"{server.url}/api/v1/slos", params={"service": "shop"}).json()["slos"]
    assert [s["name"] for s in only] == ["checkout-strict", "checkout"]


TARGET = "spec.objectives[0].target"
BAD_INPUTS = [
    ("invalid YAML", "kind: SLO\n  bad: [", "document", "", "invalid YAML"),
    (
        "unknown kind",
        AVAILABILITY.replace("kind: SLO", "kind: Objective"),
        "Objective/checkout",
        "kind",
        "unknown kind",
    ),
    (
        "missing indicator",
        AVAILABILITY.split("  indicator:")[0]
        + "  timeWindow: [{duration: 1d, isRolling: true}]\n"
        + "  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n",
        "SLO/checkout",
        "spec.indicator",
        "missing",
    ),
    (
        "target of 1",
        AVAILABILITY.replace("0.99", "1.0"),
        "SLO/checkout",
        "spec.objectives[0].target",
        "outside",
    ),
    (
        "negative target",
        AVAILABILITY.replace("0.99", "-0.1"),
        "SLO/checkout",
        "spec.objectives[0].target",
        "outside",
    ),
    (
        "unknown reference",
        AVAILABILITY.replace(
            "objectives: [{target: 0.99}]", "objectives: [{target: 0.99}]\n  alertPolicies: [nope]"
        ),
        "SLO/checkout",
        "spec.alertPolicies[0]",
        "unknown AlertPolicy 'nope'",
    ),
    (
        "stack-language error",
        AVAILABILITY.replace("name,requests,:eq,:sum", "name,requests,:eq,:summ"),
        "SLO/checkout",
        "spec.indicator.spec.ratioMetric.total.metricSource.spec.query",
        "stack language",
    ),
    (
        "another SLO's name",
        AVAILABILITY.replace("name: checkout}", "name: other}"),
        "document",
        "",
        "expected exactly one SLO, named 'checkout'",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "document", "field", "reason"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_a_rejected_put_names_document_field_and_reason_and_changes_nothing(
    server, case, text, document, field, reason
):
    assert put(server, "checkout", AVAILABILITY).status_code == 201
    before = httpx.get(f"{server.url}/api/v1/slos/checkout").json()
    answer = put(server, "checkout", text)
    assert answer.status_code == 400, answer.text
    errors = answer.json()["errors"]
    assert any(e["document"] == document and e["field"] == field and reason in e["reason"] for e in errors), (
        errors
    )
    assert httpx.get(f"{server.url}/api/v1/slos/checkout/definition").text == AVAILABILITY
    assert httpx.get(f"{server.url}/api/v1/slos/checkout").json() == before


def test_a_rejected_put_of_a_new_name_stores_nothing(server):
    answer = put(server, "checkout", AVAILABILITY.replace("0.99", "2"))
    assert answer.status_code == 400
    assert httpx.get(f"{server.url}/api/v1/slos/checkout").status_code == 404
    assert "checkout" not in {s["name"] for s in httpx.get(f"{server.url}/api/v1/slos").json()["slos"]}


def test_file_definitions_are_read_only_and_deletes_answer_as_they_should(server):
    demo = (DEMO_SLO_DIR / "drm.yaml").read_text()
    assert put(server, "drm-license-availability", demo).status_code == 409
    assert httpx.delete(f"{server.url}/api/v1/slos/drm-license-availability").status_code == 409
    assert httpx.delete(f"{server.url}/api/v1/slos/nothing").status_code == 404
    assert put(server, "checkout", AVAILABILITY).status_code == 201
    composite = composite_slo("journey", "[{slo: checkout, weight: 2}, {slo: drm-license-availability}]")
    assert put(server, "journey", composite).status_code == 201
    in_use = httpx.delete(f"{server.url}/api/v1/slos/checkout")
    assert in_use.status_code == 409 and "journey" in in_use.json()["detail"]
    journey = httpx.get(f"{server.url}/api/v1/slos/journey").json()
    # drm has no data here: the composite is checkout's ratio alone.
    assert journey["sli"] == pytest.approx(1 - 300 / 144_000)
    assert httpx.delete(f"{server.url}/api/v1/slos/journey").status_code == 204
    assert httpx.delete(f"{server.url}/api/v1/slos/checkout").status_code == 204
    assert httpx.get(f"{server.url}/api/v1/slos/checkout").status_code == 404


def test_slos_put_through_the_api_survive_a_restart(tmp_path):
    first = RunningServer(tmp_path / "data", clock=lambda: NOW_MS / 1000)
    try:
        assert put(first, "checkout", AVAILABILITY).status_code == 201
    finally:
        first.stop()
    second = RunningServer(tmp_path / "data", clock=lambda: NOW_MS / 1000)
    try:
        assert httpx.get(f"{second.url}/api/v1/slos/checkout/definition").text == AVAILABILITY
        assert httpx.get(f"{second.url}/api/v1/slos/checkout").json()["source"] == "api"
    finally:
        second.stop()


def test_rules_are_sloth_shaped_yaml_or_a_422_naming_the_field(server):
    assert put(server, "checkout", AVAILABILITY).status_code == 201
    rules = httpx.get(f"{server.url}/api/v1/slos/checkout/rules")
    assert rules.status_code == 200 and rules.headers["content-type"].startswith("application/yaml")
    groups = yaml.safe_load(rules.text)["groups"]
    records = {r.get("record") for g in groups for r in g["rules"]}
    assert {"slo:sli_error:ratio_rate5m", "slo:objective:ratio", "slo:error_budget:ratio"} <= records
    refused = httpx.get(f"{server.url}/api/v1/slos/viewer-journey/rules")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "spec.watchfloor.composite"
    assert httpx.get(f"{server.url}/api/v1/slos/nothing/rules").status_code == 404


def test_writes_need_the_token_when_one_is_configured(tmp_path):
    guarded = RunningServer(tmp_path / "data", clock=lambda: NOW_MS / 1000, api_token="s3cret")
    try:
        assert put(guarded, "checkout", AVAILABILITY).status_code == 401
        assert httpx.delete(f"{guarded.url}/api/v1/slos/checkout").status_code == 401
        ok = put(guarded, "checkout", AVAILABILITY, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 201
    finally:
        guarded.stop()


def test_an_oversized_or_non_utf8_body_is_refused(server):
    assert put(server, "checkout", "#" * (1 << 20) + "\n" + AVAILABILITY).status_code == 413
    latin = httpx.put(f"{server.url}/api/v1/slos/checkout", content=b"kind: SLO \xff")
    assert latin.status_code == 400 and latin.json()["errors"][0]["field"] == "body"
    few = httpx.get(f"{server.url}/api/v1/slos/nothing", params={"points": 1})
    assert few.status_code == 422 and few.json()["errors"][0]["field"] == "points"


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\napiVersion: *a{levels - 1}\nkind: SLO\n"


FOLDER_ZONE = "calendar: {startTime: '2026-01-01 00:00:00', timeZone: Europe}"
HOSTILE = [
    ("alias bomb", _alias_bomb(14), "invalid YAML: more than 100 aliases"),
    ("deep nesting", "[" * 5000 + "]" * 5000, "invalid YAML"),
    ("huge integer", AVAILABILITY.replace("0.99", "9" * 5000), "invalid YAML"),
    ("overflowing number", AVAILABILITY.replace("0.99", "9" * 400), "expected a finite number"),
    ("infinite target", AVAILABILITY.replace("0.99", ".inf"), "expected a finite number"),
    ("a folder as time zone", AVAILABILITY.replace("isRolling: true", FOLDER_ZONE), "unknown time zone"),
    ("number keys in the extensions", AVAILABILITY + "  watchfloor: {1: x, foo: y}\n", "unknown extension"),
]


@pytest.mark.parametrize(("case", "text", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_yaml_is_a_short_400_never_a_crash(server, case, text, reason):
    answer = put(server, "checkout", text)
    assert answer.status_code == 400, answer.text[:300]
    assert len(answer.content) < 20_000
    assert any(reason in e["reason"] for e in answer.json()["errors"]), answer.json()["errors"]
    assert httpx.get(f"{server.url}/healthz").status_code == 200


OK_QUERY = "name,requests,:eq,outcome,ok,:eq,:and,:sum"


def _with_sli(name: str, sli_name: str, query: str = "name,requests,:eq,:sum") -> str:
    """An SLO ``name`` that brings the SLI ``sli_name`` along as a document of its own."""
    return textwrap.dedent(
        f"""
        apiVersion: openslo/v1
        kind: SLI
        metadata: {{name: {sli_name}}}
        spec:
          ratioMetric:
            good: {{metricSource: {{type: atlas, spec: {{query: "{OK_QUERY}"}}}}}}
            total: {{metricSource: {{type: atlas, spec: {{query: "{query}"}}}}}}
        ---
        apiVersion: openslo/v1
        kind: SLO
        metadata: {{name: {name}}}
        spec:
          service: shop
          indicatorRef: {sli_name}
          timeWindow: [{{duration: 1d, isRolling: true}}]
          budgetingMethod: Occurrences
          objectives: [{{target: 0.99}}]
        """
    )


def _referring(name: str, sli_name: str) -> str:
    return _with_sli(name, sli_name).split("---", 1)[1]


def test_definitions_that_refer_to_each_other_survive_a_restart_and_guard_each_other(tmp_path):
    first = RunningServer(tmp_path / "data", clock=lambda: NOW_MS / 1000)
    try:
        assert put(first, "zeta", _with_sli("zeta", "shared-sli")).status_code == 201
        assert put(first, "alpha", _referring("alpha", "shared-sli")).status_code == 201
        # zeta may not drop the SLI alpha uses, nor be deleted while alpha refers to its documents.
        dropped = put(first, "zeta", AVAILABILITY.replace("checkout", "zeta"))
        assert dropped.status_code == 409 and "alpha" in dropped.json()["detail"]
        assert httpx.delete(f"{first.url}/api/v1/slos/zeta").status_code == 409
        # Changing the shared SLI re-resolves alpha at once.
        changed = _with_sli("zeta", "shared-sli", query=OK_QUERY)
        assert put(first, "zeta", changed).status_code == 200
    finally:
        first.stop()
    second = RunningServer(tmp_path / "data", clock=lambda: NOW_MS / 1000)
    try:
        _write_traffic(second.store, errors_at_end=6)
        alpha = httpx.get(f"{second.url}/api/v1/slos/alpha").json()
        assert alpha["state"] != "error", alpha  # loaded although "alpha" sorts before "zeta"
        assert alpha["sli"] == 1.0  # good and total now both count the ok requests only
    finally:
        second.stop()


def test_a_component_may_not_become_composite(server):
    assert put(server, "checkout", AVAILABILITY).status_code == 201
    outer = composite_slo("outer", "[{slo: checkout}]")
    assert put(server, "outer", outer).status_code == 201
    nested = outer.replace("name: outer", "name: checkout").replace(
        "slo: checkout", "slo: drm-license-availability"
    )
    refused = put(server, "checkout", nested)
    assert refused.status_code == 409 and "outer" in refused.json()["detail"]
    assert httpx.get(f"{server.url}/api/v1/slos/checkout/definition").text == AVAILABILITY
