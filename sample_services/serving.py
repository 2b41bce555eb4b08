"""Run an ASGI app under uvicorn on its own thread, on a real loopback socket."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp


class ServerThread:
    """One uvicorn server on a thread of its own; ``port=0`` picks a free port."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        # log_config=None: uvicorn's dictConfig would close every existing handler, ours included.
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", log_config=None
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True,
            name=f"uvicorn-{self.port}",
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> str:
        """Start serving; returns the base URL once the app has finished starting up."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop accepting, let in-flight requests finish, run the app's shutdown."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self._socket.close()
