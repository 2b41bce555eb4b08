"""``watchfloor serve`` as a process of its own, for tests that kill it and start it again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support.polling import eventually


def serve(
    data: Path, port: int, log: Path, *flags: str, environ: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``watchfloor serve --data DATA --port PORT [flags]``; returns once it answers /healthz.

    Its output goes to ``log`` (appended: a file, not a pipe, which would fill up unread).
    """
    with log.open("a") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "serve", "--data", str(data), "--port", str(port), *flags],
            stdout=subprocess.DEVNULL,
            stderr=output,
            env=None if environ is None else dict(environ),
        )

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    eventually(healthy, timeout_s=30, what="the server to answer /healthz")
    return process
