"""Helpers the ingest benchmarks share: child processes on loopback and the CPU they spend.

Load generators and scrape targets run in child processes so that their CPU is not
counted against the process being measured; the children are bounded (they exit when the
parent closes their stdin, and after ``MAX_CHILD_LIFETIME_S`` in any case).

``python -m bench.loopback post URL CONTENT_TYPE BODIES CONCURRENCY REQUESTS`` is the load
generator: it POSTs the bodies of the file ``BODIES`` (length-prefixed, see
:func:`write_bodies`) round-robin from ``CONCURRENCY`` keep-alive connections, ``REQUESTS``
in all, and prints one JSON line: wall seconds from the first request to the last answer
and the count of answers by status.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAX_CHILD_LIFETIME_S = 600.0  # a child outlives no benchmark: it stops by itself past this
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) from ``/proc/<pid>/stat``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


def write_bodies(path: Path, bodies: Sequence[bytes]) -> None:
    """Store request bodies for the load generator: each as a 4-byte length, then the bytes."""
    with path.open("wb") as out:
        for body in bodies:
            out.write(struct.pack("<I", len(body)))
            out.write(body)


def _read_bodies(path: Path) -> list[bytes]:
    data = path.read_bytes()
    bodies, position = [], 0
    while position < len(data):
        (length,) = struct.unpack_from("<I", data, position)
        position += 4
        bodies.append(data[position : position + length])
        position += length
    return bodies


def run_child(module: str, *args: str) -> subprocess.Popen[str]:
    """Start ``python -m module args`` with pipes; it exits when its stdin is closed."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def stop_child(child: subprocess.Popen[str], timeout_s: float = 10.0) -> None:
    if child.stdin is not None:
        child.stdin.close()
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def exit_when_parent_goes(timeout_s: float = MAX_CHILD_LIFETIME_S) -> None:
    """Block until stdin closes (the parent is done or gone) or the lifetime runs out."""
    done = threading.Event()

    def watch() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    done.wait(timeout_s)


def post_load(
    url: str, content_type: str, bodies_file: Path, concurrency: int, requests: int
) -> dict[str, Any]:
    """POST ``requests`` bodies from ``concurrency`` threads, each on a keep-alive connection."""
    bodies = _read_bodies(bodies_file)
    parts = urlsplit(url)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    next_request = [0]
    ready = threading.Barrier(concurrency + 1)

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        ready.wait()
        while True:
            with lock:
                n = next_request[0]
                if n >= requests:
                    break
                next_request[0] += 1
            body = bodies[n % len(bodies)]
            connection.request("POST", parts.path, body, {"Content-Type": content_type})
            answer = connection.getresponse()
            answer.read()
            with lock:
                statuses[answer.status] += 1
        connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(MAX_CHILD_LIFETIME_S)
    return {"seconds": time.perf_counter() - began, "statuses": dict(statuses)}


def drive_posts(
    url: str, content_type: str, bodies_file: Path, concurrency: int, requests: int
) -> dict[str, Any]:
    """Run :func:`post_load` in a child process; answers its JSON result."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loopback",
            "post",
            url,
            content_type,
            str(bodies_file),
            str(concurrency),
            str(requests),
        ],
        capture_output=True,
        text=True,
        timeout=MAX_CHILD_LIFETIME_S,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def serve_and_drive(
    path: str, content_type: str, bodies: Sequence[bytes], concurrency: int, requests: int, warm_up: int
) -> tuple[dict[str, Any], float]:
    """POST ``bodies`` to a fresh Watchfloor server on loopback; (the load's result, server CPU s).

    The server runs in this process (its CPU is what is measured); the load comes from
    another process. ``warm_up`` requests first: the first ones create the tables' first
    blocks and import lazily, which is not the steady state.
    """
    from console.api.app import Server
    from console.config import ServerConfig
    from sample_services.serving import ServerThread

    with tempfile.TemporaryDirectory() as scratch:
        bodies_file = Path(scratch) / "bodies.bin"
        write_bodies(bodies_file, bodies)
        server = Server(ServerConfig(data_dir=Path(scratch) / "data", step_ms=10_000))
        thread = ServerThread()
        url = thread.start(server.app)
        try:
            drive_posts(f"{url}{path}", content_type, bodies_file, 2, warm_up)
            cpu = time.process_time()
            result = drive_posts(f"{url}{path}", content_type, bodies_file, concurrency, requests)
            cpu = time.process_time() - cpu
        finally:
            thread.stop()
    return result, cpu


def main(argv: Sequence[str]) -> None:
    if len(argv) == 6 and argv[0] == "post":
        _, url, content_type, bodies_file, concurrency, requests = argv
        print(json.dumps(post_load(url, content_type, Path(bodies_file), int(concurrency), int(requests))))
    else:
        raise SystemExit("usage: python -m bench.loopback post URL CONTENT_TYPE BODIES CONCURRENCY REQUESTS")


if __name__ == "__main__":
    main(sys.argv[1:])
