"""Kill ``watchfloor serve`` in the middle of ingest and start it again: nothing it acknowledged is lost."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx

from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.serve_process import serve

TRACE = "0af7651916cd43dd8448eb211c80319c"
STAMP = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _bulk_body(batch: int) -> str:
    lines = []
    for n in range(50):
        lines.append('{"create":{}}')
        # One timestamp for all: paging must not skip documents that share it.
        lines.append(json.dumps({"@timestamp": STAMP, "message": f"doc-{batch}-{n}"}))
    return "\n".join(lines) + "\n"


def _otlp_body(batch: int) -> str:
    now_ns = time.time_ns()  # recent: retention runs at start-up and would drop old spans
    spans = [
        {
            "traceId": TRACE,
            "spanId": f"{batch:08x}{n:08x}",
            "name": "GET /x",
            "kind": 2,
            "startTimeUnixNano": str(now_ns),
            "endTimeUnixNano": str(now_ns + 100_000_000),
        }
        for n in range(20)
    ]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})


class Ingest(threading.Thread):
    """Sends log and span batches as fast as the server takes them; remembers what it acknowledged."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.acknowledged_docs: set[str] = set()
        self.acknowledged_spans: set[str] = set()
        self.batches = 0

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            for batch in range(100_000):
                try:
                    logs = client.post(
                        f"{self.url}/logs-crash/_bulk",
                        content=_bulk_body(batch),
                        headers={"content-type": "application/x-ndjson"},
                    )
                    if logs.status_code == 200 and not logs.json()["errors"]:
                        self.acknowledged_docs |= {f"doc-{batch}-{n}" for n in range(50)}
                    spans = client.post(
                        f"{self.url}/v1/traces",
                        content=_otlp_body(batch),
                        headers={"content-type": "application/json"},
                    )
                    if spans.status_code == 200 and spans.json() == {}:
                        self.acknowledged_spans |= {f"{batch:08x}{n:08x}" for n in range(20)}
                except httpx.HTTPError:
                    return  # the server is gone
                self.batches = batch + 1


def test_everything_acknowledged_before_a_kill_is_there_after_a_restart(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(tmp_path, port, tmp_path / "first.log", "--step", "10s")
    ingest = Ingest(url)
    try:
        ingest.start()
        eventually(lambda: ingest.batches >= 20, timeout_s=60, what="20 acknowledged batches")
        process.send_signal(signal.SIGKILL)  # no shutdown hook runs
        process.wait(10)
        ingest.join(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert len(ingest.acknowledged_docs) >= 20 * 50

    restarted = serve(tmp_path, port, tmp_path / "second.log", "--step", "10s")
    try:
        stored_docs: set[str] = set()
        before = None
        while True:  # page through every stored document
            params: dict[str, str | int] = {
                "limit": 1000,
                "q": "doc-",
                **({"cursor": before} if before else {}),
            }
            page = httpx.get(f"{url}/api/v1/logs", params=params).json()
            stored_docs |= {r["message"] for r in page["logs"]}
            before = page["next_cursor"]
            if before is None or not page["logs"]:
                break
        assert ingest.acknowledged_docs <= stored_docs
        stored_spans = {s["span_id"] for s in httpx.get(f"{url}/api/v1/traces/{TRACE}").json()["spans"]}
        assert ingest.acknowledged_spans <= stored_spans
        # A clean stop: SIGTERM runs the shutdown, which commits the queue and closes the file.
        # (uvicorn re-raises the signal once it has shut down, so the exit status says SIGTERM.)
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(30) in (0, -signal.SIGTERM)
        assert "stopped: everything acknowledged is committed" in (tmp_path / "second.log").read_text()
    finally:
        if restarted.poll() is None:
            restarted.kill()
