"""Run an ASGI app under uvicorn on its own thread, on a real loopback socket."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp


class ServerThread:
    """One uvicorn server on a thread of its own.

    The socket is bound at construction (``port=0`` picks a free port), so callers know
    the URL before they build the app that will serve it — services need their
    neighbours' URLs when they are built.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it every response waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, app: ASGIApp, timeout_s: float = 30.0) -> str:
        """Serve ``app``; returns the base URL once its start-up has finished."""
        # log_config=None: uvicorn's dictConfig would close every existing handler, ours included.
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", log_config=None)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._socket]}, daemon=True, name=f"uvicorn-{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop accepting, let in-flight requests finish, run the app's shutdown."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout_s)
        self._socket.close()
