"""The Service page's figures: RED series from span metrics, deploy and canary marks, top operations.

The charts read the span-derived series (``collectors/span_metrics.py``: ``span.calls``,
``span.duration`` with ``statistic=percentile`` and ``le`` buckets, tagged ``nf.app``,
``nf.cluster``, ``span.name``, ``span.kind``, ``status.code``) of spans that serve work —
kind ``server`` or ``consumer``, as ``/api/v1/red`` counts them — through the Atlas graph
API. Error % is computed here from the calls and error-calls answers rather than with
``:div``: a grouped ``:div`` joins on the cluster and would drop every cluster that never
failed, which is exactly the one a person compares against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from stacklang.tokens import escape

SERVING = "span.kind,(,server,consumer,),:in"
PERCENTILES = (50, 95, 99)


def scope(service: str, cluster: str = "") -> str:
    """The query clause of the serving spans of ``service`` (and one cluster when given)."""
    clause = f"nf.app,{escape(service)},:eq,{SERVING},:and"
    return clause + (f",nf.cluster,{escape(cluster)},:eq,:and" if cluster else "")


def queries(service: str, cluster: str = "", split: bool = False) -> dict[str, str]:
    """The graph expressions behind the charts: calls/s, error calls/s, latency percentiles in ms."""
    where = scope(service, cluster)
    group = ",(,nf.cluster,),:by" if split else ",:sum"
    pcts = ",".join(str(p) for p in PERCENTILES)
    return {
        "calls": f"name,span.calls,:eq,{where},:and{group}",
        "errors": f"name,span.calls,:eq,{where},:and,status.code,error,:eq,:and{group}",
        "latency": (
            f"name,span.duration,:eq,statistic,percentile,:eq,:and,{where},:and"
            f"{',(,nf.cluster,),:by' if split else ''},(,{pcts},),:percentiles,1000,:mul"
        ),
    }


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _name(metric: Mapping[str, Any], fallback: str) -> str:
    return str(metric.get("nf.cluster") or fallback)


def rate_answer(calls: Mapping[str, Any], fallback: str) -> dict[str, Any]:
    """Calls per second, one column per cluster (or ``fallback``); no spans in a step is 0.

    Span metrics write no point for a step without spans, so between the first and last
    step that has data a gap means zero calls; after the last (not yet flushed) it stays a gap.
    """
    rows = calls["values"]
    filled = [i for i, row in enumerate(rows) if any(_number(v) is not None for v in row)]
    first, last = (filled[0], filled[-1]) if filled else (0, -1)
    values = [
        [(_number(v) or 0.0) if first <= i <= last else None for v in row] for i, row in enumerate(rows)
    ]
    legend = [_name(m, fallback) for m in calls["metrics"]]
    return {**calls, "legend": legend, "values": values}


def error_answer(calls: Mapping[str, Any], errors: Mapping[str, Any], fallback: str) -> dict[str, Any]:
    """Error % per step and cluster: error calls ÷ calls × 100; no calls in a step is a gap."""
    names = [_name(m, fallback) for m in calls["metrics"]]
    error_cols = {_name(m, fallback): i for i, m in enumerate(errors["metrics"])}
    values = []
    for i, row in enumerate(calls["values"]):
        error_row = errors["values"][i] if i < len(errors["values"]) else []
        out: list[float | None] = []
        for name, value in zip(names, row, strict=True):
            total = _number(value)
            col = error_cols.get(name)
            failed = _number(error_row[col]) if col is not None and col < len(error_row) else None
            out.append(None if not total else (failed or 0.0) / total * 100)
        values.append(out)
    return {**calls, "legend": names, "values": values}


def latency_answer(latency: Mapping[str, Any], split: bool) -> dict[str, Any]:
    """The percentile series relabelled ``p50`` … (``<cluster> p95`` when split by cluster)."""
    legend = []
    for metric in latency["metrics"]:
        pct = f"p{float(str(metric.get('percentile', 'nan')).strip()):g}"
        legend.append(f"{metric.get('nf.cluster', '')} {pct}" if split else pct)
    return {**latency, "legend": legend}


def show_lonely_points(figure: go.Figure) -> go.Figure:
    """Markers on series with a value between two gaps, which a line alone would not draw."""
    for trace in figure.data:
        ys = list(trace.y or [])
        lonely = any(
            y is not None and (i == 0 or ys[i - 1] is None) and (i == len(ys) - 1 or ys[i + 1] is None)
            for i, y in enumerate(ys)
        )
        if lonely:
            trace.update(mode="lines+markers", marker={"size": 4})
    return figure


def operation_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Top operations by impact (mean latency × rate: milliseconds spent per second), highest first."""
    # Rows without an impact (no duration recorded) go last.
    ordered = sorted(
        rows, key=lambda r: -1.0 if r.get("impact") is None else float(r["impact"]), reverse=True
    )
    return [
        {
            "operation": str(r["operation"]),
            "impact ms/s": r.get("impact"),
            "req/s": r.get("rate_per_s"),
            "requests": r.get("requests"),
            "error %": r.get("error_pct"),
            "mean ms": r.get("mean_ms"),
            "p50 ms": r.get("p50_ms"),
            "p95 ms": r.get("p95_ms"),
            "p99 ms": r.get("p99_ms"),
        }
        for r in ordered
    ]


def headline(rows: Sequence[Mapping[str, Any]], cluster: str) -> Mapping[str, Any] | None:
    """The ``/api/v1/red`` row of the chosen cluster (``by=cluster``) or the service (``by=service``)."""
    for row in rows:
        if not cluster or row.get("cluster") == cluster:
            return row
    return None


def options(current: str, known: Iterable[str]) -> list[str]:
    """Choices for a picker: ``""`` (none chosen), the known names, and the current one if unknown."""
    names = sorted({n for n in known if n})
    return ["", *names] if not current or current in names else ["", current, *names]
