"""A client of the Prometheus HTTP API (``/api/v1/…``) as Prometheus, VictoriaMetrics, Thanos, Mimir serve it.

The few calls a metrics backend needs: ``query_range`` and ``query`` (PromQL), ``series``,
``labels`` and ``label/<name>/values`` (selection), ``metadata`` (family types), ``rules``
(to find recording rules).
Queries go as form-encoded POSTs, which every engine accepts, so long PromQL never meets a
URL limit. Sample values arrive as strings (``"NaN"``, ``"+Inf"`` included) and are parsed to
floats; times are Unix seconds as the API uses them.

An answer ``{"status": "error", "errorType", "error"}`` raises :class:`PrometheusError` with
the engine's own type and message; no answer at all raises it with ``error_type``
``unreachable``. Warnings (``"warnings"``, e.g. a partial answer from Thanos) are kept on
the result. A bearer token or other headers (from the environment, never logged) go on
every request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from store.interfaces import BackendError

__all__ = ["InstantSample", "PrometheusError", "PrometheusHTTP", "RangeSeries", "Result"]


class PrometheusError(BackendError):
    """The engine refused or failed a call (``error_type`` as the API names it), or did not answer."""

    def __init__(self, error_type: str, message: str, status: int | None = None) -> None:
        super().__init__(f"Prometheus {error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.status = status
        # Bad PromQL: 400 bad_data (Prometheus), 422 (VictoriaMetrics).
        self.client_error = status in (400, 422)


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query: its labels (``__name__`` when kept) and (time s, value) points."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class InstantSample:
    labels: Mapping[str, str]
    time_s: float
    value: float


@dataclass(frozen=True)
class Result:
    """A query's answer: ``series`` for a matrix, ``samples`` for a vector or scalar."""

    series: tuple[RangeSeries, ...] = ()
    samples: tuple[InstantSample, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def _value(text: Any) -> float:
    return float(text)  # the API writes "NaN", "+Inf", "-Inf", which float() reads


class PrometheusHTTP:
    """``PrometheusHTTP("http://prometheus:9090", headers={"Authorization": …})``; ``close()`` when done."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers=dict(headers or {}), transport=transport
        )

    def __repr__(self) -> str:  # headers may hold a token: never shown
        return f"PrometheusHTTP({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def _unreachable(self, error: httpx.HTTPError) -> PrometheusError:
        return PrometheusError("unreachable", f"{self.base_url}: {type(error).__name__}: {error}")

    def _call(self, path: str, form: Sequence[tuple[str, str]]) -> tuple[Any, tuple[str, ...]]:
        try:
            answer = self._http.post(f"/api/v1/{path}", data=dict(_group(form)))
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None
        return _answer(answer)

    def _get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        """A GET-only endpoint's ``data``; None when the engine does not serve it (404)."""
        try:
            answer = self._http.get(f"/api/v1/{path}", params=tuple(params))
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None
        if answer.status_code == 404:  # e.g. VictoriaMetrics alone: no rules, no metadata
            return None
        return _answer(answer)[0]

    def query_range(self, promql: str, start_s: float, end_s: float, step_s: float) -> Result:
        data, warnings = self._call(
            "query_range",
            [("query", promql), ("start", _time(start_s)), ("end", _time(end_s)), ("step", _time(step_s))],
        )
        return Result(series=_matrix(data), warnings=warnings)

    def query(self, promql: str, time_s: float) -> Result:
        data, warnings = self._call("query", [("query", promql), ("time", _time(time_s))])
        if data.get("resultType") == "matrix":
            return Result(series=_matrix(data), warnings=warnings)
        if data.get("resultType") == "scalar":
            time_s, value = data["result"]
            return Result(samples=(InstantSample({}, float(time_s), _value(value)),), warnings=warnings)
        samples = tuple(
            InstantSample(dict(item["metric"]), float(item["value"][0]), _value(item["value"][1]))
            for item in data["result"]
        )
        return Result(samples=samples, warnings=warnings)

    def series(self, matchers: Sequence[str], start_s: float, end_s: float) -> list[dict[str, str]]:
        """The label sets of every series a selector matches in the range."""
        form = [("match[]", m) for m in matchers] + [("start", _time(start_s)), ("end", _time(end_s))]
        data, _ = self._call("series", form)
        return [dict(labels) for labels in data]

    def labels(
        self, matchers: Sequence[str] = (), start_s: float | None = None, end_s: float | None = None
    ) -> list[str]:
        data, _ = self._call("labels", [("match[]", m) for m in matchers] + _bounds(start_s, end_s))
        return sorted(data)

    def label_values(
        self,
        name: str,
        matchers: Sequence[str] = (),
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> list[str]:
        # GET only in the API.
        data = self._get(f"label/{name}/values", [("match[]", m) for m in matchers] + _bounds(start_s, end_s))
        return sorted(data or [])

    def metadata(self) -> dict[str, str]:
        """Metric family name → its declared type (``counter``, ``histogram``…); ``{}`` when none is kept."""
        data = self._get("metadata") or {}
        return {family: str(entries[0].get("type", "unknown")) for family, entries in data.items() if entries}

    def recording_rules(self) -> dict[str, str]:
        """Recorded series name → its PromQL, for every recording rule the engine evaluates."""
        return {name: query for name, _, query in self.recording_rule_labels()}

    def recording_rule_labels(self) -> list[tuple[str, dict[str, str], str]]:
        """``(name, labels, query)`` of every recording rule, in the engine's order; ``[]`` without rules.

        Unlike :meth:`recording_rules`, rules recording the same name with other labels (one per
        SLO in Sloth's layout) are all kept. ``query`` is the engine's own printing of the PromQL.
        """
        data = self._get("rules", [("type", "record")]) or {}
        return [
            (
                str(rule["name"]),
                {str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                str(rule["query"]),
            )
            for group in data.get("groups", [])
            for rule in group.get("rules", [])
            if rule.get("type") == "recording"
        ]


def _answer(answer: httpx.Response) -> tuple[Any, tuple[str, ...]]:
    """``(data, warnings)`` of a successful answer; a :class:`PrometheusError` with the engine's type else."""
    try:
        body = answer.json()
    except ValueError:
        raise PrometheusError(
            "bad_response", f"HTTP {answer.status_code}: {answer.text[:200]}", answer.status_code
        ) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error_type = str(body.get("errorType", "error")) if isinstance(body, dict) else "bad_response"
        message = str(body.get("error", answer.text[:200])) if isinstance(body, dict) else answer.text[:200]
        raise PrometheusError(error_type, message, answer.status_code)
    return body.get("data"), tuple(str(w) for w in body.get("warnings") or ())


def _time(seconds: float) -> str:
    return format(seconds, ".3f")


def _bounds(start_s: float | None, end_s: float | None) -> list[tuple[str, str]]:
    found = []
    if start_s is not None:
        found.append(("start", _time(start_s)))
    if end_s is not None:
        found.append(("end", _time(end_s)))
    return found


def _group(form: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Form pairs as httpx's ``data``: a repeated key (``match[]``) becomes a list."""
    grouped: dict[str, str | list[str]] = {}
    for key, value in form:
        if key in grouped:
            previous = grouped[key]
            grouped[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            grouped[key] = value
    return grouped


def _matrix(data: Mapping[str, Any]) -> tuple[RangeSeries, ...]:
    return tuple(
        RangeSeries(dict(item["metric"]), tuple((float(t), _value(v)) for t, v in item["values"]))
        for item in data["result"]
    )
