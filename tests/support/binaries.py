"""A server binary run for a test: started, waited for until it answers ready, stopped afterwards."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.polling import eventually


@contextmanager
def running_binary(command: list[str], folder: Path, name: str, url: str, ready_path: str) -> Iterator[str]:
    """Run ``command`` (its output in ``folder/<name>.log``) until ``url + ready_path`` answers 200.

    Yields ``url``; a process that exits before it is ready fails with the end of its log."""
    log = (folder / f"{name}.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)

    def ready() -> bool | None:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {(folder / f'{name}.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}{ready_path}", timeout=2).status_code == 200 or None
        except httpx.HTTPError:
            return None

    try:
        eventually(ready, timeout_s=60, what=f"{name} to be ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
