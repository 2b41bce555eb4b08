"""The console's status page: real figures from a running server; service text shown as plain text."""

from __future__ import annotations

import time

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from console.settings import SERVER_URL_ENV
from console.stack import UI_SCRIPT
from console.ui.status_data import fetch_status, log_rows
from store.model import LogRecord
from tests.support.server import RunningServer

HOSTILE = "**bold** <img src=x onerror=alert(1)> [link](http://evil.example)"


@pytest.fixture
def populated(tmp_path):
    running = RunningServer(tmp_path / "s")
    now_ns = time.time_ns()
    running.store.write_logs(
        [
            LogRecord(
                now_ns - 5_000_000_000, "error", HOSTILE, "drm", "a" * 32, "b" * 16, {"message": HOSTILE}
            ),
            LogRecord(now_ns - 4_000_000_000, "info", "not an error", "drm", "", "", {"message": "x"}),
        ]
    )
    body = '{"create":{}}\n{"@timestamp":"2026-11-24T00:00:00Z","message":"m"}\n'
    httpx.post(f"{running.url}/logs-x/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
    yield running
    running.stop()


def test_the_status_figures_come_from_the_server(populated):
    status = fetch_status(populated.url)
    assert status.error is None
    assert status.health["status"] == "ok"
    assert status.ingest["log documents stored"] == 1.0  # the _bulk document; direct writes bypass the queue
    assert [row["message"] for row in log_rows(status)] == [HOSTILE]


def test_an_unreachable_server_is_reported_not_raised():
    status = fetch_status("http://127.0.0.1:9")
    assert status.error is not None and "ConnectError" in status.error


def test_the_page_renders_figures_and_tables_with_service_text_kept_literal(populated, monkeypatch):
    monkeypatch.setenv(SERVER_URL_ENV, populated.url)
    page = AppTest.from_file(str(UI_SCRIPT), default_timeout=30).run()
    assert not page.exception
    page.switch_page("views/status.py").run()
    assert not page.exception
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["log documents stored"] == "1"
    assert metrics["targets up"] == "0 / 0"
    assert [s.value for s in page.subheader] == [
        "Scrape targets",
        "Error logs, last 15 minutes",
        "Slowest spans, last 15 minutes",
    ]
    logs = page.dataframe[1].value
    assert list(logs["message"]) == [HOSTILE]  # a data grid cell: never Markdown, never HTML
    # Nothing from the services reaches a Markdown element.
    assert all(HOSTILE not in m.value for m in page.markdown)
