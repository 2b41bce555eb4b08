"""SLO statuses from exported recording rules, against Debian's Prometheus evaluating them.

One ``prometheus_client`` exposition counts 200 requests a second, every twentieth bad (a
5 % error ratio, burn rate 5 for a 99 % target). Prometheus scrapes it every second and
evaluates the rules :func:`slo.prometheus_rules.export_rules` writes for some SLOs over it
(1-hour period, tiers 5m/1m and 10m/2m so they fill within the test). The recorded
statuses must match what the same Prometheus answers to the SLI's raw PromQL, and SLOs the
rules cannot stand for must stay with the engine.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter

from console.api.slo_views import summary_view
from slo.atlas_promql import error_ratio, render
from slo.engine import SLOEngine
from slo.model import SLO
from slo.openslo import load_catalog
from slo.prometheus_rules import export_rules
from slo.recorded_status import RecordedRules
from slo.registry import SLORegistry, load_files
from slo.service import SLOResult, SLOService
from store.backends.prometheus_http import PrometheusError, PrometheusHTTP
from store.backends.prometheus_series import PrometheusSeriesReader
from tests.support.expositions import serving
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.prometheus_engines import running_prometheus, running_victoria_metrics

BAD = 'sum(rate(wf_requests_total{outcome="bad"}[{{.window}}]))'
TOTAL = "sum(rate(wf_requests_total[{{.window}}]))"
RATIO = 0.05  # one request in twenty is bad
BUDGET = 0.01  # target 0.99
TIERS = """[{severity: page, long: 5m, short: 1m, budgetPercent: 10},
               {severity: ticket, long: 10m, short: 2m, budgetPercent: 100}]"""


def slo_text(name: str, *, bad: str = BAD, total: str = TOTAL, window: str = "", extra: str = "") -> str:
    window = window or "{duration: 1h, isRolling: true}"
    return f"""apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: shop
  indicator:
    metadata: {{name: {name}-sli}}
    spec:
      ratioMetric:
        bad: {{metricSource: {{type: prometheus, spec: {{query: '{bad}'}}}}}}
        total: {{metricSource: {{type: prometheus, spec: {{query: '{total}'}}}}}}
  timeWindow: [{window}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.99}}]
  watchfloor:
    windows: {TIERS}
{extra}"""


TEXTS = {
    "checkout": slo_text("checkout"),
    "guarded": slo_text("guarded", extra="    minEvents: 100000000\n"),
    "unexported": slo_text("unexported"),
    "calendar": slo_text(
        "calendar", window='{duration: 1h, calendar: {startTime: "2026-01-01 00:00:00", timeZone: UTC}}'
    ),
    "silent": slo_text(
        "silent",
        bad='sum(rate(wf_missing_total{outcome="bad"}[{{.window}}]))',
        total="sum(rate(wf_missing_total[{{.window}}]))",
    ),
}
EXPORTED = ("checkout", "guarded", "calendar", "silent")


def slos() -> dict[str, SLO]:
    return {slo.name: slo for slo in load_catalog("---\n".join(TEXTS.values())).slos}


def rules_file() -> str:
    """The exported rules of every SLO but ``unexported``, in one file."""
    groups = [g for n in EXPORTED for g in yaml.safe_load(export_rules(slos()[n]))["groups"]]
    return yaml.safe_dump({"groups": groups}, sort_keys=False)


@pytest.fixture(scope="module")
def exposition():
    registry = CollectorRegistry()
    requests = Counter("wf_requests", "Requests", ["outcome"], registry=registry)
    ok, bad = requests.labels("ok"), requests.labels("bad")  # both series exist from the first scrape

    def drive() -> None:
        ok.inc(19)
        bad.inc(1)

    with serving(registry, drive, every_s=0.1) as target:
        yield target


@pytest.fixture(scope="module")
def prometheus(exposition, tmp_path_factory):
    folder = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(folder, [exposition], free_port(), rules=rules_file()) as url:
        client = PrometheusHTTP(url)
        recorded = 'slo:sli_error:ratio_rate1h{sloth_id="shop-checkout"}'
        eventually(lambda: client.query(recorded, time.time()).samples, timeout_s=60, what="a first rule run")
        time.sleep(15)  # several scrapes and evaluations in every window
        yield client
        client.close()


def raw_ratio(client: PrometheusHTTP, window: str, at_s: float) -> float:
    [sample] = client.query(render(error_ratio(TOTAL, bad=BAD), window), at_s).samples
    return sample.value


def test_the_rules_api_keeps_the_labels_of_rules_sharing_a_name(prometheus):
    owners = sorted(
        labels["sloth_id"]
        for name, labels, _ in prometheus.recording_rule_labels()
        if name == "slo:sli_error:ratio_rate5m"
    )
    assert owners == ["shop-calendar", "shop-checkout", "shop-guarded", "shop-silent"]


def test_only_exported_rolling_event_slos_count_as_recorded(prometheus):
    found = RecordedRules(prometheus).recorded(list(slos().values()))
    # unexported: no rules; calendar: its rules run over a rolling hour, not the calendar one.
    assert sorted(s.name for s in found) == ["checkout", "guarded", "silent"]


def test_recorded_burn_rates_and_budget_are_the_raw_promql_answers(prometheus):
    now_s = time.time()
    status = RecordedRules(prometheus).statuses([slos()["checkout"]], int(now_s * 1000))["checkout"]
    [objective] = status.objectives
    for tier in objective.tiers:
        for span, rate in ((tier.pair.long, tier.long_rate), (tier.pair.short, tier.short_rate)):
            window = f"{int(span.total_seconds()) // 60}m"
            expected = raw_ratio(prometheus, window, now_s) / BUDGET
            # The rule ran up to one evaluation (1 s) before the raw query: a steady 5 % either way.
            assert rate == pytest.approx(expected, rel=0.02), window
            assert rate == pytest.approx(RATIO / BUDGET, rel=0.05), window
    expected_remaining = 1 - raw_ratio(prometheus, "1h", now_s) / BUDGET
    assert status.budget_remaining == pytest.approx(expected_remaining, rel=0.02)
    assert objective.report.sli == pytest.approx(1 - RATIO, abs=0.003)
    assert objective.current_burn_rate == objective.tiers[0].long_rate  # the fastest tier's long window
    # 5× burns past the page tier's 1.2 but not the ticket tier's 6.
    assert [t.firing for t in objective.tiers] == [True, False]
    assert status.firing == ("page",) and status.state == "burning"
    assert objective.time_to_exhaustion_ms == 0  # the budget is overspent
    assert math.isnan(objective.report.budget_total) and objective.report.burn_down.size == 0


def test_min_events_guard_reads_the_long_windows_event_counts(prometheus):
    now_s = time.time()
    status = RecordedRules(prometheus).statuses([slos()["guarded"]], int(now_s * 1000))["guarded"]
    tiers = status.objectives[0].tiers
    assert status.firing == () and all(t.guarded for t in tiers)
    assert status.state == "exhausted"  # not burning: too few events to alert on, budget overspent
    for tier in tiers:
        window = f"{int(tier.pair.long.total_seconds())}s"
        [raw] = prometheus.query(f"sum(increase(wf_requests_total[{window}]))", now_s).samples
        assert tier.long_events == pytest.approx(raw.value, rel=0.02)
        assert tier.long_events > 1000


def test_an_slo_whose_metrics_do_not_exist_has_no_data(prometheus):
    status = RecordedRules(prometheus).statuses([slos()["silent"]])["silent"]
    assert status.state == "no_data" and status.no_data
    assert math.isnan(status.budget_remaining)


def test_the_summary_view_shows_a_recorded_status(prometheus, tmp_path):
    status = RecordedRules(prometheus).statuses([slos()["checkout"]])["checkout"]
    (tmp_path / "checkout.yaml").write_text(TEXTS["checkout"])
    [definition] = load_files([tmp_path / "checkout.yaml"])
    view = summary_view(SLOResult(definition, status))
    json.dumps(view, allow_nan=False)
    assert view["state"] == "burning" and view["firing"] == ["page"]
    assert view["current_burn_rate"] == pytest.approx(RATIO / BUDGET, rel=0.05)


def test_rules_are_read_once_a_minute(prometheus):
    now = [1000.0]
    rules = RecordedRules(prometheus, clock=lambda: now[0])
    checkout = slos()["checkout"]
    assert rules.recorded([checkout]) == [checkout]
    prometheus_client = rules.client
    rules.client = PrometheusHTTP(f"http://127.0.0.1:{free_port()}")  # nobody listens there
    try:
        assert rules.recorded([checkout]) == [checkout]  # from the cache: nothing asked
        now[0] += 61
        with pytest.raises(PrometheusError, match="unreachable"):
            rules.recorded([checkout])
    finally:
        rules.client.close()
        rules.client = prometheus_client


def test_an_engine_without_rules_records_nothing(exposition, tmp_path_factory):
    folder = tmp_path_factory.mktemp("victoria")
    with running_victoria_metrics(folder, [exposition], free_port()) as url:
        client = PrometheusHTTP(url)
        eventually(lambda: client.query("wf_requests_total", time.time()).samples, what="a first scrape")
        assert client.recording_rule_labels() == []
        rules = RecordedRules(client)
        assert rules.recorded(list(slos().values())) == []
        assert rules.statuses(list(slos().values())) == {}
        client.close()


class _NoDocuments:
    def put_document(self, kind: str, name: str, body: str, updated_ms: int) -> None:
        raise AssertionError("not written in these tests")

    def delete_document(self, kind: str, name: str) -> bool:
        return False

    def documents(self, kind: str) -> list[Any]:
        return []


def service(client: PrometheusHTTP, rules_client: PrometheusHTTP, folder: Path) -> SLOService:
    (folder / "shop.yaml").write_text("---\n".join(TEXTS[n] for n in ("checkout", "unexported")))
    registry = SLORegistry(_NoDocuments(), load_files([folder / "shop.yaml"]))
    # 5 s steps: the engine renders a PromQL source's window as the step, and [1s] holds one scrape.
    reader = PrometheusSeriesReader(client, base_step_ms=5000, scrape_interval_ms=1000)
    return SLOService(registry, SLOEngine(reader, base_step_ms=5000), RecordedRules(rules_client))


def test_the_service_lists_recorded_slos_from_rules_and_the_rest_from_the_engine(prometheus, tmp_path):
    found = {r.definition.name: r.status for r in service(prometheus, prometheus, tmp_path).results()}
    checkout, unexported = found["checkout"], found["unexported"]
    assert checkout is not None and unexported is not None
    assert checkout.objectives[0].report.burn_down.size == 0  # from the rules
    assert unexported.objectives[0].report.burn_down.size == 720  # the engine's hour of 5 s steps
    assert unexported.objectives[0].report.budget_total > 0
    assert checkout.state == unexported.state == "burning"


def test_the_service_falls_back_to_the_engine_when_rules_cannot_be_read(prometheus, tmp_path, caplog):
    nowhere = PrometheusHTTP(f"http://127.0.0.1:{free_port()}")
    with caplog.at_level(logging.WARNING, logger="watchfloor.slo"):
        results = service(prometheus, nowhere, tmp_path).results()
    nowhere.close()
    assert any("recording rules failed" in r.message for r in caplog.records)
    for result in results:
        assert result.status is not None, result.error
        assert result.status.objectives[0].report.burn_down.size == 720  # every one from the engine
        assert result.status.budget_remaining == pytest.approx(1 - RATIO / BUDGET, rel=0.05)
