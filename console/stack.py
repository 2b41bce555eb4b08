"""``watchfloor up``'s server and console: child processes started, awaited and stopped in order.

The fleet runs beside them in the ``up`` process itself. Each child writes its output to
``<data>/logs/<name>.log`` (so the terminal shows the fleet's status, not three streams
interleaved) and gets SIGTERM if ``up`` dies however it dies. Stop order matters: the
fleet first (it flushes spans and logs to the server), then the console, then the server,
which commits everything it acknowledged before it exits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from console.fleet_runner import die_with_parent
from console.settings import SERVER_URL_ENV

SERVER_START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0  # longer than the server's own 30 s to commit what it queued
UI_SCRIPT = Path(__file__).parent / "ui" / "app.py"
DEFAULT_SERVER_URL = "http://127.0.0.1:7070"


@dataclass(frozen=True)
class StackOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    server_port: int = 7070
    console_port: int = 8501
    step_s: float | None = 10.0  # the demo's step: charts move within minutes; None: the server's own
    config: Path | None = None
    console: bool = True
    slo_dir: Path | None = None


def console_command(
    server_url: str, host: str, port: int, theme: str = "dark"
) -> tuple[list[str], dict[str, str]]:
    """``streamlit run`` of the console, and the environment that points it at the server.

    ``theme`` is the starting theme (``dark`` by default, as in Grafana); a person can switch
    in Streamlit's settings menu."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(UI_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",  # no "Deploy" button: this is an operations console, not a Streamlit sketch
        "--theme.base",
        theme,
    ]
    return command, {**os.environ, SERVER_URL_ENV: server_url}


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (a socket lingering in TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and Streamlit bind
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


class Stack:
    """The server (and the console) of ``watchfloor up``."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self._server: subprocess.Popen[bytes] | None = None
        self._console: subprocess.Popen[bytes] | None = None
        self.log_dir = options.data_dir / "logs"

    @property
    def server_url(self) -> str:
        return f"http://{self.options.host}:{self.options.server_port}"

    @property
    def console_url(self) -> str:
        return f"http://{self.options.host}:{self.options.console_port}"

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C reaches `up` only, which stops children in order
                preexec_fn=die_with_parent,
            )

    def start(self) -> None:
        """Start the server and wait for its health; then the console. Raises RuntimeError saying why."""
        o = self.options
        # Another server on the port would answer /healthz for ours, which then fails to bind:
        # refuse before starting anything rather than wire the fleet to a stranger.
        wanted = [("--port", o.server_port)] + ([("--console-port", o.console_port)] if o.console else [])
        for flag, port in wanted:
            if port_in_use(o.host, port):
                raise RuntimeError(
                    f"{o.host}:{port} is already in use ({flag}): is another watchfloor running?"
                )
        command = [sys.executable, "-m", "console.cli", "serve", "--data", str(o.data_dir)]
        command += ["--host", o.host, "--port", str(o.server_port)]
        if o.step_s is not None:
            command += ["--step", f"{o.step_s:g}s"]
        if o.config is not None:
            command += ["--config", str(o.config)]
        if o.slo_dir is not None:
            command += ["--slo-dir", str(o.slo_dir)]
        self._server = self._spawn("server", command)
        self._await_server()
        if o.console:
            console, env = console_command(self.server_url, o.host, o.console_port)
            self._console = self._spawn("console", console, env)

    def _await_server(self) -> None:
        assert self._server is not None
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(
                    f"the server exited with status {self._server.returncode}; "
                    f"see {self.log_dir / 'server.log'}:\n{self._tail('server')}"
                )
            try:
                if httpx.get(f"{self.server_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the server did not answer {self.server_url}/healthz in {SERVER_START_TIMEOUT_S:g}s"
        )

    def _tail(self, name: str, lines: int = 12) -> str:
        try:
            return "\n".join((self.log_dir / f"{name}.log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the console, then the server; wait for each, kill what does not stop."""
        for process in (self._console, self._server):
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def where_to_look(self) -> list[str]:
        lines = [
            f"Server:   {self.server_url}  (API, OTLP /v1/traces, _bulk; /healthz, /metrics, /docs)",
            f"          logs in {self.log_dir / 'server.log'}",
        ]
        if self._console is not None:
            lines.append(f"Console:  {self.console_url}")
        # The demo's drm canary is slower and fails 4 % of licences: judge the last 3 minutes.
        lines.append(
            "Canary:   watchfloor canary run --config sample_services/canary/drm.json --baseline drm-v1 "
            f"--canary drm-v2-canary --start now-3m --lifetime 3m --wait --server {self.server_url}"
        )
        return lines
