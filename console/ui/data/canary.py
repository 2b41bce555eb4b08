"""The Canary page's figures: analyses, judgements, per-metric verdicts and control-vs-experiment series.

Everything comes from Kayenta's answers as the server sends them: ``GET
/api/v1/canary/analyses`` for the list, ``GET /standalone_canary_analysis/{id}`` (every
judgement's ``result.judgeResult`` once complete) or ``GET /canary/{id}`` (one judgement)
for an analysis. Kayenta's answers carry statistics, not the series judged, so the charts
read each metric again through ``/api/v1/graph`` with the query scoped the way the judge
scoped it (``expr,:list,(,nf.cluster,<scope>,:eq,:cq,),:each``) over the judgement's window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from stacklang.tokens import escape

VERDICT_COLOURS = {"pass": "#2e7d32", "marginal": "#f9a825", "fail": "#d32f2f", "running": "#757575"}
# Kayenta's scope types (``extendedScopeParams.type``) and the tag each selects by.
SCOPE_TYPES = {"app": "nf.app", "cluster": "nf.cluster", "asg": "nf.asg", "node": "nf.node",
               "stack": "nf.stack", "zone": "nf.zone", "region": "nf.region"}  # fmt: skip
MINUTE_MS = 60_000


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def analysis_rows(analyses: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per analysis (the server's order: newest first)."""
    return [
        {
            "created": datetime.fromtimestamp(a["createdMs"] / 1000, tz=UTC),
            "config": a.get("configName") or "",
            "application": a.get("application") or "",
            "verdict": a.get("verdict") or "running",
            "score": a.get("score"),
            "status": a.get("status") or "",
            "kind": a.get("kind") or "",
            "id": a["id"],
            "reasons": "; ".join(a.get("reasons") or []),
        }
        for a in analyses
    ]


def judgements(kind: str, answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each judgement that ran: ``{execution_id, status, start_ms, end_ms, judge_result, warnings}``.

    ``answer`` is the standalone status (kind ``standalone``) or the execution status
    (kind ``canary``); the window is the first scope's control window, as Kayenta reports it.
    """
    if kind != "standalone":
        scopes: Mapping[str, Any] = answer.get("canaryExecutionRequest", {}).get("scopes", {})
        scope: Mapping[str, Any] = next(iter(scopes.values()), {})
        control = scope.get("controlScope", {})
        result = answer.get("result")
        return [
            {
                "execution_id": answer.get("pipelineId", ""),
                "status": str(answer.get("status", "")).upper(),
                "start_ms": _ms(control.get("start")),
                "end_ms": _ms(control.get("end")),
                "judge_result": None if result is None else result.get("judgeResult"),
                "warnings": [],
            }
        ]
    ran = answer.get("canaryAnalysisExecutionResult", {}).get("canaryExecutionResults", [])
    return [
        {
            "execution_id": j["executionId"],
            "status": j.get("executionStatus", ""),
            "start_ms": j.get("judgementStartTimeMillis"),
            "end_ms": j.get("judgementEndTimeMillis"),
            "judge_result": (j.get("result") or {}).get("judgeResult"),
            "warnings": list(j.get("warnings", [])),
        }
        for j in ran
    ]


def judgement_rows(found: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for n, j in enumerate(found, 1):
        score = (j.get("judge_result") or {}).get("score", {})
        rows.append(
            {
                "judgement": n,
                "from": None if j["start_ms"] is None else datetime.fromtimestamp(j["start_ms"] / 1000, UTC),
                "to": None if j["end_ms"] is None else datetime.fromtimestamp(j["end_ms"] / 1000, UTC),
                "status": j["status"],
                "score": score.get("score"),
                "classification": score.get("classification", ""),
                "reason": score.get("classificationReason", ""),
            }
        )
    return rows


def group_rows(judge_result: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"group": g["name"], "score": g["score"], "no data": bool(g.get("noData"))}
        for g in judge_result.get("groupScores", [])
    ]


def metric_rows(judge_result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per metric: Kayenta's classification and reason, the effect and its interval, both sides' stats."""
    rows = []
    for r in judge_result.get("results", []):
        meta = r.get("resultMetadata", {})
        control = r.get("controlMetadata", {}).get("stats", {})
        experiment = r.get("experimentMetadata", {}).get("stats", {})
        rows.append(
            {
                "metric": r["name"],
                "classification": r["classification"],
                "reason": r.get("classificationReason") or "",
                "critical": bool(r.get("critical")),
                "muted": bool(r.get("muted")),
                "groups": ", ".join(r.get("groups", [])),
                "ratio": meta.get("ratio"),
                "estimate": meta.get("estimate"),
                "CI low": meta.get("lower"),
                "CI high": meta.get("upper"),
                "p-value": meta.get("p_value"),
                "control mean": control.get("mean"),
                "experiment mean": experiment.get("mean"),
                "control std": control.get("std"),
                "experiment std": experiment.get("std"),
                "control n": control.get("count"),
                "experiment n": experiment.get("count"),
                "warnings": "; ".join(r.get("warnings", [])),
            }
        )
    return rows


def scope_pairs(kind: str, answer: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per scope name: ``{control, experiment, key, offset_ms}`` from the analysis's request."""
    found: dict[str, dict[str, Any]] = {}
    if kind != "standalone":
        for name, pair in answer.get("canaryExecutionRequest", {}).get("scopes", {}).items():
            control, experiment = pair["controlScope"], pair["experimentScope"]
            found[name] = {
                "control": control["scope"],
                "experiment": experiment["scope"],
                "key": scope_key(control.get("extendedScopeParams")),
                "offset_ms": (_ms(experiment["start"]) or 0) - (_ms(control["start"]) or 0),
            }
        return found
    for scope in answer.get("canaryAnalysisExecutionRequest", {}).get("scopes", []):
        found[scope.get("scopeName", "default")] = {
            "control": scope["controlScope"],
            "experiment": scope["experimentScope"],
            "key": scope_key(scope.get("extendedScopeParams")),
            "offset_ms": round(float(scope.get("controlOffsetInMinutes") or 0) * MINUTE_MS),
        }
    return found


def scope_key(params: Mapping[str, Any] | None) -> str:
    """The tag a scope selects by (``canary/scopes.py``'s rule)."""
    params = params or {}
    if params.get("tagKey"):
        return str(params["tagKey"])
    return SCOPE_TYPES.get(str(params.get("type", "cluster")), "nf.cluster")


def metric_expression(query: Mapping[str, Any]) -> str | None:
    """The stack-language expression a metric's query means; None for log-line metrics.

    Spans queries are read from the span-derived RED series exactly as
    ``canary.metric_source.spans_expression`` reads them (a test holds the two together).
    """
    kind = query.get("type")
    if kind == "atlas":
        return str(query["q"])
    if kind != "spans":
        return None
    where = f"nf.app,{escape(str(query['service']))},:eq"
    if query.get("operation") is not None:
        where += f",span.name,{escape(str(query['operation']))},:eq,:and"
    else:
        where += ",span.kind,server,:eq,:and"
    if query.get("statistic") == "errorRate":
        calls = f"name,span.calls,:eq,{where},:and"
        return f"{calls},status.code,error,:eq,:and,:sum,0,:add,{calls},:sum,:div"
    durations = f"name,span.duration,:eq,{where},:and"
    if query.get("statistic") == "mean":
        return f"{durations},:dist-avg"
    return f"{durations},(,{str(query['statistic'])[1:]},),:percentiles"


def scoped(expression: str, key: str, scope: str) -> str:
    """``expression`` limited to one scope, as Kayenta's Atlas source (and the judge) limits it."""
    return f"{expression},:list,(,{escape(key)},{escape(scope)},:eq,:cq,),:each"


def comparison(
    control: Mapping[str, Any], experiment: Mapping[str, Any], control_scope: str, experiment_scope: str
) -> dict[str, Any]:
    """Two graph answers as one, on the experiment's time axis; the control's legends say so.

    With a control offset the control's window is earlier: its points are laid over the
    experiment's step by step, as Kayenta compares them.
    """
    rows = max(len(control["values"]), len(experiment["values"]))
    width_c, width_e = len(control["legend"]), len(experiment["legend"])

    def row(answer: Mapping[str, Any], i: int, width: int) -> list[Any]:
        return list(answer["values"][i]) if i < len(answer["values"]) else ["NaN"] * width

    return {
        "start": experiment["start"],
        "step": experiment["step"],
        "legend": [f"control {control_scope}: {x}" for x in control["legend"]]
        + [f"experiment {experiment_scope}: {x}" for x in experiment["legend"]],
        "values": [row(control, i, width_c) + row(experiment, i, width_e) for i in range(rows)],
    }


# The start form's fields by the request path the server names in a 400 (Kayenta's field names).
FORM_LABELS = (
    (".controlScope", "Baseline cluster"),
    (".experimentScope", "Canary cluster"),
    (".startTimeIso", "Start"),
    (".step", "Step"),
    (".lifetimeDurationMins", "Lifetime"),
    (".analysisIntervalMins", "Interval"),
    (".beginAfterMins", "Begin after"),
    (".lookbackMins", "Lookback"),
    (".thresholds.pass", "Pass threshold"),
    (".thresholds.marginal", "Marginal threshold"),
    (".thresholds", "Thresholds"),
)


def form_label(field: str) -> str:
    """The form field a server problem is about, or the server's field path when none fits."""
    for suffix, label in FORM_LABELS:
        if field.endswith(suffix):
            return f"{label} ({field})"
    return field


DEFAULT_THRESHOLDS = (75.0, 50.0)  # Kayenta's customary pass/marginal, for a config that names none


def config_thresholds(config: Mapping[str, Any] | None) -> tuple[float, float]:
    """(pass, marginal) from the config's ``classifier.scoreThresholds``; 75/50 for one it lacks
    or (never from a config the server checked) one outside the form's 0 to 100."""
    classifier = (config or {}).get("classifier")
    found = classifier.get("scoreThresholds") if isinstance(classifier, Mapping) else None

    def score(name: str, default: float) -> float:
        value = found.get(name) if isinstance(found, Mapping) else None
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100
        return float(value) if ok and value is not None else default

    return score("pass", DEFAULT_THRESHOLDS[0]), score("marginal", DEFAULT_THRESHOLDS[1])


def scope_names(config: Mapping[str, Any]) -> list[str]:
    """Every ``scopeName`` the config's metrics use: the request needs a scope for each."""
    names = dict.fromkeys(str(m.get("scopeName") or "default") for m in config.get("metrics", []))
    return list(names) or ["default"]


def start_request(
    names: Iterable[str],
    *,
    baseline: str,
    canary: str,
    start_ms: int | None,
    lifetime_min: float,
    interval_min: float,
    begin_after_min: float,
    lookback_min: float,
    step_s: float,
    pass_score: float,
    marginal_score: float,
) -> dict[str, Any]:
    """A standalone execution request (Kayenta's ``CanaryAnalysisExecutionRequest``); 0 leaves a value out."""
    scopes = []
    for name in names:
        scope: dict[str, Any] = {"scopeName": name, "controlScope": baseline, "experimentScope": canary}
        if start_ms is not None:
            scope["startTimeIso"] = (
                datetime.fromtimestamp(start_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
            )
        if step_s:
            scope["step"] = step_s
        scopes.append(scope)
    request: dict[str, Any] = {
        "scopes": scopes,
        "lifetimeDurationMins": lifetime_min,
        "thresholds": {"pass": pass_score, "marginal": marginal_score},
    }
    for key, value in (("analysisIntervalMins", interval_min), ("beginAfterMins", begin_after_min),
                       ("lookbackMins", lookback_min)):  # fmt: skip
        if value:
            request[key] = value
    return request
