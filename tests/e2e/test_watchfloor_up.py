"""``watchfloor up`` (what ``make demo`` runs): server, console and fleet as processes, wired and stopped."""

from __future__ import annotations

import subprocess
import sys
from functools import partial

import httpx

from tests.e2e.test_fleet_processes import INSTANCES
from tests.support.browser import GRID, chromium, exception_boxes, screenshot, wait_until_drawn
from tests.support.polling import eventually
from tests.support.ports import free_port_run, refused


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


def _json(url: str, otherwise):
    answer = _get(url)
    return answer.json() if answer is not None and answer.status_code == 200 else otherwise


def _shown(page, text: str) -> bool:
    """Whether a table cell shows ``text``; if not, reload the page (its data is as of the load)."""
    if page.locator(f"{GRID} td", has_text=text).count() > 0:
        return True
    page.reload()
    wait_until_drawn(page)
    return False


def _ingested(server: str) -> dict[str, float]:
    answer = _get(f"{server}/metrics")
    if answer is None:
        return {}
    figures = {}
    for line in answer.text.splitlines():
        if line.startswith("watchfloor_ingested_total{"):
            signal = line.split('"')[1]
            figures[signal] = float(line.rsplit(" ", 1)[1])
    return figures


def test_up_wires_the_fleet_into_the_server_and_the_console_and_stops_everything(tmp_path):
    ports = free_port_run(INSTANCES + 2)
    server_port, console_port, base = ports, ports + 1, ports + 2
    server, console = f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{console_port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "up",
            "--data",
            str(tmp_path),
            "--port",
            str(server_port),
            "--console-port",
            str(console_port),
            "--base-port",
            str(base),
            "--step",
            "2s",
            "--rate",
            "6",
            "--time-scale",
            "0.05",
            "--duration",
            "75s",  # room for a loaded CI machine: everything below must happen while it runs
            "--demo-canary-after",
            "20s",  # the release story's first analysis, well inside the run
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def all_ingested() -> bool:
            # Once `up` has exited nothing more can arrive: say so with its output.
            assert process.poll() is None, f"watchfloor up exited early:\n{process.communicate()[0]}"
            found = _ingested(server)
            return len(found) == 3 and all(v > 0 for v in found.values())

        eventually(
            all_ingested,
            timeout_s=60,
            interval_s=0.5,
            what="datapoints, spans and logs all ingested",
        )

        def targets_up() -> list[dict] | None:
            answer = _get(f"{server}/api/v1/targets")
            found = [] if answer is None else answer.json()["targets"]
            return found if len(found) == INSTANCES and all(t["health"] == "up" for t in found) else None

        health = eventually(targets_up, what="eight scrape targets, all up")
        assert len(health) == INSTANCES
        # The release story: the drm canary config stored, the canary deploys marked, and
        # after the warm-up an analysis of drm's canary started.
        eventually(
            lambda: [c for c in _json(f"{server}/canaryConfig", []) if c["name"] == "drm-canary"],
            what="the drm canary config stored",
        )
        eventually(
            lambda: (
                {
                    (a["kind"], a["version"])
                    for a in _json(f"{server}/api/v1/annotations", {}).get("annotations", [])
                }
                >= {("deploy", f"{app}-v2-canary") for app in ("playback", "drm", "cdn", "encoding")}
            ),
            what="a deploy annotation per canary cluster",
        )
        eventually(
            lambda: [
                a
                for a in _json(f"{server}/api/v1/canary/analyses", {}).get("analyses", [])
                if a["configName"] == "drm-canary" and a["application"] == "drm"
            ],
            timeout_s=45,
            interval_s=0.5,
            what="an analysis of the drm canary",
        )
        consoled = eventually(lambda: _get(f"{console}/_stcore/health"), timeout_s=60, what="the console")
        assert consoled.status_code == 200
        # The console opens on the Overview, with the fleet's clusters in it.
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(console)
            wait_until_drawn(page)
            page.get_by_role("heading", name="Overview").wait_for(timeout=30_000)
            for cluster in ("playback-v1", "drm-v1", "cdn-v1"):
                eventually(partial(_shown, page, cluster), timeout_s=40, what=f"{cluster} on the Overview")
            assert exception_boxes(page) == []
            screenshot(page, "watchfloor-up-overview")
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0, output
    assert f"Server:   {server}" in output and f"Console:  {console}" in output
    assert "Release:  the demo stores the canary config" in output and "demo release:" not in output
    # Everything stopped with it: the fleet, the console and the server.
    eventually(
        lambda: all(refused(p) for p in (server_port, console_port, *range(base, base + INSTANCES))),
        timeout_s=30,
        what="every process to stop",
    )
    assert "stopped: everything acknowledged is committed" in (tmp_path / "logs" / "server.log").read_text()
