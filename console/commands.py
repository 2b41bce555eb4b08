"""The fleet-side commands (`fleet`, `service`, `chaos`, `traffic`), once their arguments are parsed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import uvicorn

from console.fleet_runner import FleetOptions, FleetRunner
from console.settings import configure_process_logging, data_dir, resolve
from sample_services.fleet import (
    DEFAULT_BASE_PORT,
    build_instance,
    default_layout,
    read_fleet_file,
    upstreams_of,
    write_fleet_file,
)
from sample_services.service import InstanceSpec
from sample_services.traffic import TrafficGenerator
from tracing.instrument import DEFAULT_BULK_URL, DEFAULT_OTLP_ENDPOINT, TelemetrySettings

STATUS_EVERY_S = 30.0
# Bearer token for the fleet's write endpoints (chaos); instances inherit it from the runner.
FLEET_TOKEN_ENV = "WATCHFLOOR_FLEET_TOKEN"
_log = logging.getLogger("watchfloor")


def _endpoints(args: argparse.Namespace) -> tuple[str, str]:
    """OTLP and ``_bulk`` URLs: flag > WATCHFLOOR_* > OTEL_* (traces only) > the server's."""
    otlp = resolve(
        args.otlp_endpoint,
        "WATCHFLOOR_OTLP_ENDPOINT",
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", DEFAULT_OTLP_ENDPOINT),
    )
    bulk = resolve(args.bulk_url, "WATCHFLOOR_BULK_URL", DEFAULT_BULK_URL)
    return otlp or "", bulk or ""


def _parse_upstreams(entries: list[str]) -> dict[str, list[str]]:
    upstreams: dict[str, list[str]] = {}
    for entry in entries:
        app, _, urls = entry.partition("=")
        if not urls:
            raise SystemExit(f"--upstream {entry!r}: expected APP=URL[,URL]")
        upstreams.setdefault(app, []).extend(u for u in urls.split(",") if u)
    return upstreams


def service(args: argparse.Namespace) -> int:
    """Run one instance in this process until SIGINT/SIGTERM; flushes telemetry on the way out."""
    configure_process_logging()
    spec = InstanceSpec(args.app, args.port, canary=args.canary, host=args.host, regression=args.regression)
    otlp, bulk = _endpoints(args)
    authorization = os.environ.get("WATCHFLOOR_BULK_AUTHORIZATION")  # a secret: never logged
    settings = TelemetrySettings(
        otlp_endpoint=otlp or None,
        bulk_url=bulk or None,
        log_path=data_dir(args.data) / "logs" / f"{spec.instance_id}.ndjson",
        bulk_headers={"Authorization": authorization} if authorization else {},
    )
    instance = build_instance(
        spec,
        settings,
        _parse_upstreams(args.upstream),
        seed=args.seed,
        time_scale=args.time_scale,
        admin_token=os.environ.get(FLEET_TOKEN_ENV) or None,  # a secret: never logged
    )
    config = uvicorn.Config(
        instance.app, host=spec.host, port=spec.port, log_config=None, access_log=False, log_level="warning"
    )
    uvicorn.Server(config).run()
    return 0


def fleet_layout(args: argparse.Namespace) -> list[InstanceSpec]:
    base_port = int(
        resolve(
            None if args.base_port is None else str(args.base_port),
            "WATCHFLOOR_FLEET_BASE_PORT",
            str(DEFAULT_BASE_PORT),
        )
        or DEFAULT_BASE_PORT
    )
    host = resolve(args.host, "WATCHFLOOR_HOST", "127.0.0.1") or "127.0.0.1"
    return default_layout(base_port, host, args.canary_regression)


def _listening(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    parsed = httpx.URL(url)
    try:
        with socket.create_connection((parsed.host, parsed.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


def _destination(url: str) -> str:
    if not url:
        return "(off)"
    if _listening(url):
        return url
    return f"{url} — nothing listens there yet: dropped items are counted in /metrics"


def _where_to_look(
    title: str, layout: list[InstanceSpec], data: Path, otlp: str, bulk: str, extra: list[str]
) -> str:
    lines = [f"\n{title}", "", *extra, "", "Instances (each serves /healthz, /metrics and /chaos):"]
    for spec in layout:
        note = ""
        if spec.regression is not None:
            note = (
                f"  ← canary regression: +{spec.regression.latency_ms:g} ms, "
                f"{spec.regression.error_rate:.0%} errors"
            )
        lines.append(f"  {spec.cluster:<22} {spec.url}{note}")
    lines += [
        "",
        f"Metrics:  curl {layout[0].url}/metrics",
        f"Traces:   OTLP/HTTP to {_destination(otlp)}",
        f"Logs:     ECS JSON in {data / 'logs'}/*.ndjson",
        f"          _bulk to {_destination(bulk)}",
        f"Fleet:    {data / 'fleet.json'}",
        "Chaos:    watchfloor chaos drm --error-rate 0.3 --for 5m   (--stop to end it)",
        "Stop:     Ctrl-C",
        "",
    ]
    return "\n".join(lines)


async def _drive(runner: FleetRunner, args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    generator = None
    tasks: list[asyncio.Task[object]] = []
    if not args.no_traffic:
        generator = TrafficGenerator(
            upstreams_of(runner.layout), sessions_per_s=args.rate, jobs_per_min=args.jobs_per_min
        )
        tasks.append(asyncio.create_task(generator.run()))
    deadline = None if args.duration is None else time.monotonic() + args.duration
    next_status = time.monotonic() + STATUS_EVERY_S
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        for instance_id in runner.supervise():
            _log.warning("restarted %s, which had exited", instance_id)
        if generator is not None and time.monotonic() >= next_status:
            print("traffic:", json.dumps(generator.stats.summary()), flush=True)
            next_status += STATUS_EVERY_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if generator is not None:
        print("traffic:", json.dumps(generator.stats.summary()), flush=True)


def run_fleet(args: argparse.Namespace, title: str, extra: list[str] | None = None) -> int:
    configure_process_logging(logging.INFO)
    data = data_dir(args.data)
    layout = fleet_layout(args)
    otlp, bulk = _endpoints(args)
    runner = FleetRunner(layout, FleetOptions(data, otlp, bulk, upstreams_of(layout), args.time_scale))
    try:
        runner.start()
    except RuntimeError as error:
        print(f"watchfloor: {error}", file=sys.stderr)
        return 1
    try:
        write_fleet_file(data / "fleet.json", layout)
        print(_where_to_look(title, layout, data, otlp, bulk, extra or []), flush=True)
        asyncio.run(_drive(runner, args))
    finally:
        runner.stop()
    return 0


def fleet(args: argparse.Namespace) -> int:
    return run_fleet(args, "Watchfloor sample fleet is up.")


def _fleet_urls(args: argparse.Namespace) -> list[dict[str, object]]:
    path = data_dir(args.data) / "fleet.json"
    if path.exists():
        return read_fleet_file(path)
    return [{"app": s.app, "cluster": s.cluster, "url": s.url} for s in default_layout()]


def chaos(args: argparse.Namespace) -> int:
    """Start or stop a chaos experiment on every matching instance; non-zero if any refused."""
    if args.url:
        targets = [(url, url) for url in args.url]
    else:
        targets = [
            (str(i["cluster"]), str(i["url"]))
            for i in _fleet_urls(args)
            if i["app"] == args.app and (args.cluster is None or i["cluster"] == args.cluster)
        ]
    if not targets:
        print(
            f"watchfloor chaos: no instances of {args.app}"
            + (f" in cluster {args.cluster}" if args.cluster else ""),
            file=sys.stderr,
        )
        return 1
    failed = 0
    body = {"latency_ms": args.latency_ms, "error_rate": args.error_rate, "duration_s": args.duration}
    token = os.environ.get(FLEET_TOKEN_ENV)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=5.0, headers=headers) as client:
        for name, url in targets:
            try:
                if args.stop:
                    answer = client.delete(f"{url}/chaos")
                else:
                    answer = client.post(f"{url}/chaos", json=body)
            except httpx.HTTPError as error:
                print(f"{name}: unreachable at {url} ({error})", file=sys.stderr)
                failed += 1
                continue
            if answer.status_code != 200:
                print(
                    f"{name}: refused ({answer.status_code}): {answer.json().get('detail')}", file=sys.stderr
                )
                failed += 1
            elif args.stop:
                print(f"{name}: chaos stopped")
            else:
                print(
                    f"{name}: chaos on — {args.error_rate:.0%} errors, +{args.latency_ms:g} ms "
                    f"for {args.duration:g} s"
                )
    return 1 if failed else 0


def traffic(args: argparse.Namespace) -> int:
    """Drive a running fleet (from fleet.json) until the duration passes or Ctrl-C."""
    upstreams: dict[str, list[str]] = {}
    for instance in _fleet_urls(args):
        upstreams.setdefault(str(instance["app"]), []).append(str(instance["url"]))
    generator = TrafficGenerator(upstreams, sessions_per_s=args.rate, jobs_per_min=args.jobs_per_min)
    stats = asyncio.run(generator.run(duration_s=args.duration))
    print(json.dumps(stats.summary()))
    return 0
