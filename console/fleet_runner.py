"""Runs the sample fleet as one OS process per instance, restarting any that die."""

from __future__ import annotations

import ctypes
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen, TimeoutExpired

import httpx

from sample_services.service import InstanceSpec

RESTART_BACKOFF_S = 2.0
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the runner dies, however it dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True)
class FleetOptions:
    """What every instance process is started with."""

    data_dir: Path
    otlp_endpoint: str
    bulk_url: str
    upstreams: dict[str, list[str]]
    time_scale: float = 1.0
    environment: str = "demo"


def service_command(spec: InstanceSpec, options: FleetOptions) -> list[str]:
    """The ``watchfloor service …`` command line that runs one instance."""
    command = [
        sys.executable,
        "-m",
        "console.cli",
        "service",
        spec.app,
        "--host",
        spec.host,
        "--port",
        str(spec.port),
        "--otlp-endpoint",
        options.otlp_endpoint,
        "--bulk-url",
        options.bulk_url,
        "--data",
        str(options.data_dir),
        "--time-scale",
        str(options.time_scale),
        "--environment",
        options.environment,
    ]
    if spec.canary:
        command.append("--canary")
    if spec.regression is not None:
        command += [
            "--regression",
            f"latency_ms={spec.regression.latency_ms},error_rate={spec.regression.error_rate}",
        ]
    for app, urls in options.upstreams.items():
        command += ["--upstream", f"{app}={','.join(urls)}"]
    return command


class FleetRunner:
    """Starts, watches and stops the instance processes of a layout."""

    def __init__(self, layout: list[InstanceSpec], options: FleetOptions) -> None:
        self.layout = layout
        self._options = options
        self._processes: dict[str, Popen[bytes]] = {}
        self._restarted_at: dict[str, float] = {}
        self.restarts = 0

    def _spawn(self, spec: InstanceSpec) -> None:
        log_dir = self._options.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        # The process's own stderr (start-up errors, exporter warnings); its ECS log is separate.
        stderr = (log_dir / f"{spec.instance_id}.stderr.log").open("ab")
        # A session of its own: Ctrl-C reaches only the runner, which stops the traffic first
        # and then the instances, instead of every process dying mid-request at once.
        self._processes[spec.instance_id] = Popen(
            service_command(spec, self._options),
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        stderr.close()

    def start(self, timeout_s: float = 60.0) -> None:
        """Start every instance and wait until each answers ``/healthz``; raises on timeout."""
        for spec in self.layout:
            self._spawn(spec)
        deadline = time.monotonic() + timeout_s
        waiting = list(self.layout)
        with httpx.Client(timeout=1.0) as client:
            while waiting:
                if time.monotonic() > deadline:
                    names = ", ".join(s.instance_id for s in waiting)
                    self.stop()
                    raise RuntimeError(f"instances did not become healthy: {names}")
                spec = waiting[0]
                process = self._processes[spec.instance_id]
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"{spec.instance_id} exited with {process.returncode}; "
                        f"see {self._options.data_dir / 'logs' / (spec.instance_id + '.stderr.log')}"
                    )
                try:
                    if client.get(f"{spec.url}/healthz").status_code == 200:
                        waiting.pop(0)
                        continue
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)

    def supervise(self) -> list[str]:
        """Restart instances that exited (with a short backoff); answers the ones restarted."""
        restarted = []
        now = time.monotonic()
        for spec in self.layout:
            process = self._processes[spec.instance_id]
            if process.poll() is None:
                continue
            if now - self._restarted_at.get(spec.instance_id, -RESTART_BACKOFF_S) < RESTART_BACKOFF_S:
                continue
            self._restarted_at[spec.instance_id] = now
            self._spawn(spec)
            self.restarts += 1
            restarted.append(spec.instance_id)
        return restarted

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM every instance (they flush spans and logs), SIGKILL what outlives the timeout."""
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in self._processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except TimeoutExpired:
                process.kill()
                process.wait()
