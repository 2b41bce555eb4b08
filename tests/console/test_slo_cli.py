"""``watchfloor slo validate`` and ``watchfloor slo status`` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from console.cli import main
from sample_services.slos import DEMO_SLO_DIR
from tests.support.server import RunningServer

NOW_MS = int(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp() * 1000)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_the_shipped_demo_definitions_are_valid():
    done = run_cli("slo", "validate", *sorted(str(p) for p in DEMO_SLO_DIR.glob("*.yaml")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("valid: 7 SLO(s)")
    for name in (
        "playback-start-availability",
        "playback-start-latency",
        "drm-license-availability",
        "cdn-segment-availability",
        "cdn-cache-miss-latency",
        "encoding-job-success",
    ):
        assert name in done.stdout


def test_references_across_files_need_the_other_file(tmp_path):
    # playback.yaml's composite names SLOs of drm.yaml and cdn.yaml, and every SLO the alert policy.
    alone = run_cli("slo", "validate", str(DEMO_SLO_DIR / "playback.yaml"))
    assert alone.returncode == 1
    assert "playback.yaml: SLO/viewer-journey: spec.watchfloor.composite.components[1].slo: " in alone.stderr
    assert "unknown SLO 'drm-license-availability'" in alone.stderr
    assert "unknown AlertPolicy 'page-on-burn'" in alone.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: [", "invalid YAML"),
        (
            "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec: {service: s}\n",
            "x.yaml: SLO/x: spec.indicator: missing",
        ),
    ],
)
def test_an_invalid_file_exits_non_zero_naming_file_document_and_field(tmp_path, text, expected):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    done = run_cli("slo", "validate", str(path))
    assert done.returncode == 1 and expected in done.stderr


def test_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["slo", "validate", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml" in capsys.readouterr().err


def test_status_prints_every_slo_of_the_server(tmp_path, capsys):
    server = RunningServer(tmp_path / "data", clock=lambda: NOW_MS / 1000, slo_dir=DEMO_SLO_DIR)
    try:
        assert main(["slo", "status", "--server", server.url]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split()[:3] == ["NAME", "SERVICE", "STATE"]
        assert len(lines) == 1 + 7
        assert all(line.split()[2] == "no_data" for line in lines[1:])
        assert main(["slo", "status", "--server", server.url, "--service", "drm", "--json"]) == 0
        body = json.loads(capsys.readouterr().out)
        assert [s["name"] for s in body["slos"]] == ["drm-license-availability"]
    finally:
        server.stop()


def test_status_without_a_server_says_so(capsys):
    assert main(["slo", "status", "--server", "http://127.0.0.1:9"]) == 1
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err
