"""``watchfloor``: the composition root that wires and starts everything.

Commands: ``up`` (everything, for the demo), ``serve`` (the server), ``console`` (the UI),
``fleet`` (the sample services and traffic), ``service`` (one instance), ``chaos`` (fault
injection on a running fleet), ``traffic``, ``slo validate`` / ``slo status``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from console import canary_commands, commands, server_commands, slo_commands
from console.canary_commands import add_canary_parser
from console.demo_release import parse_after
from console.settings import parse_duration
from console.slo_commands import add_slo_parser
from sample_services.chaos import Fault
from sample_services.fleet import DEFAULT_BASE_PORT, DEFAULT_CANARY_FAULT
from sample_services.service import APPS


def _fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _regressions(text: str) -> dict[str, Fault]:
    """``none`` | ``APP`` | ``APP:latency_ms=…,error_rate=…`` (several separated by ``;``)."""
    if text.strip().lower() == "none":
        return {}
    regressions: dict[str, Fault] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        app, _, spec = part.partition(":")
        if app not in APPS:
            raise argparse.ArgumentTypeError(f"unknown app {app!r}; expected one of {', '.join(APPS)}")
        regressions[app] = _fault(spec) if spec else DEFAULT_CANARY_FAULT
    return regressions


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _canary_after(text: str) -> float | None:
    try:
        return parse_after(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}, or off") from None


def _every(text: str) -> float:
    seconds = _duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration above 0")
    return seconds


def _add_telemetry_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--otlp-endpoint",
        help="OTLP/HTTP traces URL (env WATCHFLOOR_OTLP_ENDPOINT; default the server's /v1/traces)",
    )
    parser.add_argument(
        "--bulk-url",
        help="Elasticsearch _bulk URL for logs (env WATCHFLOOR_BULK_URL; default the server's /_bulk)",
    )
    parser.add_argument("--data", help="data directory (env WATCHFLOOR_DATA; default ./var)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplies simulated work such as encodes (default 1.0)",
    )


def _add_fleet_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--base-port",
        type=int,
        default=None,
        help=f"first instance port (env WATCHFLOOR_FLEET_BASE_PORT; default {DEFAULT_BASE_PORT})",
    )
    parser.add_argument("--rate", type=float, default=2.0, help="viewer sessions per second (default 2)")
    parser.add_argument(
        "--jobs-per-min", type=float, default=6.0, help="encoding jobs per minute (default 6)"
    )
    parser.add_argument("--no-traffic", action="store_true", help="start the fleet without the generator")
    parser.add_argument(
        "--canary-regression",
        type=_regressions,
        default=None,
        help="canary builds with a regression: 'none', 'drm', or "
        "'drm:latency_ms=40,error_rate=0.04;cdn:latency_ms=20' (default: drm)",
    )
    parser.add_argument(
        "--duration",
        type=_duration,
        default=None,
        help="stop after this long (30s, 5m); default: until interrupted",
    )
    _add_telemetry_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchfloor", description=__doc__.splitlines()[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server: store, receivers, API, background loops")
    serve.add_argument("--config", help="watchfloor.yaml (settings; WATCHFLOOR_* variables override it)")
    serve.add_argument("--data", help="data directory (default ./var)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 7070)")
    serve.add_argument("--step", type=_duration, help="metrics step (default 60s; the demo uses 10s)")
    serve.add_argument("--slo-dir", help="folder of OpenSLO files read at start (env WATCHFLOOR_SLO_DIR)")

    up = sub.add_parser("up", help="start everything for the demo and print where to look")
    _add_fleet_flags(up)
    up.add_argument("--config", help="watchfloor.yaml for the server")
    up.add_argument("--port", type=int, default=7070, help="server port (default 7070)")
    up.add_argument("--console-port", type=int, default=8501, help="console port (default 8501)")
    up.add_argument("--no-console", action="store_true", help="start the server and fleet only")
    up.add_argument(
        "--slo-dir",
        help="OpenSLO files for the server (default: the sample fleet's SLOs, "
        "unless --config or WATCHFLOOR_SLO_DIR set a folder)",
    )
    up.add_argument(
        "--step",
        type=_duration,
        default=None,
        help="metrics step (default 10s, unless --config or WATCHFLOOR_STEP_MS set one)",
    )
    up.add_argument(
        "--demo-canary-after",
        type=_canary_after,
        default=180.0,
        help="warm-up before the demo judges its canaries (default 3m; 0 or off: no analyses)",
    )
    up.add_argument(
        "--demo-canary-every",
        type=_every,
        default=900.0,
        help="how often the demo judges its canaries again (default 15m)",
    )
    console = sub.add_parser("console", help="run the console (Streamlit) against a running server")
    console.add_argument(
        "--server", help="server URL (env WATCHFLOOR_SERVER_URL; default http://127.0.0.1:7070)"
    )
    console.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    console.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    console.add_argument(
        "--theme", choices=("dark", "light"), default="dark", help="starting theme (default dark)"
    )
    fleet = sub.add_parser("fleet", help="run the sample services (baseline + canary) and traffic")
    _add_fleet_flags(fleet)

    service = sub.add_parser("service", help="run one sample service instance")
    service.add_argument("app", choices=APPS)
    service.add_argument("--port", type=int, required=True)
    service.add_argument("--host", default="127.0.0.1")
    service.add_argument("--canary", action="store_true", help="run as <app>-v2-canary")
    service.add_argument(
        "--regression",
        type=_fault,
        default=None,
        help="built-in regression, e.g. latency_ms=40,error_rate=0.04",
    )
    service.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="APP=URL[,URL]",
        help="instances of an upstream app (repeatable)",
    )
    service.add_argument("--environment", default="demo")
    service.add_argument("--seed", type=int, default=None)
    _add_telemetry_flags(service)

    chaos = sub.add_parser("chaos", help="inject latency and errors into a running app's instances")
    chaos.add_argument("app", choices=APPS)
    chaos.add_argument("--cluster", help="only this cluster (for example drm-v2-canary)")
    chaos.add_argument("--error-rate", type=float, default=0.0, help="share of requests to fail, 0..1")
    chaos.add_argument("--latency-ms", type=float, default=0.0, help="extra latency per request")
    chaos.add_argument(
        "--for", dest="duration", type=_duration, default=300.0, help="how long (30s, 5m, 1h; default 5m)"
    )
    chaos.add_argument("--stop", action="store_true", help="end the experiment now")
    chaos.add_argument(
        "--url",
        action="append",
        default=[],
        help="instance base URL (repeatable); default: the instances in the data directory's fleet.json",
    )
    chaos.add_argument("--data", help="data directory holding fleet.json (default ./var)")

    add_slo_parser(sub)
    add_canary_parser(sub)

    traffic = sub.add_parser("traffic", help="generate viewer traffic against a running fleet")
    traffic.add_argument("--rate", type=float, default=2.0)
    traffic.add_argument("--jobs-per-min", type=float, default=6.0)
    traffic.add_argument("--duration", type=_duration, default=None)
    traffic.add_argument("--data", help="data directory holding fleet.json (default ./var)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "serve": server_commands.serve,
        "console": server_commands.console,
        "up": server_commands.up,
        "fleet": commands.fleet,
        "service": commands.service,
        "chaos": commands.chaos,
        "traffic": commands.traffic,
        "slo": slo_commands.slo,
        "canary": canary_commands.canary,
    }
    with contextlib.suppress(KeyboardInterrupt):
        return handlers[args.command](args)
    return 130


if __name__ == "__main__":
    sys.exit(main())
