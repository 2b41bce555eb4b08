"""``watchfloor slo validate FILE…`` (offline) and ``watchfloor slo status`` (asks a running server)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from console.settings import SERVER_URL_ENV, resolve
from console.stack import DEFAULT_SERVER_URL
from slo.problems import ValidationError
from slo.registry import load_files

__all__ = ["add_slo_parser", "slo"]


def add_slo_parser(sub: Any) -> None:
    """The ``slo`` command and its ``validate`` and ``status`` subcommands."""
    parser = sub.add_parser("slo", help="validate OpenSLO files, or show the status of a server's SLOs")
    actions = parser.add_subparsers(dest="slo_command", required=True)
    validate = actions.add_parser("validate", help="check OpenSLO files (references may cross files)")
    validate.add_argument("files", nargs="+", help="OpenSLO YAML files")
    status = actions.add_parser("status", help="every SLO of a running server, least budget left first")
    status.add_argument("--server", help=f"server URL (env {SERVER_URL_ENV}; default {DEFAULT_SERVER_URL})")
    status.add_argument("--service", help="only this service's SLOs")
    status.add_argument("--json", action="store_true", help="the API's answer as it is")


def slo(args: argparse.Namespace) -> int:
    return validate(args.files) if args.slo_command == "validate" else status(args)


def validate(files: list[str]) -> int:
    """0 when every file is valid; 1 listing every problem; 2 when a file cannot be read."""
    try:
        definitions = load_files([Path(f) for f in files])
    except ValidationError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s); nothing is valid until all are fixed", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"watchfloor slo validate: {error}", file=sys.stderr)
        return 2
    names = ", ".join(d.name for d in definitions) or "no SLOs"
    print(f"valid: {len(definitions)} SLO(s): {names}")
    return 0


def _percent(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _left(ms: int | None) -> str:
    if ms is None:
        return "-"
    hours = ms / 3_600_000
    return f"{hours / 24:.1f}d" if hours >= 48 else f"{hours:.1f}h"


def status(args: argparse.Namespace) -> int:
    server = resolve(args.server, SERVER_URL_ENV, DEFAULT_SERVER_URL) or DEFAULT_SERVER_URL
    params = {"service": args.service} if args.service else {}
    try:
        answer = httpx.get(f"{server.rstrip('/')}/api/v1/slos", params=params, timeout=30.0)
    except httpx.HTTPError as error:
        print(f"watchfloor slo status: cannot reach {server}: {error}", file=sys.stderr)
        return 1
    if answer.status_code != 200:
        print(
            f"watchfloor slo status: {server} answered {answer.status_code}: {answer.text}", file=sys.stderr
        )
        return 1
    body = answer.json()
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    header = ("NAME", "SERVICE", "STATE", "SLI", "TARGET", "BUDGET LEFT", "BURN NOW", "EXHAUSTED IN")
    rows = [header]
    for item in body["slos"]:
        rows.append(
            (
                item["name"],
                item["service"] or "-",
                item["state"] + (f" ({','.join(item['firing'])})" if item.get("firing") else ""),
                _percent(item.get("sli"), 3),
                _percent(item.get("target"), 2),
                _percent(item.get("budget_remaining"), 1),
                _rate(item.get("current_burn_rate")),
                _left(item.get("time_to_exhaustion_ms")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for item in body["slos"]:
        if item.get("error"):
            print(f"{item['name']}: {item['error']}", file=sys.stderr)
    return 0
