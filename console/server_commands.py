"""The server-side commands: ``serve`` (the server), ``console`` (the UI) and ``up`` (everything)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from alerting.rule_book import RuleError
from console.api.app import Server
from console.commands import fleet_layout, run_fleet
from console.config import ConfigError, ServerConfig, load_config
from console.demo_release import DemoRelease, ReleaseOptions
from console.settings import API_TOKEN_ENV, SERVER_URL_ENV, configure_process_logging, data_dir, resolve
from console.stack import DEFAULT_SERVER_URL, Stack, StackOptions, console_command
from sample_services.slos import DEMO_SLO_DIR
from slo.problems import ValidationError

_log = logging.getLogger("watchfloor")


def build_server(config: ServerConfig) -> Server:
    """The server with every collector wired in (the composition root for ``serve`` and ``up``)."""
    return Server(config)


def serve(args: argparse.Namespace) -> int:
    """Run the server until SIGINT/SIGTERM; on the way out it commits what it acknowledged."""
    configure_process_logging(logging.INFO)
    try:
        config = load_config(
            Path(args.config) if args.config else None,
            overrides={
                "data_dir": args.data,
                "host": args.host,
                "port": args.port,
                "step_ms": None if args.step is None else int(args.step * 1000),
                "slo_dir": args.slo_dir,
            },
        )
    except ConfigError as error:
        print(f"watchfloor serve: {error}", file=sys.stderr)
        return 2
    try:
        server = build_server(config)
    except ValidationError as error:
        problems = "\n".join(f"  {p}" for p in error.problems)
        print(f"watchfloor serve: slo_dir {config.slo_dir} is not valid:\n{problems}", file=sys.stderr)
        return 2
    except (RuleError, OSError) as error:
        print(f"watchfloor serve: alert_rules_file: {error}", file=sys.stderr)
        return 2
    _log.info("serving on http://%s:%d with data in %s", config.host, config.port, config.data_dir)
    uvicorn.Server(
        uvicorn.Config(
            server.app,
            host=config.host,
            port=config.port,
            log_config=None,
            access_log=False,
            log_level="warning",
        )
    ).run()
    return 0


def up(args: argparse.Namespace) -> int:
    """The server, the console and the fleet, wired together; stops them in order on Ctrl-C."""
    host = resolve(args.host, "WATCHFLOOR_HOST", "127.0.0.1") or "127.0.0.1"
    stack = Stack(
        StackOptions(
            data_dir(args.data),
            host=host,
            server_port=args.port,
            console_port=args.console_port,
            step_s=_demo_step(args),
            config=Path(args.config) if args.config else None,
            console=not args.no_console,
            slo_dir=_demo_slo_dir(args),
        )
    )
    try:
        stack.start()
    except RuntimeError as error:
        print(f"watchfloor up: {error}", file=sys.stderr)
        return 1
    release = None
    try:
        # The fleet's telemetry goes to this server unless told otherwise.
        args.otlp_endpoint = args.otlp_endpoint or f"{stack.server_url}/v1/traces"
        args.bulk_url = args.bulk_url or f"{stack.server_url}/_bulk"
        # What a release pipeline would have done: started as the fleet starts, so the
        # deploy marks land at its start and the warm-up counts from it. Without traffic
        # there is nothing to judge. Logging first: its first lines come before the fleet's.
        configure_process_logging(logging.INFO)
        release = DemoRelease(
            stack.server_url,
            fleet_layout(args),
            ReleaseOptions(
                canary_after_s=None if args.no_traffic else args.demo_canary_after,
                canary_every_s=args.demo_canary_every,
                token=os.environ.get(API_TOKEN_ENV) or None,
            ),
        )
        release.start()
        return run_fleet(args, "Watchfloor demo is up.", [*stack.where_to_look(), release.describe()])
    finally:
        if release is not None:
            release.stop()
        stack.stop()


def _demo_step(args: argparse.Namespace) -> float | None:
    """The step ``up`` asks for: the flag; else none when a config file or the environment
    may set one (flag > env > file holds); else the demo's 10 s."""
    if args.step is not None:
        return float(args.step)
    if args.config or os.environ.get("WATCHFLOOR_STEP_MS"):
        return None
    return 10.0


def _demo_slo_dir(args: argparse.Namespace) -> Path | None:
    """The flag; else none when a config file or the environment may set one; else the fleet's SLOs."""
    if args.slo_dir:
        return Path(args.slo_dir)
    if args.config or os.environ.get("WATCHFLOOR_SLO_DIR"):
        return None
    return DEMO_SLO_DIR


def console(args: argparse.Namespace) -> int:
    """The console in the foreground until Ctrl-C or SIGTERM.

    This process becomes Streamlit (exec), so signals reach the server itself: a wrapper
    process killed by SIGTERM would leave an orphaned Streamlit behind.
    """
    server = resolve(args.server, SERVER_URL_ENV, DEFAULT_SERVER_URL) or DEFAULT_SERVER_URL
    command, env = console_command(server, args.host, args.port, args.theme)
    print(f"Console: http://{args.host}:{args.port} (reading {server})", flush=True)
    os.execve(command[0], command, env)
