"""A small, known world for the console's tests: spans, span metrics, logs, an SLO, a deploy, an alert.

``seed_world(server_dir)`` starts a real server (``RunningServer``) whose store holds the
last half hour of a playback platform, relative to the real clock (the console's ranges are
``now-1h`` …). Three services, four clusters:

* every ``TRACE_EVERY_S`` seconds one viewer trace: ``playback`` ``POST /play`` (server, in
  ``playback-v1`` or, every third trace, ``playback-v2-canary``) calls ``drm``
  ``POST /license`` (client span, then drm's server span in ``drm-v1``) and ``cdn``
  ``GET /manifest`` (``cdn-v1``); every fifth drm call fails (status error, and its playback
  span too);
* ``SLOW_TRACE``: one trace whose drm call takes 900 ms;
* a log line per trace from playback (info) and per failure from drm (error), each with the
  trace id; ``HOSTILE_MESSAGE`` (``<script>`` and Markdown) logged by cdn with
  ``SLOW_TRACE``'s id;
* the span-derived RED series, made by the server's own ``SpanMetrics`` over those spans;
* the SLO ``drm-license-ok`` (span-based, 99 % over a day), a deploy annotation of
  ``drm`` 10 minutes ago and a firing Alertmanager alert for ``drm`` (``DrmErrors``);
* the alert rules evaluated once after the seeding (and never again by themselves): the
  SLO burns, so its four ``SLOBurnRate`` tiers fire — five firing alerts in all;
* an outbox that is never delivered (nothing can be paged here).

Counts are exact so tests can check the console's figures against both the API and these.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from collectors.span_metrics import SpanMetrics
from store.model import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, STATUS_ERROR, STATUS_OK, LogRecord, Span
from tests.support.server import RunningServer

STEP_MS = 10_000
SPAN_MINUTES = 30
TRACE_EVERY_S = 20
SLOW_TRACE = "5107" + "0" * 27 + "1"
HOSTILE_MESSAGE = (
    '<script>alert("pwned")</script> **not bold** [not a link](http://example.com) # not a heading'
)
TOKEN = "console-test-token"
MS = 1_000_000
REFUSAL = "license refused: device revoked"

SLO_YAML = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: drm-license-ok
spec:
  description: License requests answered without an error span
  service: drm
  indicator:
    metadata:
      name: drm-license-spans
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: atlas
            spec:
              query: name,span.calls,:eq,nf.app,drm,:eq,:and,status.code,error,:eq,:and,:sum
        total:
          metricSource:
            type: atlas
            spec:
              query: name,span.calls,:eq,nf.app,drm,:eq,:and,:sum
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: 99% of license requests succeed
      target: 0.99
  watchfloor:
    minEvents: 1
"""


@dataclass
class World:
    """What was seeded, for assertions."""

    server: RunningServer
    now_ms: int
    trace_ids: list[str]
    failed_trace_ids: list[str]
    spans: list[Span]

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()


def _id(n: int, width: int) -> str:
    return f"{n + 1:0{width}x}"


def _trace(n: int, start_ms: int, slow: bool = False) -> list[Span]:
    trace_id = SLOW_TRACE if slow else "7" + _id(n, 31)
    failed = not slow and n % 5 == 4
    playback_cluster = "playback-v2-canary" if n % 3 == 2 else "playback-v1"
    drm_ms = 900 if slow else 20 + (n % 4) * 5
    t = start_ms * MS
    ids = [trace_id[-12:] + suffix for suffix in ("0001", "0002", "0003", "0004")]
    status_play = STATUS_ERROR if failed else STATUS_OK
    return [
        Span(trace_id, ids[0], "", "POST /play", SPAN_KIND_SERVER, t, t + (drm_ms + 40) * MS, "playback",
             status_play, resource={"nf.cluster": playback_cluster}, attributes={"http.route": "/play"}),
        Span(trace_id, ids[1], ids[0], "POST /license", SPAN_KIND_CLIENT, t + 2 * MS, t + (drm_ms + 4) * MS,
             "playback", STATUS_ERROR if failed else 0, resource={"nf.cluster": playback_cluster},
             attributes={"peer.service": "drm"}),
        Span(trace_id, ids[2], ids[1], "POST /license", SPAN_KIND_SERVER, t + 3 * MS, t + (drm_ms + 3) * MS,
             "drm", STATUS_ERROR if failed else STATUS_OK, REFUSAL if failed else "",
             resource={"nf.cluster": "drm-v1"}),
        Span(trace_id, ids[3], ids[0], "GET /manifest", SPAN_KIND_SERVER, t + (drm_ms + 6) * MS,
             t + (drm_ms + 30) * MS, "cdn", STATUS_OK, resource={"nf.cluster": "cdn-v1"}),
    ]  # fmt: skip


def _log(at_ms: int, level: str, message: str, service: str, trace_id: str) -> LogRecord:
    document = {"@timestamp": at_ms, "log.level": level, "message": message,
                "service.name": service, "trace.id": trace_id}  # fmt: skip
    return LogRecord(at_ms * MS, level, message, service, trace_id, "", document, "logs-console")


def seed_world(data_dir: Path, *, api_token: str | None = TOKEN) -> World:
    """Start a server in ``data_dir`` and fill it (see the module's docstring)."""
    slo_dir = data_dir / "slos"
    slo_dir.mkdir(parents=True, exist_ok=True)
    (slo_dir / "drm.yaml").write_text(SLO_YAML)
    # Alert rules are evaluated once, after the seeding, never on their own: a test's figures
    # must not change under it when a 30-second evaluation lands.
    server = RunningServer(
        data_dir / "data", slo_dir=slo_dir, api_token=api_token, alert_eval_interval_s=86_400
    )
    now_ms = int(time.time() * 1000)
    first_ms = now_ms - SPAN_MINUTES * 60_000
    spans: list[Span] = []
    logs: list[LogRecord] = []
    trace_ids: list[str] = []
    failed: list[str] = []
    for n in range(SPAN_MINUTES * 60 // TRACE_EVERY_S):
        trace = _trace(n, first_ms + n * TRACE_EVERY_S * 1000)
        spans += trace
        trace_id = trace[0].trace_id
        trace_ids.append(trace_id)
        logs.append(_log(trace[0].start_ns // MS, "info", "play started", "playback", trace_id))
        if trace[2].status_code == STATUS_ERROR:
            failed.append(trace_id)
            logs.append(
                _log(trace[2].end_ns // MS, "error", "license refused: device revoked", "drm", trace_id)
            )
    slow = _trace(0, now_ms - 5 * 60_000, slow=True)
    spans += slow
    logs.append(_log(slow[3].start_ns // MS, "warn", HOSTILE_MESSAGE, "cdn", SLOW_TRACE))
    store = server.store
    store.write_spans(spans)
    store.write_logs(logs)
    metrics = SpanMetrics(STEP_MS, clock=lambda: now_ms / 1000)
    metrics.observe(spans)
    store.write_datapoints(metrics.flush(now_ms + 2 * STEP_MS))
    headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        http.post("/api/v1/annotations", json={
            "kind": "deploy", "service": "drm", "version": "drm-v1.42", "summary": "drm v1.42 rolled out",
            "time": now_ms - 10 * 60_000,
        }).raise_for_status()  # fmt: skip
        http.post("/api/v1/intake/alertmanager", json={
            "version": "4", "groupKey": "{}:{alertname=\"DrmErrors\"}", "status": "firing",
            "receiver": "watchfloor", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": "DrmErrors", "service": "drm",
                        "severity": "critical"},
                        "annotations": {"summary": "DRM license errors over 5 % <b>now</b>"},
                        "startsAt": "2026-11-24T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                        "fingerprint": "d12a"}],
        }).raise_for_status()  # fmt: skip
    server.server.alerts.evaluate()
    # Nothing here can be paged (no PagerDuty, no webhooks): the world's outbox is not
    # delivered, so a notification a test puts there keeps the state the test gave it, and the
    # delivery loop's "no sender" pass cannot change a row between the page's read and the test's.
    server.server.outbox.deliver_due = lambda: 0  # type: ignore[method-assign]
    return World(server, now_ms, trace_ids, failed, spans)
