"""Scrape targets for the scrape benchmark, served from a child process so their CPU is not counted.

``python -m bench.scrape_targets TARGETS RENDERS`` builds ``TARGETS`` ``prometheus_client``
registries of about 5,000 samples each (the ones :mod:`bench.bench_scrape_parse` uses),
renders each ``RENDERS`` times with values moving between renders, then serves target
``t`` on a loopback port of its own: each GET of any path answers the next render of that
target, round-robin (a wrap-around reads as a counter reset, which scrapers handle).
Pre-rendering keeps each answer a plain write of bytes, so the targets answer at once.

It prints one JSON line, the list of ports, once every target is listening, and exits when
its stdin closes (or after :data:`bench.loopback.MAX_CHILD_LIFETIME_S`).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.bench_scrape_parse import _Target
from bench.loopback import exit_when_parent_goes

# What prometheus_client answers for the classic text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _handler(renders: list[bytes]) -> type[BaseHTTPRequestHandler]:
    served = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real exporters and both scrapers use

        def do_GET(self) -> None:
            with lock:
                body = renders[served[0] % len(renders)]
                served[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per scrape would be noise

    return Handler


def main(argv: list[str]) -> None:
    targets, renders = int(argv[0]), int(argv[1])
    registries = [_Target(index) for index in range(targets)]
    texts: list[list[bytes]] = [[] for _ in range(targets)]
    for round_number in range(renders):
        for target, out in zip(registries, texts, strict=True):
            out.append(target.render().encode())
            target.advance(round_number + 1)
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(out)) for out in texts]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps([server.server_address[1] for server in servers]), flush=True)
    exit_when_parent_goes()
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
