"""The console in headless Chromium: ``watchfloor console`` as a process, Debian's chromium via Playwright.

Used by the browser end-to-end tests and by ``bench/console.py``. Screenshots go to
``ARTIFACTS`` (``WATCHFLOOR_ARTIFACTS`` or ``var/test-artifacts``), kept after the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

from console.ui.session import TOKEN_ENV
from tests.support.polling import eventually
from tests.support.ports import free_port, refused

CHROMIUM = "/usr/bin/chromium"
# console.md's flags: Chromium's own background traffic has nowhere to go on this network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("WATCHFLOOR_ARTIFACTS", Path(__file__).parents[2] / "var" / "test-artifacts"))
# Streamlit marks its root with the connection and the script's state: idle means drawn.
GRID = "[data-testid='stDataFrame'] table[role='grid']"  # a data grid's accessibility table: cell texts
IDLE_APP = (
    "[data-testid='stApp'][data-test-connection-state='CONNECTED'][data-test-script-state='notRunning']"
)


@contextmanager
def console_process(server_url: str, log_path: Path, *, token: str | None = None) -> Iterator[str]:
    """``watchfloor console`` against ``server_url`` until the block ends; yields its URL."""
    port = free_port()
    env = {**os.environ, **({TOKEN_ENV: token} if token else {})}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "console", "--server", server_url, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert process.poll() is None, log_path.read_text()
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
    eventually(lambda: refused(port), timeout_s=20, what="the console to stop")


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_until_drawn(page: Page, timeout_ms: int = 60_000) -> None:
    """Until Streamlit is connected and no script runs (the page is drawn)."""
    page.wait_for_selector(IDLE_APP, timeout=timeout_ms)


def exception_boxes(page: Page) -> list[str]:
    """Texts of Streamlit's exception boxes (a page that raised)."""
    return [box.inner_text() for box in page.locator("[data-testid='stException']").all()]


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
