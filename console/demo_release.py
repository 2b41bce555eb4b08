"""``watchfloor up``'s release story: store the canary configs, mark the canary deploys, judge the canaries.

A real release pipeline would have done all three before anyone opened the console; the
demo does them itself, through the same public APIs a pipeline uses (Kayenta's
``/canaryConfig`` and ``/standalone_canary_analysis``, ``/api/v1/annotations``), so the
Overview's verdicts and deploys and the Canary page have something to show. It runs in a
daemon thread beside the fleet; every failure is one log line and never stops the demo.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from console.canary_commands import analysis_request
from console.settings import parse_duration
from sample_services.canary import DRM_CANARY_CONFIG
from sample_services.service import InstanceSpec
from store.backends.promql_text import duration

__all__ = ["DEFAULT_AFTER_S", "DEFAULT_EVERY_S", "DemoRelease", "ReleaseOptions", "parse_after"]

CONFIG_DIR = DRM_CANARY_CONFIG.parent
DEFAULT_AFTER_S = 180.0
DEFAULT_EVERY_S = 900.0
MAX_WINDOW_S = 180.0  # the drm regression shows within 3 minutes; longer windows only wait longer
SOURCE = "watchfloor up"
STOP_WAIT_S = 5.0
_log = logging.getLogger("watchfloor.demo_release")


def parse_after(text: str) -> float | None:
    """``--demo-canary-after``: ``3m`` → 180.0; ``off`` or ``0`` → None (no analyses); else ValueError."""
    if text.strip().lower() == "off":
        return None
    seconds = parse_duration(text)
    return seconds if seconds > 0 else None


def span(seconds: float) -> str:
    """``900`` → ``15m``, ``20`` → ``20s``: durations as the flags take them."""
    return duration(round(seconds * 1000))


@dataclass(frozen=True)
class ReleaseOptions:
    canary_after_s: float | None = DEFAULT_AFTER_S  # warm-up before the first analysis; None: none
    canary_every_s: float = DEFAULT_EVERY_S
    config_dir: Path = CONFIG_DIR
    token: str | None = None  # WATCHFLOOR_API_TOKEN, a secret: sent, never logged
    timeout_s: float = 10.0


class DemoRelease:
    """The release story for one fleet layout against one server, in a stoppable daemon thread."""

    def __init__(self, server_url: str, layout: Sequence[InstanceSpec], options: ReleaseOptions) -> None:
        self.server_url = server_url.rstrip("/")
        self.options = options
        self.clusters = {spec.cluster for spec in layout}
        # One canary per cluster, however many instances it has.
        canaries = {spec.cluster: spec for spec in layout if spec.cluster.endswith("-canary")}
        self.canaries = [canaries[cluster] for cluster in sorted(canaries)]
        self.configs, self._unreadable = self._read_configs()
        self.problems: list[str] = []  # the one-line failures, as logged
        self.config_ids: dict[str, str] = {}  # config name → its id on the server
        self.analysis_ids: list[str] = []
        self.prepared = threading.Event()  # configs stored (or refused) and deploys marked
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-release", daemon=True)

    def _read_configs(self) -> tuple[list[dict[str, Any]], list[str]]:
        configs, unreadable = [], []
        for path in sorted(self.options.config_dir.glob("*.json")):
            try:
                config = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                unreadable.append(f"could not read canary config {path}: {error}")
                continue
            if isinstance(config, dict) and isinstance(config.get("name"), str):
                configs.append(config)
            else:
                unreadable.append(f"could not read canary config {path}: expected an object with a name")
        return configs, unreadable

    def judged(self) -> list[tuple[str, str]]:
        """(config name, app) pairs to analyse: apps with both ``<app>-v1`` and ``<app>-v2-canary``."""
        return [
            (config["name"], app)
            for config in self.configs
            for app in config.get("applications", [])
            if f"{app}-v1" in self.clusters and f"{app}-v2-canary" in self.clusters
        ]

    def describe(self) -> str:
        line = "Release:  the demo stores the canary config, marks the canary deploys"
        apps = sorted({app for _, app in self.judged()})
        after = self.options.canary_after_s
        if after is None or not apps:
            return line + " (no canary analyses)"
        every, window = span(self.options.canary_every_s), span(min(after, MAX_WINDOW_S))
        return (
            f"{line} and judges the {', '.join(apps)} canary every {every} "
            f"(the last {window}), starting {span(after)} after the fleet starts"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end and wait briefly: a request in flight may not hold ``up`` back."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._story()
        except Exception as error:  # a bug here must not take the demo down: say it and stop
            self._fail(f"stopped: {error!r}")
        finally:
            self.prepared.set()

    def _story(self) -> None:
        token = self.options.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(
            base_url=self.server_url, headers=headers, timeout=self.options.timeout_s
        ) as client:
            for problem in self._unreadable:
                self._fail(problem)
            for config in self.configs:
                self._store(client, config)
            self._mark_deploys(client)
            self.prepared.set()
            after = self.options.canary_after_s
            if after is None or self._stop.wait(after):
                return
            while True:
                for name, app in self.judged():
                    self._judge(client, name, app, min(after, MAX_WINDOW_S))
                if self._stop.wait(self.options.canary_every_s):
                    return

    def _store(self, client: httpx.Client, config: dict[str, Any]) -> None:
        """Create the config, or update the one of the same id (else name) a previous run stored."""
        name = config["name"]
        try:
            listed = client.get("/canaryConfig", params={"application": config.get("applications", [])})
            if listed.status_code != 200:
                return self._fail(f"could not list canary configs: {_why(listed)}")
            wanted = config.get("id")
            existing = next(
                (c["id"] for c in listed.json() if (c["id"] == wanted if wanted else c["name"] == name)), None
            )
            if existing is None:
                answer = client.post("/canaryConfig", json=config)
            else:
                answer = client.put(f"/canaryConfig/{existing}", json=config)
            if answer.status_code != 200:
                return self._fail(f"could not store canary config {name}: {_why(answer)}")
            self.config_ids[name] = str(answer.json()["canaryConfigId"])
            _log.info("%s canary config %s", "updated" if existing else "stored", name)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            self._fail(f"could not store canary config {name}: {self.server_url} {_error(error)}")
        return None

    def _mark_deploys(self, client: httpx.Client) -> None:
        """One ``deploy`` annotation per canary cluster: the pipeline just put it beside its baseline."""
        refused: list[str] = []
        reason = ""
        for spec in self.canaries:
            baseline = f"{spec.app}-v1"
            beside = f" beside {baseline}" if baseline in self.clusters else ""
            body = {
                "kind": "deploy",
                "service": spec.app,
                "summary": f"v2 canary ({spec.version}) deployed{beside}",
                "version": spec.cluster,
                "source": SOURCE,
            }
            try:
                answer = client.post("/api/v1/annotations", json=body)
            except httpx.HTTPError as error:
                refused.append(spec.cluster)
                reason = f"{self.server_url} {_error(error)}"
                continue
            if answer.status_code != 201:
                refused.append(spec.cluster)
                reason = _why(answer)
        if refused:
            # One line for all of them: they fail together (a token, the server down).
            self._fail(f"could not mark the deploys of {', '.join(refused)}: {reason}")

    def _judge(self, client: httpx.Client, name: str, app: str, window_s: float) -> None:
        """Start a standalone analysis of the past window with the stored config, as a pipeline would."""
        config_id = self.config_ids.get(name)
        config = next(c for c in self.configs if c["name"] == name)
        if config_id is None:
            return self._fail(f"not judging the {app} canary: canary config {name} is not stored")
        body = analysis_request(
            config,
            baseline=f"{app}-v1",
            canary=f"{app}-v2-canary",
            lifetime_s=window_s,
            start=f"now-{window_s:g}s",
        )
        try:
            answer = client.post(
                f"/standalone_canary_analysis/{config_id}",
                params={"application": app, "user": SOURCE},
                json=body["executionRequest"],
            )
            if answer.status_code != 200:
                return self._fail(f"could not start the {app} canary analysis: {_why(answer)}")
            analysis_id = str(answer.json()["canaryAnalysisExecutionId"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            return self._fail(f"could not start the {app} canary analysis: {self.server_url} {_error(error)}")
        self.analysis_ids.append(analysis_id)
        _log.info("started canary analysis %s of %s over the last %s", analysis_id, app, span(window_s))
        return None

    def _fail(self, line: str) -> None:
        self.problems.append(line)
        if not self._stop.is_set():  # a request cut short by the demo stopping is not news
            # Formatted here: the process's repeat filter damps by message template.
            _log.warning("demo release: " + line)


def _error(error: Exception) -> str:
    if isinstance(error, httpx.TransportError):
        return f"is unreachable ({str(error) or type(error).__name__})"
    return f"answered something unexpected ({error!r})"


def _why(answer: httpx.Response) -> str:
    """``401 authorization: a bearer token is required``: the status and the server's reasons."""
    try:
        reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in answer.json()["errors"])
    except (ValueError, KeyError, TypeError):
        reasons = answer.text[:200]
    return f"{answer.status_code} {reasons}".strip()
