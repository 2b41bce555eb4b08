"""The console's only way to the server: a thin typed client over Watchfloor's HTTP API.

Each method is one endpoint (README's "Server API"); keyword parameters mirror the query
parameters (``None`` is left out, a list repeats the parameter) and the answer is the
parsed JSON as the server sent it — the pages read the same figures the API shows.
Failures raise :class:`ApiError` (4xx/5xx) or :class:`ServerUnreachable` (no answer).

The bearer token goes only on writes, as the server checks only those, and it is kept out
of ``repr``, errors and logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Unpack

import httpx

from console.ui.api_errors import ApiError, ServerUnreachable, api_error_of, unreachable_of
from console.ui.api_params import (
    Instant,
    LogHistogramQuery,
    LogQuery,
    Page,
    SpanQuery,
    TraceQuery,
    pairs,
    query_params,
    rfc3339,
    seg,
)

__all__ = [
    "ApiError",
    "Instant",
    "LogQuery",
    "ServerUnreachable",
    "SpanQuery",
    "TraceQuery",
    "WatchfloorClient",
]


class WatchfloorClient:
    """``WatchfloorClient("http://127.0.0.1:8080", token=…)``; use it in ``with`` or ``close()`` it."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        # Shown in errors and repr: without any user:password a URL might carry.
        self.base_url = str(url.copy_with(username=None, password=None)).rstrip("/")
        self.timeout_s = timeout_s
        self._auth = None if token is None else {"Authorization": f"Bearer {token}"}
        self._http = httpx.Client(base_url=url, timeout=timeout_s, transport=transport)

    def __repr__(self) -> str:
        return f"WatchfloorClient({self.base_url!r}, token={'***' if self._auth else None})"

    def __enter__(self) -> WatchfloorClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        # The token rides per request, not as a client default, so no read ever carries it.
        if self._auth and method in ("POST", "PUT", "DELETE"):
            headers = {**(headers or {}), **self._auth}
        try:
            response = self._http.request(method, path, headers=headers, **kw)
        except httpx.TransportError as error:
            raise unreachable_of(self.base_url, error, self.timeout_s) from None
        if response.status_code >= 400:
            raise api_error_of(response)
        return response

    def _json(self, shape: type[Any], method: str, path: str, **kw: Any) -> Any:
        response = self._send(method, path, **kw)
        try:
            found = response.json()
        except ValueError:
            found = None  # a proxy's page, or another server at this URL
        if not isinstance(found, shape):
            raise ApiError(response.status_code, [], f"expected a JSON {shape.__name__} from {path}")
        return found

    def _object(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        found: dict[str, Any] = self._json(dict, method, path, **kw)
        return found

    def _get(self, path: str, /, **params: Any) -> dict[str, Any]:
        return self._object("GET", path, params=query_params(**params))

    def _get_list(self, path: str, /, **params: Any) -> list[Any]:
        # The Atlas tag lists and Kayenta's config list answer a bare JSON array.
        found: list[Any] = self._json(list, "GET", path, params=query_params(**params))
        return found

    def iter_pages(
        self, method: Callable[..., Page], *, max_pages: int = 100, **params: Any
    ) -> Iterator[Page]:
        """Pages of a cursor-paged read (``logs``, ``spans``) until ``next_cursor`` is None.

        ``max_pages`` bounds the walk: a busy store keeps adding older-than-cursor records
        only by backfill, but a console must not loop on a server that misbehaves.
        """
        cursor = params.pop("cursor", None)
        for _ in range(max_pages):
            page = method(**params, cursor=cursor)
            yield page
            cursor = page.get("next_cursor")
            if cursor is None:
                return

    def health(self) -> dict[str, Any]:
        return self._get("/healthz")

    def targets(self) -> dict[str, Any]:
        return self._get("/api/v1/targets")

    def config(self) -> dict[str, Any]:
        """The server's settings, secrets redacted by the server."""
        return self._get("/api/v1/config")

    def series(
        self, q: str, *, start: Instant | None = None, end: Instant | None = None, step: int | None = None
    ) -> dict[str, Any]:
        """Raw series an Atlas query selects; ``step`` in milliseconds."""
        return self._get("/api/v1/series", q=q, start=start, end=end, step=step)

    def graph(
        self,
        q: str,
        *,
        s: str | None = None,
        e: str | None = None,
        step: str | None = None,
        tz: str | None = None,
    ) -> dict[str, Any]:
        """Atlas graph JSON ``{start, step, legend, metrics, values, notices}``; NaN arrives as "NaN"."""
        return self._get("/api/v1/graph", q=q, s=s, e=e, step=step, tz=tz, format="json")

    def red(
        self,
        *,
        start: Instant | None = None,
        end: Instant | None = None,
        by: str | None = None,
        service: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Rate, errors and p50/p95/p99 of serving spans per service, cluster or operation."""
        return self._get("/api/v1/red", start=start, end=end, by=by, service=service, limit=limit)

    def tag_keys(self, *, q: str | None = None, limit: int | None = None) -> list[str]:
        return self._get_list("/api/v1/tags", q=q, limit=limit)

    def tag_values(self, key: str, *, q: str | None = None, limit: int | None = None) -> list[str]:
        return self._get_list(f"/api/v1/tags/{seg(key)}", q=q, limit=limit)

    def exemplars(
        self, q: str, *, start: Instant | None = None, end: Instant | None = None, step: int | None = None
    ) -> dict[str, Any]:
        return self._get("/api/v1/exemplars", q=q, start=start, end=end, step=step)

    def trace_search(self, **query: Unpack[TraceQuery]) -> dict[str, Any]:
        """Trace summaries; ``attrs`` become repeated ``attr=key=value``; ``sort`` start|duration."""
        params: dict[str, Any] = dict(query)
        params["attr"] = pairs(params.pop("attrs", None))
        return self._get("/api/v1/traces", **params)

    def trace(self, trace_id: str) -> dict[str, Any]:
        return self._get(f"/api/v1/traces/{seg(trace_id)}")

    def compare_traces(self, a: str, b: str) -> dict[str, Any]:
        return self._get(f"/api/v1/traces/{seg(a)}/compare/{seg(b)}")

    def dependencies(self, *, start: Instant | None = None, end: Instant | None = None) -> dict[str, Any]:
        return self._get("/api/v1/dependencies", start=start, end=end)

    def services(self) -> dict[str, Any]:
        return self._get("/api/v1/services")

    def operations(self, service: str) -> dict[str, Any]:
        return self._get(f"/api/v1/services/{seg(service)}/operations")

    def spans(self, **query: Unpack[SpanQuery]) -> Page:
        """One page of spans, newest first; pass ``next_cursor`` back as ``cursor``."""
        return self._get("/api/v1/spans", **query)

    def logs(self, **query: Unpack[LogQuery]) -> Page:
        """One page of log records, newest first; pass ``next_cursor`` back as ``cursor``. With ``after``
        (a record's cursor): the records after it, oldest first, ``next_cursor`` continuing as ``after``."""
        return self._get("/api/v1/logs", **query)

    def log_histogram(self, **query: Unpack[LogHistogramQuery]) -> dict[str, Any]:
        """Log records per step and level, counted by the server: ``{start, step, times, levels, total}``."""
        return self._get("/api/v1/logs/histogram", **query)

    def slos(self, *, service: str | None = None) -> dict[str, Any]:
        return self._get("/api/v1/slos", service=service)

    def slo(self, name: str, *, points: int | None = None) -> dict[str, Any]:
        return self._get(f"/api/v1/slos/{seg(name)}", points=points)

    def slo_definition(self, name: str) -> str:
        """The OpenSLO YAML text as defined (the endpoint answers YAML, not JSON)."""
        return self._send("GET", f"/api/v1/slos/{seg(name)}/definition").text

    def put_slo(self, name: str, yaml_text: str) -> dict[str, Any]:
        """Create or replace an SLO from OpenSLO YAML: ``{name, source, updated_ms, created}``."""
        headers = {"Content-Type": "application/yaml"}
        return self._object("PUT", f"/api/v1/slos/{seg(name)}", content=yaml_text.encode(), headers=headers)

    def delete_slo(self, name: str) -> None:
        self._send("DELETE", f"/api/v1/slos/{seg(name)}")

    def alerts(
        self,
        *,
        state: str | None = None,
        severity: str | None = None,
        labels: Mapping[str, str] | None = None,
        group_by: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Alerts, firing first; every one of ``labels`` must match."""
        labels_ = pairs(labels)
        return self._get(
            "/api/v1/alerts", state=state, severity=severity, label=labels_, group_by=list(group_by)
        )

    def alert(self, fingerprint: str) -> dict[str, Any]:
        return self._get(f"/api/v1/alerts/{seg(fingerprint)}")

    def ack_alert(self, fingerprint: str, *, by: str) -> dict[str, Any]:
        path = f"/api/v1/alerts/{seg(fingerprint)}/ack"
        return self._object("POST", path, json={"by": by})

    def silences(self, *, state: str | None = None) -> dict[str, Any]:
        return self._get("/api/v1/silences", state=state)

    def silence(self, silence_id: str) -> dict[str, Any]:
        return self._get(f"/api/v1/silences/{seg(silence_id)}")

    def create_silence(
        self,
        matchers: Mapping[str, str] | Sequence[Mapping[str, Any]],
        *,
        created_by: str,
        comment: str,
        starts_at: Instant | None = None,
        ends_at: Instant | None = None,
        duration: timedelta | None = None,
    ) -> dict[str, Any]:
        """``{silenceID, silence}``. ``matchers`` as ``{label: value}`` means equality matchers.

        Give ``ends_at`` or ``duration``; a duration counts from ``starts_at`` or from this
        machine's now (the server starts an unset ``startsAt`` at its own now).
        """
        if (ends_at is None) == (duration is None):
            raise ValueError("give exactly one of ends_at and duration")
        if isinstance(matchers, Mapping):
            matchers = [
                {"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()
            ]
        if duration is not None:
            begin = datetime.now(UTC) if starts_at is None else datetime.fromisoformat(rfc3339(starts_at))
            ends_at = begin + duration
        assert ends_at is not None
        body: dict[str, Any] = {
            "matchers": list(matchers),
            "endsAt": rfc3339(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        if starts_at is not None:
            body["startsAt"] = rfc3339(starts_at)
        return self._object("POST", "/api/v1/silences", json=body)

    def expire_silence(self, silence_id: str) -> dict[str, Any]:
        """``DELETE`` expires (ends now, kept); the answer is the silence as it now is."""
        return self._object("DELETE", f"/api/v1/silences/{seg(silence_id)}")

    def alert_rules(self) -> dict[str, Any]:
        return self._get("/api/v1/alert-rules")

    def notifications(
        self,
        *,
        status: str | None = None,
        channel: str | None = None,
        dedup_key: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The outbox, newest first; ``dedup_key`` exactly (one alert's trigger, acknowledge, resolve)."""
        return self._get(
            "/api/v1/notifications", status=status, channel=channel, dedup_key=dedup_key, limit=limit
        )

    def annotations(
        self,
        *,
        service: str | None = None,
        start: int | datetime | None = None,
        end: int | datetime | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Annotations; this endpoint takes epoch milliseconds only, not ISO text."""
        return self._get("/api/v1/annotations", service=service, start=start, end=end, limit=limit)

    def create_annotation(self, annotation: Mapping[str, Any]) -> dict[str, Any]:
        """``{kind, service, summary, version?, time?, links?}`` → the stored annotation."""
        return self._object("POST", "/api/v1/annotations", json=dict(annotation))

    def canary_analyses(self, *, limit: int | None = None) -> dict[str, Any]:
        return self._get("/api/v1/canary/analyses", limit=limit)

    def canary_verdict(self, analysis_id: str) -> dict[str, Any]:
        """``{id, kind, verdict: pass|marginal|fail|running, score, reasons}``."""
        return self._get(f"/api/v1/canary/analyses/{seg(analysis_id)}/verdict")

    def canary_execution(self, execution_id: str) -> dict[str, Any]:
        """Kayenta's ``CanaryExecutionStatusResponse`` for one judgement."""
        return self._get(f"/canary/{seg(execution_id)}")

    def standalone_analysis(self, analysis_id: str) -> dict[str, Any]:
        """Kayenta's ``CanaryAnalysisExecutionStatusResponse``."""
        return self._get(f"/standalone_canary_analysis/{seg(analysis_id)}")

    def start_standalone_analysis(
        self,
        body: Mapping[str, Any],
        *,
        config_id: str | None = None,
        application: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """``{canaryConfig, executionRequest}`` (or only the request, with a stored ``config_id``)."""
        path = "/standalone_canary_analysis" + ("" if config_id is None else f"/{seg(config_id)}")
        params = query_params(application=application, user=user)
        return self._object("POST", path, json=dict(body), params=params)

    def canary_configs(self, *, application: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Stored canary configs' ``{id, name, updatedTimestamp, …, applications}`` (a JSON list)."""
        return self._get_list("/canaryConfig", application=list(application))

    def canary_config(self, config_id: str) -> dict[str, Any]:
        return self._get(f"/canaryConfig/{seg(config_id)}")
