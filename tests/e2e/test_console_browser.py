"""``watchfloor console`` in headless Chromium (Debian's), against a running server."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.support.polling import eventually
from tests.support.ports import free_port, refused
from tests.support.server import RunningServer

CHROMIUM = "/usr/bin/chromium"
# Chromium's own background traffic has nowhere to go on this network; keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def console_url(tmp_path):
    server = RunningServer(tmp_path / "server")
    port = free_port()
    with (tmp_path / "console.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "console", "--server", server.url, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert process.poll() is None, (tmp_path / "console.log").read_text()
        try:
            return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(serving, timeout_s=60, what="the console to serve")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        server.stop()
    # The console stops with its process: nothing is left serving the port.
    eventually(lambda: refused(port), timeout_s=20, what="the console to stop")


def test_the_status_page_loads_in_chromium_and_shows_the_server_s_figures(console_url, tmp_path):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(console_url)
            # Elements stream in; each wait fails the test if its text never shows.
            for text in ("Slowest spans, last 15 minutes", "targets up", "spans stored", "0 / 0"):
                page.get_by_text(text).first.wait_for(timeout=30_000)
            assert page.get_by_role("heading", name="Watchfloor").is_visible()
            page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
        finally:
            browser.close()
