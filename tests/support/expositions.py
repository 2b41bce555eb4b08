"""A real `prometheus_client` exposition on loopback, optionally driven at a steady pace."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, start_http_server

from tests.support.ports import free_port


@contextmanager
def serving(
    registry: CollectorRegistry, drive: Callable[[], None] | None = None, every_s: float = 0.1
) -> Iterator[str]:
    """Serve ``registry``'s ``/metrics``; ``drive`` runs every ``every_s`` meanwhile. Yields ``host:port``."""
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def loop() -> None:
        while drive is not None and not stop.wait(every_s):
            drive()

    driver = threading.Thread(target=loop, daemon=True)
    driver.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop.set()
        driver.join(5)
        server.shutdown()
        server.server_close()
        thread.join(5)
