"""The Watchfloor server on loopback, for tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from console.api.app import Server
from console.config import ServerConfig
from sample_services.serving import ServerThread


class RunningServer:
    def __init__(self, data_dir: Path, clock: Callable[[], float] | None = None, **settings: Any) -> None:
        config = replace(ServerConfig(data_dir=data_dir, step_ms=10_000), **settings)
        self.server = Server(config, **({"clock": clock} if clock else {}))
        self._thread = ServerThread()
        self.url = self._thread.start(self.server.app)

    @property
    def store(self):
        return self.server.store

    def stop(self) -> None:
        self._thread.stop()
