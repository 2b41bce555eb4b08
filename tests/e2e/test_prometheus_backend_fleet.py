"""The same SLO and canary answers through Prometheus and VictoriaMetrics as through the embedded store.

All real: a DRM baseline (``drm-v1``) and a canary with a built-in regression (+40 ms, 20 %
server errors) serve license requests. Three Watchfloor servers read them:

- ``embedded`` scrapes the instances itself every second at a 5-second step;
- ``prometheus`` and ``victoria`` scrape nothing: Debian's ``prometheus`` and
  ``victoria-metrics`` scrape the instances every second (target labels ``nf_app``,
  ``nf_cluster``, ``nf_node``, as a deployment's relabelling would give) and the servers read
  them with ``metrics_backend: prometheus``.

The SLO's event counts must agree within what the engines' rate calculation explains
(docs/scale-out.md): Prometheus extrapolates each window's rate to the window's edges, so
per-step counts wander by up to a scrape's worth while sums over the whole run stay within a
few percent; VictoriaMetrics counts from the sample before each window. The canary's
verdict and every metric's classification must be the same on all three.
"""

from __future__ import annotations

import json
import random
import threading
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import httpx
import pytest

from sample_services.catalog import DEVICE_DRM, POPULARITY
from sample_services.chaos import Fault
from sample_services.fleet import write_fleet_file
from slo.openslo import load_catalog
from slo.prometheus_rules import export_rules
from tests.support.canary_runs import standalone_analysis
from tests.support.fleet import start_fleet
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.prometheus_engines import running_prometheus, running_victoria_metrics
from tests.support.server import RunningServer

STEP_MS = 5_000
TRAFFIC_S = 60.0
SLO_NAME = "drm-license-e2e"
RATIO = "name,http_server_requests,:eq,nf.app,drm,:eq,:and,route,/license,:eq,:and"
PROMQL = 'sum(rate(http_server_requests_total{{nf_app="drm", route="/license"{extra}}}[{{{{.window}}}}]))'


def slo_text(name: str, kind: str) -> str:
    """A drm license availability SLO (target 90 %, rolling 1 h) over Atlas or PromQL sources."""
    if kind == "atlas":
        bad, total = f"{RATIO},status_class,5xx,:eq,:and,:sum", f"{RATIO},:sum"
    else:
        bad, total = PROMQL.format(extra=', status_class="5xx"'), PROMQL.format(extra="")
    return f"""apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: drm
  indicator:
    metadata:
      name: {name}-ok
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: {kind}
            spec:
              query: '{bad}'
        total:
          metricSource:
            type: {kind}
            spec:
              query: '{total}'
  timeWindow:
    - duration: 1h
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: 90% of license requests succeed
      target: 0.9
  watchfloor:
    windows: [{{severity: page, long: 2m, short: 1m, budgetPercent: 5}}]
"""


LATENCY_ATLAS = (
    "name,http_server_request_duration_seconds,:eq,nf.app,drm,:eq,:and,route,/license,:eq,:and,:dist-avg"
)
ERRORS_ATLAS = f"{RATIO},status_class,5xx,:eq,:and,:sum,0,:add,{RATIO},:sum,:div"
_LICENSE = '{nf_cluster="${scope}", route="/license"}[${step}]'
LATENCY_PROMQL = (
    f"sum(rate(http_server_request_duration_seconds_sum{_LICENSE}))"
    f" / sum(rate(http_server_request_duration_seconds_count{_LICENSE}))"
)


def canary_config(with_promql: bool) -> dict:
    def metric(name: str, query: dict, group: str) -> dict:
        settings = {"direction": "increase", "nanStrategy": "replace"}
        return {
            "name": name,
            "query": query,
            "groups": [group],
            "scopeName": "default",
            "analysisConfigurations": {"canary": settings},
        }

    metrics = [
        metric("license latency (metrics)", {"type": "atlas", "q": LATENCY_ATLAS}, "latency"),
        metric("5xx ratio (metrics)", {"type": "atlas", "q": ERRORS_ATLAS}, "errors"),
    ]
    if with_promql:
        metrics.append(
            metric("license latency (PromQL)", {"type": "prometheus", "q": LATENCY_PROMQL}, "latency")
        )
    return {
        "name": "drm-backends",
        "configVersion": "1",
        "applications": ["drm"],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": metrics,
        "classifier": {"groupWeights": {"latency": 60, "errors": 40}},
    }


def _drive(fleet, stop: threading.Event) -> None:
    """License requests to the baseline and the canary alike, about 25 a second each."""
    rng = random.Random(7)
    urls = [f"{fleet.url(c)}/license" for c in ("drm-v1", "drm-v2-canary")]
    with httpx.Client(timeout=10) as client:
        while not stop.wait(0.04):
            device = rng.choice(list(DEVICE_DRM))
            body = {"system": DEVICE_DRM[device][0], "title_id": rng.choice(POPULARITY), "device": device}
            for url in urls:
                client.post(url, json=body)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    data: Path = tmp_path_factory.mktemp("backends")
    fleet = start_fleet(
        data / "logs",
        otlp_endpoint=None,
        bulk_url=None,
        apps=("drm",),
        regressions={"drm": Fault(latency_ms=40.0, error_rate=0.2)},
    )
    specs = [i.spec for i in fleet.instances.values()]
    targets = [
        (s.url.removeprefix("http://"), {"nf_app": s.app, "nf_cluster": s.cluster, "nf_node": s.instance_id})
        for s in specs
    ]
    with ExitStack() as stack:
        stack.callback(fleet.stop)
        embedded = RunningServer(data / "embedded", step_ms=STEP_MS, scrape_interval_ms=1_000)
        stack.callback(embedded.stop)
        write_fleet_file(embedded.server.config.fleet_map, specs)
        servers = {"embedded": embedded}
        # Prometheus evaluates the SLO's exported recording rules; VictoriaMetrics alone has no ruler.
        rules = export_rules(load_catalog(slo_text(SLO_NAME, "atlas")).slos[0])
        engines = (
            ("prometheus", partial(running_prometheus, rules=rules)),
            ("victoria", running_victoria_metrics),
        )
        for name, engine in engines:
            url = stack.enter_context(engine(data / name, targets, free_port()))
            server = RunningServer(
                data / f"{name}-server",
                step_ms=STEP_MS,
                metrics_backend="prometheus",
                prometheus_url=url,
                prometheus_scrape_interval_ms=1_000,
            )
            stack.callback(server.stop)
            servers[name] = server
        time.sleep(5)  # every engine has scraped the idle instances: counters start from a sample
        stop = threading.Event()
        driver = threading.Thread(target=_drive, args=(fleet, stop), daemon=True)
        start_ms = int(time.time() * 1000) // STEP_MS * STEP_MS
        driver.start()
        time.sleep(TRAFFIC_S)
        stop.set()
        driver.join(15)
        time.sleep(2 * STEP_MS / 1000)  # the last steps close and are scraped everywhere
        end_ms = int(time.time() * 1000) // STEP_MS * STEP_MS
        yield servers, (start_ms, end_ms), _counted(fleet)


def _counted(fleet) -> tuple[float, float]:
    """(all, 5xx) license answers as the instances' own counters have them: the truth."""
    total = bad = 0.0
    for url in fleet.urls("drm"):
        for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
            if line.startswith("http_server_requests_total{") and 'route="/license"' in line:
                value = float(line.rsplit(" ", 1)[1])
                total += value
                bad += value if 'status_class="5xx"' in line else 0.0
    return total, bad


def _events(server: RunningServer, name: str) -> tuple[float, float]:
    """(total, bad) license requests the SLO counted over its window."""
    view = eventually(
        lambda: httpx.get(f"{server.url}/api/v1/slos/{name}", timeout=60).json(), what=f"SLO {name}"
    )
    assert view["state"] != "error", view
    budget = view["objectives"][0]["budget"]
    return budget["total"] / (1 - 0.9), budget["spent"]


def test_the_slo_counts_the_same_events_on_every_backend(system):
    servers, _, (total, bad) = system
    for server in servers.values():
        answer = httpx.put(f"{server.url}/api/v1/slos/{SLO_NAME}", content=slo_text(SLO_NAME, "atlas"))
        assert answer.status_code == 201, answer.text
    found = {name: _events(server, SLO_NAME) for name, server in servers.items()}
    shown = f"counted by the instances: {(total, bad)}; by the SLO: {found}"
    print(shown)  # the figures docs/scale-out.md quotes
    # Two instances for a minute, a fifth of the canary's requests failing.
    assert total > 500 and 0.05 < bad / total < 0.15, shown
    for backend, (seen_total, seen_bad) in found.items():
        # A series' first scrape gives no rate to the embedded normaliser (requests before it are
        # not counted); Prometheus extrapolates window edges: a few percent either way.
        assert abs(seen_total - total) <= 0.06 * total, (backend, shown)
        assert abs(seen_bad - bad) <= max(8.0, 0.25 * bad), (backend, shown)


def test_a_promql_slo_agrees_with_the_atlas_one_and_needs_the_prometheus_backend(system):
    servers, _, _ = system
    name = f"{SLO_NAME}-promql"
    for server in servers.values():
        answer = httpx.put(f"{server.url}/api/v1/slos/{name}", content=slo_text(name, "prometheus"))
        assert answer.status_code == 201, answer.text
    for engine in ("prometheus", "victoria"):
        atlas_total, atlas_bad = _events(servers[engine], SLO_NAME)
        total, bad = _events(servers[engine], name)
        assert abs(total - atlas_total) <= 0.05 * atlas_total, (engine, total, atlas_total)
        assert abs(bad - atlas_bad) <= max(8.0, 0.2 * atlas_bad), (engine, bad, atlas_bad)
    view = httpx.get(f"{servers['embedded'].url}/api/v1/slos/{name}", timeout=60).json()
    assert view["state"] == "error" and "Prometheus metrics backend" in view["error"], view


def _judge(server: RunningServer, config: dict, window: tuple[int, int]) -> dict:
    _, status = standalone_analysis(server.url, config, window, step_s=STEP_MS // 1000)
    [execution] = status["canaryAnalysisExecutionResult"]["canaryExecutionResults"]
    results = execution["result"]["judgeResult"]["results"]
    return {
        "passed": status["canaryAnalysisExecutionResult"]["didPassThresholds"],
        "classes": {r["name"]: r["classification"] for r in results},
        "stats": {
            r["name"]: (r["controlMetadata"]["stats"], r["experimentMetadata"]["stats"]) for r in results
        },
    }


def test_the_canary_verdict_and_classifications_are_the_same_on_every_backend(system):
    servers, window, _ = system
    verdicts = {
        name: _judge(server, canary_config(with_promql=name != "embedded"), window)
        for name, server in servers.items()
    }
    shown = json.dumps(verdicts, indent=1, default=str)
    expected = {"license latency (metrics)": "High", "5xx ratio (metrics)": "High"}
    # A judge over a minute of 5-second steps: these differences are far beyond its confidence.
    assert verdicts["embedded"]["classes"] == expected, shown
    assert verdicts["embedded"]["passed"] is False, shown
    for engine in ("prometheus", "victoria"):
        assert verdicts[engine]["passed"] is False, shown
        assert verdicts[engine]["classes"] == {**expected, "license latency (PromQL)": "High"}, shown
        # The PromQL latency is the Atlas one asked another way: the same means.
        control, experiment = verdicts[engine]["stats"]["license latency (PromQL)"]
        atlas_control, atlas_experiment = verdicts[engine]["stats"]["license latency (metrics)"]
        assert control["mean"] == pytest.approx(atlas_control["mean"], rel=0.05), shown
        assert experiment["mean"] == pytest.approx(atlas_experiment["mean"], rel=0.05), shown


def test_the_slo_list_reads_prometheus_recording_rules_and_agrees_with_the_raw_data(system):
    servers, _, _ = system
    server = servers["prometheus"]
    if httpx.get(f"{server.url}/api/v1/slos/{SLO_NAME}", timeout=30).status_code == 404:
        answer = httpx.put(f"{server.url}/api/v1/slos/{SLO_NAME}", content=slo_text(SLO_NAME, "atlas"))
        assert answer.status_code == 201, answer.text
    slo = server.server.slos.registry.slo(SLO_NAME)
    recorded = server.server.backends.recorded
    assert recorded is not None and [s.name for s in recorded.recorded([slo])] == [SLO_NAME]
    [listed] = [
        s for s in httpx.get(f"{server.url}/api/v1/slos", timeout=60).json()["slos"] if s["name"] == SLO_NAME
    ]
    detail = httpx.get(f"{server.url}/api/v1/slos/{SLO_NAME}", timeout=60).json()
    # The list's figures are the engine's recorded ratios (rates over the rule windows); the
    # detail's are counted from the raw series: the same error ratio within the rates' edges.
    assert listed["state"] == detail["state"] != "error", (listed, detail)
    assert abs(listed["sli"] - detail["objectives"][0]["sli"]) < 0.02, (listed, detail)
