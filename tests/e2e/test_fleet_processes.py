"""``watchfloor fleet`` as an operator runs it: eight processes, traffic, telemetry out, clean stop."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

from tests.support.polling import eventually
from tests.support.ports import free_port_run, refused

INSTANCES = 8


def _start_fleet(base: int, data, *options: str, output=subprocess.DEVNULL) -> subprocess.Popen:
    """``watchfloor fleet`` as its own process, on ports from ``base``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "fleet",
            "--base-port",
            str(base),
            "--data",
            str(data),
            *options,
        ],
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _healthy(base: int) -> list[dict]:
    answers = []
    for port in range(base, base + INSTANCES):
        try:
            answers.append(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json())
        except httpx.HTTPError:
            return []
    return answers


def test_the_fleet_runs_as_processes_and_sends_traces_and_logs(tmp_path, otlp_sink, es_fake):
    sink, otlp_url = otlp_sink
    fake, es_url = es_fake
    base = free_port_run(INSTANCES)
    process = _start_fleet(
        base,
        tmp_path,
        "--rate",
        "8",
        "--jobs-per-min",
        "120",
        "--time-scale",
        "0.05",
        "--duration",
        "15s",
        "--otlp-endpoint",
        otlp_url,
        "--bulk-url",
        f"{es_url}/_bulk",
        output=subprocess.PIPE,
    )
    try:
        health = eventually(
            lambda: _healthy(base), timeout_s=60, interval_s=0.2, what="eight healthy instances"
        )
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert sorted(h["cluster"] for h in health) == sorted(
        f"{app}-{suffix}" for app in ("playback", "encoding", "cdn", "drm") for suffix in ("v1", "v2-canary")
    )
    assert f"http://127.0.0.1:{base}" in output, "the banner says where to look"

    fleet = json.loads((tmp_path / "fleet.json").read_text())["instances"]
    assert len(fleet) == INSTANCES and len({i["instance"] for i in fleet}) == INSTANCES
    summary = json.loads(output.strip().splitlines()[-1].removeprefix("traffic: "))
    assert summary["play.200"] > 10

    # Traces from all four services, each instance its own process, and a play crossing processes.
    spans = sink.spans()
    ours = [
        s
        for s in spans
        if str(s["resource"].get("service.instance.id", "")).endswith(
            tuple(f"-{port}" for port in range(base, base + INSTANCES))
        )
    ]
    assert {s["service"] for s in ours} == {"playback", "encoding", "cdn", "drm"}
    plays = {s["trace_id"] for s in ours if s["name"] == "POST /play" and s["kind"] == 2}
    crossing = [t for t in plays if {s["service"] for s in sink.trace(t)} >= {"playback", "drm", "cdn"}]
    assert crossing

    # Logs on disk per instance and in Elasticsearch, one index per service.
    assert len(list((tmp_path / "logs").glob("*.ndjson"))) == INSTANCES
    assert {"logs-playback-demo", "logs-cdn-demo", "logs-drm-demo", "logs-encoding-demo"} <= set(
        fake.indices()
    )

    # A clean stop: no instance is left listening.
    time.sleep(0.5)
    assert _healthy(base) == []


def test_instances_do_not_outlive_a_killed_fleet_runner(tmp_path):
    base = free_port_run(INSTANCES)
    process = _start_fleet(base, tmp_path, "--no-traffic", "--otlp-endpoint", "", "--bulk-url", "")
    try:
        eventually(lambda: _healthy(base), timeout_s=60, interval_s=0.2, what="eight healthy instances")
    finally:
        process.kill()  # SIGKILL: the runner gets no chance to stop its instances itself
        process.wait()
    eventually(
        lambda: all(refused(port) for port in range(base, base + INSTANCES)),
        timeout_s=20,
        what="every instance to exit with its runner",
    )
