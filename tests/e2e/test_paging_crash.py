"""``watchfloor serve`` killed (SIGKILL) after it wrote a page but before PagerDuty took it:
after the restart the page goes out, once.

PagerDuty (the fake) is unavailable while the first server decides to page, so the trigger
sits in the outbox, tried and pending, when the process is killed. The second server, on the
same data directory, finds it, sends it when PagerDuty is back, and does not page again for
the alert it remembers having paged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.fakes.pagerduty import serve_pagerduty_fake
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.serve_process import serve

KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"
SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: licences}
spec:
  service: drm
  indicator:
    metadata: {name: licences-ok}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: atlas, spec: {query: "name,licences,:eq,outcome,error,:eq,:and,:sum"}}}
        total: {metricSource: {type: atlas, spec: {query: "name,licences,:eq,:sum"}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
"""


def _serve(data: Path, slos: Path, port: int, pagerduty: str, log: Path) -> subprocess.Popen[bytes]:
    environ = {
        **os.environ,
        "WATCHFLOOR_PAGERDUTY_URL": pagerduty,
        "WATCHFLOOR_PAGERDUTY_ROUTING_KEY": KEY,
        "WATCHFLOOR_ALERT_EVAL_INTERVAL_S": "0.5",
    }
    return serve(data, port, log, "--step", "60s", "--slo-dir", str(slos), environ=environ)


def _burn(url: str) -> None:
    """Two hours of licences at 1 a second, the last ten minutes half failing (Atlas publish)."""
    end = int(time.time() * 1000) // 60_000 * 60_000
    metrics = []
    for ts in range(end - 7_200_000, end + 1, 60_000):
        bad = 0.5 if ts > end - 600_000 else 0.0
        metrics.append({"tags": {"outcome": "error"}, "timestamp": ts, "value": bad})
        metrics.append({"tags": {"outcome": "ok"}, "timestamp": ts, "value": 1.0 - bad})
    answer = httpx.post(f"{url}/api/v1/publish", json={"tags": {"name": "licences"}, "metrics": metrics})
    assert answer.status_code == 200, answer.text


def test_a_page_written_before_a_kill_goes_out_once_after_the_restart(tmp_path):
    slos = tmp_path / "slos"
    slos.mkdir()
    (slos / "licences.yaml").write_text(SLO)
    data, log, port = tmp_path / "data", tmp_path / "serve.log", free_port()
    url = f"http://127.0.0.1:{port}"
    with serve_pagerduty_fake() as (fake, pagerduty):
        fake.unavailable = True
        first = _serve(data, slos, port, pagerduty, log)
        try:
            _burn(url)

            def tried():
                rows = httpx.get(f"{url}/api/v1/notifications", params={"channel": "pagerduty"}).json()
                pending = [
                    n for n in rows["notifications"] if n["status"] == "pending" and n["attempts"] >= 1
                ]
                return pending or None

            [row] = eventually(tried, timeout_s=60, what="a trigger tried and pending")
            assert row["payload"]["event_action"] == "trigger" and row["last_status"] == 503
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert fake.events == []
        fake.unavailable = False
        second = _serve(data, slos, port, pagerduty, log)
        try:
            [trigger] = eventually(
                lambda: fake.triggers(KEY), timeout_s=60, what="the page after the restart"
            )
            assert trigger.dedup_key == row["dedup_key"]
            time.sleep(2)  # several evaluations of the restarted server
            assert len(fake.triggers(KEY)) == 1  # it remembered having paged
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
