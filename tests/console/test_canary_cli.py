"""``watchfloor canary``: exit codes a pipeline can branch on, whatever the server answers.

A small scripted HTTP server on loopback plays the Watchfloor API, so each answer —
verdicts, errors, nonsense — can be tried; the real server's path is covered end to end in
``tests/e2e/test_canary_fleet.py``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from console.cli import main
from sample_services.canary import DRM_CANARY_CONFIG


class Scripted:
    """Answers POSTs with ``started`` and each GET with the next of ``verdicts`` (status, body)."""

    def __init__(self, started: tuple[int, str], verdicts: list[tuple[int, str]]) -> None:
        self.started, self.verdicts = started, list(verdicts)
        self.posted: list[tuple[str, dict]] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                script.posted.append((self.path, json.loads(self.rfile.read(length))))
                self._answer(*script.started)

            def do_GET(self) -> None:
                self._answer(*(script.verdicts.pop(0) if len(script.verdicts) > 1 else script.verdicts[0]))

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"


STARTED = (200, json.dumps({"canaryAnalysisExecutionId": "01ABC"}))
RUNNING = (200, json.dumps({"verdict": "running", "score": None, "reasons": []}))


def verdict(word: str, score: float | None = 50.0) -> tuple[int, str]:
    return 200, json.dumps({"verdict": word, "score": score, "reasons": [f"because {word}"]})


def run(url: str, *extra: str) -> int:
    return main(
        [
            "canary", "run", "--config", str(DRM_CANARY_CONFIG), "--baseline", "drm-v1",
            "--canary", "drm-v2-canary", "--lifetime", "2m", "--wait", "--poll", "0.01s",
            "--server", url, *extra,
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("started", "verdicts", "code"),
    [
        (STARTED, [RUNNING, verdict("pass", 100.0)], 0),
        (STARTED, [verdict("fail", 0.0)], 1),
        (STARTED, [RUNNING, RUNNING, verdict("marginal", 60.0)], 3),
        (STARTED, [RUNNING, (503, "restarting"), (502, "proxy"), verdict("fail", 0.0)], 1),
        (STARTED, [(500, "broken")] * 12, 4),
        ((200, "{}"), [], 4),
        ((200, "<html>proxy login</html>"), [], 4),
        ((400, "[1, 2]"), [], 4),
        ((503, "busy"), [], 4),
        (STARTED, [(200, json.dumps({"verdict": "pass", "score": "high"}))], 4),
        (STARTED, [(200, json.dumps({"verdict": "maybe", "score": 1}))], 4),
        (STARTED, [(200, "[]")], 4),
    ],
    ids=[
        "pass",
        "fail",
        "marginal",
        "blips-while-waiting",
        "down-for-good",
        "empty-object",
        "html",
        "error-a-list",
        "503",
        "odd-score",
        "odd-verdict",
        "list",
    ],
)
def test_the_exit_code_is_the_verdict_and_nonsense_is_never_one(started, verdicts, code, capsys):
    server = Scripted(started, verdicts or [RUNNING])
    assert run(server.url) == code
    if code in (0, 1, 3):
        assert "because" in capsys.readouterr().out


def test_bad_input_prints_the_server_s_fields_and_is_not_a_verdict(capsys):
    errors = {
        "errors": [{"field": "executionRequest.thresholds.marginal", "reason": "95 is above pass (75)"}]
    }
    server = Scripted((400, json.dumps(errors)), [RUNNING])
    assert run(server.url, "--marginal", "95") == 4
    assert "executionRequest.thresholds.marginal: 95 is above pass (75)" in capsys.readouterr().err


def test_the_request_carries_the_flags_as_kayenta_fields():
    server = Scripted(STARTED, [verdict("pass", 100.0)])
    assert (
        run(server.url, "--interval", "30s", "--begin-after", "1m", "--step", "10s", "--start", "now-5m") == 0
    )
    [(path, body)] = server.posted
    request = body["executionRequest"]
    assert path == "/standalone_canary_analysis"
    assert body["canaryConfig"]["name"] == "drm-canary"
    assert (request["lifetimeDurationMins"], request["analysisIntervalMins"], request["beginAfterMins"]) == (
        2,
        0.5,
        1,
    )
    assert request["thresholds"] == {"pass": 75, "marginal": 50}  # the config's scoreThresholds
    [scope] = request["scopes"]
    assert (scope["controlScope"], scope["experimentScope"], scope["step"]) == ("drm-v1", "drm-v2-canary", 10)
    assert "startTimeIso" in scope and "endTimeIso" in scope


def test_an_unreachable_server_is_not_a_verdict():
    assert run("http://127.0.0.1:9") == 4


def test_validate_says_what_is_wrong(tmp_path, capsys):
    assert main(["canary", "validate", str(DRM_CANARY_CONFIG)]) == 0
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"name": "x", "metrics": [{"name": "m", "groups": ["g"]}], "classifier": None})
    )
    assert main(["canary", "validate", str(broken)]) == 1
    assert "metrics[0].query" in capsys.readouterr().err
