"""A real Alertmanager (the Debian ``prometheus-alertmanager`` binary) on loopback, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.binaries import running_binary

BINARY = "prometheus-alertmanager"


@contextmanager
def running_alertmanager(folder: Path, config: str, port: int) -> Iterator[str]:
    """Start Alertmanager with ``config`` on ``port`` (no clustering); yields its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alertmanager.yml").write_text(config)
    command = [
        BINARY,
        f"--config.file={folder / 'alertmanager.yml'}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    with running_binary(command, folder, "alertmanager", f"http://127.0.0.1:{port}", "/-/ready") as url:
        yield url
