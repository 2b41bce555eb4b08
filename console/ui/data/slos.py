"""The SLOs page's figures: the list, an SLO's SLI over time with breaches, its burn-down, burn rates, alerts.

Every figure is the API's (``/api/v1/slos``, ``/api/v1/slos/{name}``, ``/api/v1/alerts``)
except the SLI over time, which the SLO answer does not carry: it is read from the
indicator's own Atlas queries (``/definition``) through the graph API, one ratio per step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import yaml

from console.ui.charts import add_marks, layout

BREACH_COLOUR = "#d32f2f"
_OPS = {"lt": float.__lt__, "lte": float.__le__, "gt": float.__gt__, "gte": float.__ge__}


def _pct(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value) * 100, digits)


def duration_text(ms: int | None) -> str:
    """``2d 3h``, ``45m``, ``30s``: the two largest units."""
    if ms is None:
        return ""
    parts, left = [], int(ms) // 1000
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:2]) or "0s"


def exhaustion_text(slo: Mapping[str, Any]) -> str:
    """When the budget runs out at the current burn rate: ``exhausted``, a duration, or blank."""
    ms = slo.get("time_to_exhaustion_ms")
    remaining = slo.get("budget_remaining")
    if remaining is not None and remaining <= 0:
        return "exhausted"
    return "" if ms is None else duration_text(ms)


def list_rows(slos: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per SLO in the API's order (least budget remaining first)."""
    return [
        {
            "SLO": slo["name"],
            "service": slo.get("service") or "",
            "state": slo["state"],
            "SLI %": _pct(slo.get("sli"), 3),
            "target %": _pct(slo.get("target"), 3),
            "budget left %": _pct(slo.get("budget_remaining"), 2),
            "burn rate": None if slo.get("current_burn_rate") is None else round(slo["current_burn_rate"], 2),
            "exhausted in": exhaustion_text(slo),
            "alerting": ", ".join(slo.get("firing") or []),
            "window": (slo.get("window") or {}).get("duration", ""),
        }
        for slo in slos
    ]


def burn_rate_rows(objective: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every window pair: both burn rates against the threshold, its severity, and whether it fires."""
    rows = []
    for tier in objective.get("burn_rates", []):
        long_rate, short_rate = tier.get("long_burn_rate"), tier.get("short_burn_rate")
        if tier.get("firing"):
            state = "firing"
        elif long_rate is None or short_rate is None:
            state = "no data"
        elif tier.get("guarded"):
            state = "guarded: too few events"
        else:
            state = "ok"
        rows.append(
            {
                "severity": tier["severity"],
                "windows": f"{tier['long']} / {tier['short']}",
                "long burn rate": long_rate,
                "short burn rate": short_rate,
                "threshold": tier.get("threshold"),
                "budget % to fire": tier.get("budget_percent"),
                "events (long)": tier.get("long_events"),
                "state": state,
                "firing": bool(tier.get("firing")),
            }
        )
    return rows


@dataclass(frozen=True)
class Indicator:
    """An SLI's Atlas queries: ``ratio`` (good or bad, and total) or ``threshold`` (one metric)."""

    kind: str
    total: str = ""
    good: str = ""
    bad: str = ""
    metric: str = ""


def _atlas_query(holder: Any) -> str | None:
    source = holder.get("metricSource") if isinstance(holder, Mapping) else None
    if not isinstance(source, Mapping) or source.get("type") != "atlas":
        return None
    query = (source.get("spec") or {}).get("query")
    return query if isinstance(query, str) and query else None


def indicator_of(definition: str, name: str) -> Indicator | str:
    """The SLO's indicator from its OpenSLO text, or why its SLI cannot be drawn from Atlas queries."""
    try:
        documents = [d for d in yaml.safe_load_all(definition) if isinstance(d, Mapping)]
    except yaml.YAMLError:
        return "its definition is not readable YAML"
    slo = next(
        (d for d in documents if d.get("kind") == "SLO" and (d.get("metadata") or {}).get("name") == name),
        None,
    )
    spec = (slo or {}).get("spec") or {}
    sli: Any = spec.get("indicator")
    if sli is None and "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        sli = next(
            (d for d in documents if d.get("kind") == "SLI" and (d.get("metadata") or {}).get("name") == ref),
            None,
        )
    sli_spec = (sli.get("spec") or {}) if isinstance(sli, Mapping) else {}
    if "ratioMetric" in sli_spec:
        ratio = sli_spec["ratioMetric"] or {}
        total, good, bad = (_atlas_query(ratio.get(k)) for k in ("total", "good", "bad"))
        if total and (good or bad):
            return Indicator("ratio", total=total, good=good or "", bad=bad or "")
    elif "thresholdMetric" in sli_spec:
        metric = _atlas_query(sli_spec["thresholdMetric"])
        if metric:
            return Indicator("threshold", metric=metric)
    return "its indicator has no Atlas queries"


def _column_sums(answer: Mapping[str, Any]) -> dict[int, float | None]:
    """Step time → the sum of the answer's series (None when all are gaps)."""
    start, step = int(answer["start"]), int(answer["step"])
    found: dict[int, float | None] = {}
    for i, row in enumerate(answer["values"]):
        numbers = [float(v) for v in row if isinstance(v, int | float) and math.isfinite(v)]
        found[start + i * step] = sum(numbers) if numbers else None
    return found


def sli_points(
    indicator: Indicator, answers: Mapping[str, Mapping[str, Any]]
) -> list[tuple[int, float | None]]:
    """(time, SLI) per step: good ÷ total or 1 − bad ÷ total; a threshold SLI is its metric.

    A step without events is a gap; in a step with events a missing good or bad series means
    none of them (span metrics write no zero points).
    """
    if indicator.kind == "threshold":
        return sorted(_column_sums(answers["metric"]).items())
    totals = _column_sums(answers["total"])
    part = _column_sums(answers["good" if indicator.good else "bad"])
    points: list[tuple[int, float | None]] = []
    for at, total in sorted(totals.items()):
        if not total:
            points.append((at, None))
            continue
        share = (part.get(at) or 0.0) / total
        points.append((at, share if indicator.good else 1.0 - share))
    return points


def meets(value: float, objective: Mapping[str, Any], kind: str) -> bool:
    """Whether one step's SLI meets the objective: ≥ target for a ratio, ``op value`` for a threshold."""
    if kind == "threshold" and objective.get("op") in _OPS and objective.get("value") is not None:
        return bool(_OPS[objective["op"]](float(value), float(objective["value"])))
    return value >= float(objective["target"])


def breaches(
    points: Sequence[tuple[int, float | None]], objective: Mapping[str, Any], kind: str, step_ms: int
) -> list[tuple[int, int]]:
    """Spans ``(from, to)`` of consecutive steps whose SLI misses the objective (a step ends at its time)."""
    spans: list[tuple[int, int]] = []
    for at, value in points:
        if value is None or meets(value, objective, kind):
            continue
        if spans and spans[-1][1] == at - step_ms:
            spans[-1] = (spans[-1][0], at)
        else:
            spans.append((at - step_ms, at))
    return spans


def _time(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def sli_figure(
    points: Sequence[tuple[int, float | None]],
    objective: Mapping[str, Any],
    kind: str,
    step_ms: int,
    marks: Sequence[Mapping[str, Any]] = (),
) -> go.Figure:
    """The SLI per step with the objective as a line and the steps that miss it shaded."""
    ratio = kind == "ratio"
    scale = 100.0 if ratio else 1.0
    figure = go.Figure(
        go.Scatter(
            x=[_time(at) for at, _ in points],
            y=[None if v is None else v * scale for _, v in points],
            name="SLI",
            mode="lines+markers",
            marker={"size": 3},
            connectgaps=False,
        )
    )
    line = float(objective["target"]) * 100 if ratio else objective.get("value")
    if line is not None:
        figure.add_hline(
            y=float(line), line_dash="dash", line_color=BREACH_COLOUR, annotation_text="objective"
        )
    for begin, end in breaches(points, objective, kind, step_ms):
        figure.add_vrect(x0=_time(begin), x1=_time(end), fillcolor=BREACH_COLOUR, opacity=0.15, line_width=0)
    add_marks(figure, marks)
    layout(figure, title="SLI per step" + (" (%)" if ratio else ""), unit="%" if ratio else "")
    figure.update_yaxes(rangemode="normal")  # 99.9 against 100 must stay readable
    return figure


def burn_down_figure(objective: Mapping[str, Any], window: Mapping[str, Any]) -> go.Figure:
    """Error budget left (% of the period's budget) over the period, beside spending it evenly."""
    points = (objective.get("burn_down") or {}).get("points") or []
    figure = go.Figure(
        go.Scatter(
            x=[_time(at) for at, _ in points],
            y=[None if v is None else v * 100 for _, v in points],
            name="budget left",
            mode="lines",
        )
    )
    start, end = window.get("start_ms"), window.get("end_ms")
    if start is not None and end is not None:
        figure.add_trace(
            go.Scatter(
                x=[_time(start), _time(end)], y=[100, 0], name="spent evenly", mode="lines", line_dash="dot"
            )
        )
    figure.add_hline(y=0, line_color=BREACH_COLOUR, line_width=1)
    return layout(figure, title="Error budget left over the period (%)", unit="%")


def alert_rows(alerts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The SLO's burn-rate alerts (labelled ``slo``, ``severity``, ``window``), firing first."""
    return [
        {
            "state": a.get("state"),
            "severity": a.get("severity"),
            "window": (a.get("labels") or {}).get("window", ""),
            "since": _ms_time(a.get("active_since_ms")),
            "resolved": _ms_time(a.get("resolved_ms")),
            "acknowledged by": a.get("acknowledged_by") or "",
            "burn rate": a.get("value"),
            "summary": (a.get("annotations") or {}).get("summary", ""),
            "fingerprint": a.get("fingerprint"),
        }
        for a in alerts
    ]


def history_rows(details: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every state change of the given alerts (``/api/v1/alerts/{fingerprint}``), newest first."""
    rows = [
        {
            "time": _ms_time(change.get("ts_ms")),
            "transition": change.get("transition"),
            "severity": detail.get("severity"),
            "window": (detail.get("labels") or {}).get("window", ""),
            "burn rate": change.get("value"),
            "fingerprint": detail.get("fingerprint"),
        }
        for detail in details
        for change in detail.get("history") or []
    ]
    rows.sort(key=lambda r: r["time"] or _time(0), reverse=True)
    return rows


def _ms_time(ms: Any) -> datetime | None:
    return _time(ms) if isinstance(ms, int | float) and ms else None
