"""Chaos raises errors and latency as asked, expires by itself, and stops when told."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.cli import main
from tests.support.fleet import RunningFleet, start_fleet
from tests.support.load import timed_posts
from tests.support.metrics import scrape, value

LICENSE = {"system": "widevine", "title_id": "80100000", "device": "chrome_browser"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def drm(tmp_path_factory: pytest.TempPathFactory, clock: FakeClock) -> Iterator[RunningFleet]:
    running = start_fleet(
        Path(tmp_path_factory.mktemp("chaos")),
        otlp_endpoint=None,
        bulk_url=None,
        apps=("drm",),
        canaries=False,
        clock=clock,
    )
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _no_chaos_left_behind(drm: RunningFleet) -> Iterator[None]:
    yield
    httpx.delete(f"{drm.url('drm-v1')}/chaos")


def _timed_license(url: str) -> tuple[int, float]:
    began = time.perf_counter()
    answer = httpx.post(f"{url}/license", json=LICENSE, timeout=10)
    return answer.status_code, time.perf_counter() - began


def test_chaos_fails_every_request_at_error_rate_one_and_adds_the_latency(drm):
    url = drm.url("drm-v1")
    answer = httpx.post(f"{url}/chaos", json={"latency_ms": 300, "error_rate": 1.0, "duration_s": 60})
    assert answer.status_code == 200
    assert answer.json()["experiment"]["error_rate"] == 1.0
    results = [_timed_license(url) for _ in range(5)]
    assert [status for status, _ in results] == [503] * 5
    assert all(took >= 0.3 for _, took in results), results
    # The injected failures are observed like real ones, under the route's own name.
    assert value(scrape(url), "http_server_requests_total", route="/license", status_class="5xx") >= 5


def test_chaos_error_rate_fails_about_that_share_of_requests(drm):
    url = drm.url("drm-v1")
    httpx.post(f"{url}/chaos", json={"error_rate": 0.3, "duration_s": 60})
    statuses = [status for status, _ in timed_posts(f"{url}/license", [LICENSE] * 200)]
    failed = statuses.count(503)
    # Binomial(200, 0.3): mean 60, sd 6.5; these bounds are over five sd away.
    assert 25 <= failed <= 95, failed
    assert set(statuses) <= {200, 503}


def test_deleting_chaos_stops_it_at_once(drm):
    url = drm.url("drm-v1")
    httpx.post(f"{url}/chaos", json={"latency_ms": 400, "error_rate": 1.0, "duration_s": 600})
    assert _timed_license(url)[0] == 503
    answer = httpx.delete(f"{url}/chaos")
    assert answer.status_code == 200 and answer.json()["active"] is False
    results = [_timed_license(url) for _ in range(5)]
    assert [status for status, _ in results] == [200] * 5
    assert all(took < 0.4 for _, took in results), "the injected 400 ms are gone"


def test_a_chaos_experiment_ends_by_itself_when_its_duration_passes(drm, clock):
    url = drm.url("drm-v1")
    httpx.post(f"{url}/chaos", json={"error_rate": 1.0, "duration_s": 120})
    assert _timed_license(url)[0] == 503
    clock.now += 119
    assert httpx.get(f"{url}/chaos").json()["active"] is True
    clock.now += 2
    assert httpx.get(f"{url}/chaos").json()["active"] is False
    assert _timed_license(url)[0] == 200


def test_admin_routes_keep_working_during_chaos(drm):
    url = drm.url("drm-v1")
    httpx.post(f"{url}/chaos", json={"error_rate": 1.0, "duration_s": 60})
    assert httpx.get(f"{url}/healthz").status_code == 200
    assert httpx.get(f"{url}/metrics").status_code == 200


@pytest.mark.parametrize(
    ("case", "body", "field"),
    [
        ("a negative latency is refused", {"latency_ms": -5}, "latency_ms"),
        ("an absurd latency (over a minute) is refused", {"latency_ms": 3_600_000}, "latency_ms"),
        ("an error rate above one is refused", {"error_rate": 1.5}, "error_rate"),
        ("a negative error rate is refused", {"error_rate": -0.1}, "error_rate"),
        ("a zero duration is refused", {"duration_s": 0}, "duration_s"),
        ("a duration over a day is refused", {"duration_s": 10_000_000}, "duration_s"),
        ("a text where a number belongs is refused", {"latency_ms": "slow"}, "latency_ms"),
        ("an unknown parameter is refused", {"latency_ms": 10, "kill_instance": True}, "kill_instance"),
    ],
)
def test_bad_chaos_parameters_get_a_4xx_naming_the_field(drm, case, body, field):
    answer = httpx.post(f"{drm.url('drm-v1')}/chaos", json=body)
    assert 400 <= answer.status_code < 500, case
    assert [e["field"] for e in answer.json()["errors"]] == [field], case
    assert httpx.get(f"{drm.url('drm-v1')}/chaos").json()["active"] is False, case


def test_the_cli_starts_and_stops_chaos_on_an_app(drm, capsys):
    url = drm.url("drm-v1")
    assert (
        main(["chaos", "drm", "--url", url, "--error-rate", "0.3", "--latency-ms", "25", "--for", "5m"]) == 0
    )
    state = httpx.get(f"{url}/chaos").json()
    assert state["experiment"]["error_rate"] == 0.3
    assert state["experiment"]["latency_ms"] == 25
    assert 299 <= state["experiment"]["remaining_s"] <= 300
    assert main(["chaos", "drm", "--url", url, "--stop"]) == 0
    assert httpx.get(f"{url}/chaos").json()["active"] is False
    assert "chaos stopped" in capsys.readouterr().out


def test_the_cli_reports_a_refused_experiment_and_exits_non_zero(drm, capsys):
    assert main(["chaos", "drm", "--url", drm.url("drm-v1"), "--error-rate", "3"]) == 1
    assert "error_rate" in capsys.readouterr().err
