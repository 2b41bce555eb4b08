"""``watchfloor canary run|verdict|validate``: canary analyses for release scripts.

``run`` starts a standalone analysis of a canary config file (Kayenta JSON) comparing two
clusters, and with ``--wait`` polls its verdict. Exit codes, so a pipeline can branch on
them: 0 pass (or, without ``--wait``, started), 1 fail, 2 a usage error (argparse's),
3 marginal (the last score sat between marginal and pass), 4 the analysis could not be
started or followed (bad input, server unreachable or answering nonsense; the reason is
printed). A tool failure never reads as a verdict. The server's token comes from
``WATCHFLOOR_API_TOKEN``, never from a flag, so it stays out of shell history.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from canary.config import ConfigError, load_canary_config
from canary.scopes import iso, parse_instant
from console.settings import API_TOKEN_ENV, SERVER_URL_ENV, parse_duration, resolve
from console.stack import DEFAULT_SERVER_URL

__all__ = ["add_canary_parser", "analysis_request", "canary"]

EXIT = {"pass": 0, "fail": 1, "marginal": 3}
TROUBLE = 4
TRANSIENT_RETRIES = 10  # polls in a row that may fail (unreachable, 5xx) while waiting
# What a server answering nonsense (a proxy's HTML page, a JSON list) raises on the way.
NONSENSE = (ValueError, KeyError, TypeError, AttributeError)


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_canary_parser(sub: Any) -> None:
    parser = sub.add_parser("canary", help="run canary analyses (Kayenta-compatible) and read verdicts")
    actions = parser.add_subparsers(dest="canary_command", required=True)
    run = actions.add_parser("run", help="compare a canary cluster with its baseline over a lifetime")
    run.add_argument("--config", required=True, help="Kayenta canary config (JSON file)")
    run.add_argument("--baseline", required=True, help="the control scope (cluster), e.g. drm-v1")
    run.add_argument("--canary", required=True, help="the experiment scope (cluster), e.g. drm-v2-canary")
    run.add_argument("--lifetime", type=_seconds, required=True, help="how long to analyse (30m)")
    run.add_argument("--interval", type=_seconds, help="one judgement per interval (5m; default: lifetime)")
    run.add_argument("--begin-after", type=_seconds, default=0.0, help="warm-up before the first window")
    run.add_argument("--lookback", type=_seconds, default=0.0, help="judge only the last N of each window")
    run.add_argument("--start", help="judge a past window from this ISO-8601 instant, or now-3m / now-1h")
    run.add_argument("--step", type=_seconds, help="data step (default: the server's)")
    run.add_argument("--scope-name", default="default", help="the config's scopeName (default 'default')")
    run.add_argument(
        "--pass", dest="pass_", type=float, default=None, help="pass score (default: config's or 75)"
    )
    run.add_argument("--marginal", type=float, default=None, help="marginal score (default: config's or 50)")
    run.add_argument("--wait", action="store_true", help="wait for the verdict and exit with it")
    run.add_argument("--poll", type=_seconds, default=5.0, help="seconds between verdict polls")
    run.add_argument("--server", help=f"server URL (env {SERVER_URL_ENV}; default {DEFAULT_SERVER_URL})")
    verdict = actions.add_parser("verdict", help="the verdict of an analysis: pass, marginal, fail, running")
    verdict.add_argument("id")
    verdict.add_argument("--server", help=f"server URL (env {SERVER_URL_ENV}; default {DEFAULT_SERVER_URL})")
    validate = actions.add_parser("validate", help="check a canary config file without a server")
    validate.add_argument("file")


def _start_ms(text: str | None) -> int | None:
    if text is None:
        return None
    # ``now-3m`` (Atlas's form; ``--start=-3m`` works too, but argparse takes ``-3m`` alone
    # for an option).
    for prefix in ("now-", "-"):
        if text.startswith(prefix):
            return int((time.time() - parse_duration(text[len(prefix) :])) * 1000)
    return parse_instant(text, "--start")


def request_body(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """The ``/standalone_canary_analysis`` body for the command's flags."""
    return analysis_request(
        config,
        baseline=args.baseline,
        canary=args.canary,
        lifetime_s=args.lifetime,
        start=args.start,
        interval_s=args.interval,
        begin_after_s=args.begin_after,
        lookback_s=args.lookback,
        step_s=args.step,
        scope_name=args.scope_name,
        pass_score=args.pass_,
        marginal_score=args.marginal,
    )


def analysis_request(
    config: dict[str, Any],
    *,
    baseline: str,
    canary: str,
    lifetime_s: float,
    start: str | None = None,
    interval_s: float | None = None,
    begin_after_s: float = 0.0,
    lookback_s: float = 0.0,
    step_s: float | None = None,
    scope_name: str = "default",
    pass_score: float | None = None,
    marginal_score: float | None = None,
) -> dict[str, Any]:
    """``{canaryConfig, executionRequest}`` comparing two clusters, as ``canary run`` posts it.

    Shared with ``watchfloor up``'s release story (console/demo_release.py), so the demo
    judges its canary exactly as a release script would. ``start`` reads as ``--start``.
    """
    scope: dict[str, Any] = {
        "scopeName": scope_name,
        "controlScope": baseline,
        "experimentScope": canary,
    }
    if step_s is not None:
        scope["step"] = step_s
    start_ms = _start_ms(start)
    if start_ms is not None:
        # A past window: its end is known, so the judgements run as soon as their data is in.
        scope["startTimeIso"] = iso(start_ms)
        scope["endTimeIso"] = iso(start_ms + int(lifetime_s * 1000))
    classifier = config.get("classifier") or {}
    configured = (classifier.get("scoreThresholds") if isinstance(classifier, dict) else None) or {}
    request: dict[str, Any] = {
        "scopes": [scope],
        "thresholds": {
            "pass": pass_score if pass_score is not None else configured.get("pass", 75.0),
            "marginal": marginal_score if marginal_score is not None else configured.get("marginal", 50.0),
        },
        "lifetimeDurationMins": lifetime_s / 60,
        "beginAfterMins": begin_after_s / 60,
        "lookbackMins": lookback_s / 60,
    }
    if interval_s is not None:
        request["analysisIntervalMins"] = interval_s / 60
    return {"canaryConfig": config, "executionRequest": request}


def _poll(client: httpx.Client, path: str) -> httpx.Response | None:
    """One GET; None when the server could not be reached."""
    try:
        return client.get(path)
    except httpx.TransportError:
        return None


def _server(args: argparse.Namespace) -> str:
    return (resolve(args.server, SERVER_URL_ENV, DEFAULT_SERVER_URL) or DEFAULT_SERVER_URL).rstrip("/")


def _complain(answer: httpx.Response) -> int:
    try:
        errors = [(e["field"], e["reason"]) for e in answer.json()["errors"]]
    except NONSENSE:
        errors = [("", f"{answer.status_code} {answer.text[:500]}")]
    for field, reason in errors:
        print(f"watchfloor canary: {field}: {reason}", file=sys.stderr)
    return TROUBLE


def _show(verdict: dict[str, Any]) -> int:
    word = verdict["verdict"]
    if word not in EXIT:
        raise ValueError(f"unknown verdict {word!r}")
    score = verdict.get("score")
    shown = "-" if score is None else f"{float(score):g}"
    print(f"verdict: {word}  score: {shown}")
    for reason in verdict.get("reasons", []):
        print(f"  {reason}")
    return EXIT[word]


def run(args: argparse.Namespace) -> int:
    try:
        config = json.loads(Path(args.config).read_text())
        load_canary_config(config)
        body = request_body(args, config)
    except (OSError, ValueError) as error:  # ConfigError and RequestError are ValueErrors
        print(f"watchfloor canary run: {args.config}: {error}", file=sys.stderr)
        return TROUBLE
    server = _server(args)
    token = os.environ.get(API_TOKEN_ENV)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=server, headers=headers, timeout=30.0) as client:
            answer = client.post("/standalone_canary_analysis", json=body)
            if answer.status_code != 200:
                return _complain(answer)
            analysis_id = answer.json()["canaryAnalysisExecutionId"]
            print(f"analysis {analysis_id}: {server}/standalone_canary_analysis/{analysis_id}", flush=True)
            if not args.wait:
                return 0
            misses = 0
            while True:
                polled = _poll(client, f"/api/v1/canary/analyses/{analysis_id}/verdict")
                if polled is None or polled.status_code >= 500:
                    # A restart or a blip during a long wait is not the end: the analysis is
                    # kept by the server and resumes; give up only after several in a row.
                    misses += 1
                    if misses > TRANSIENT_RETRIES:
                        print(
                            f"watchfloor canary run: {server} did not answer {misses} times", file=sys.stderr
                        )
                        return TROUBLE
                    time.sleep(args.poll)
                    continue
                misses = 0
                if polled.status_code != 200:
                    return _complain(polled)
                verdict = polled.json()
                if verdict["verdict"] != "running":
                    return _show(verdict)
                time.sleep(args.poll)
    except httpx.HTTPError as error:
        print(f"watchfloor canary run: {server}: {error}", file=sys.stderr)
        return TROUBLE
    except NONSENSE as error:
        print(f"watchfloor canary run: {server} answered something unexpected: {error!r}", file=sys.stderr)
        return TROUBLE


def show_verdict(args: argparse.Namespace) -> int:
    server = _server(args)
    try:
        answer = httpx.get(f"{server}/api/v1/canary/analyses/{args.id}/verdict", timeout=30.0)
    except httpx.HTTPError as error:
        print(f"watchfloor canary verdict: {server}: {error}", file=sys.stderr)
        return TROUBLE
    if answer.status_code != 200:
        return _complain(answer)
    try:
        verdict = answer.json()
        if verdict["verdict"] == "running":
            print("verdict: running")
            return TROUBLE
        return _show(verdict)
    except NONSENSE as error:
        print(
            f"watchfloor canary verdict: {server} answered something unexpected: {error!r}", file=sys.stderr
        )
        return TROUBLE


def validate(path: str) -> int:
    try:
        config = load_canary_config(json.loads(Path(path).read_text()))
    except ConfigError as error:
        for field, reason in error.problems:
            print(f"{path}: {field or '(top)'}: {reason}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"watchfloor canary validate: {path}: {error}", file=sys.stderr)
        return TROUBLE
    print(f"valid: {config.name}: {len(config.metrics)} metric(s)")
    return 0


def canary(args: argparse.Namespace) -> int:
    if args.canary_command == "run":
        return run(args)
    if args.canary_command == "verdict":
        return show_verdict(args)
    return validate(args.file)
