"""A real Alertmanager (the Debian ``prometheus-alertmanager`` binary) on loopback, for tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.polling import eventually

BINARY = "prometheus-alertmanager"


@contextmanager
def running_alertmanager(folder: Path, config: str, port: int) -> Iterator[str]:
    """Start Alertmanager with ``config`` on ``port`` (no clustering); yields its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alertmanager.yml").write_text(config)
    log = (folder / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=debug",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool | None:
        if process.poll() is not None:
            raise RuntimeError(f"alertmanager exited: {(folder / 'alertmanager.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200 or None
        except httpx.HTTPError:
            return None

    try:
        eventually(ready, timeout_s=30, what="alertmanager to be ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
