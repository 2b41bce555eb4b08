"""Loopback ports for tests that start whole processes: free ones to bind, closed ones to check."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_run(count: int) -> int:
    """A base port with ``count`` consecutive free ports after it (the fleet takes a run)."""
    for _ in range(50):
        base = random.randint(20_000, 40_000)
        sockets = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise RuntimeError("no run of free ports")


def refused(port: int) -> bool:
    """Whether connecting to the port is refused: nothing is left serving it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
