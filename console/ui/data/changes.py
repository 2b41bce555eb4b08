"""What changed near a moment: deploys and other annotations, and canary analyses, per service.

The last hop of an investigation — from the slow trace or its log lines back to the deploy
or canary that explains the change — needs the changes of the services involved, newest
first, and the latest one before the moment looked at. Annotations come from
``GET /api/v1/annotations`` and analyses from ``GET /api/v1/canary/analyses`` as sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

HOUR_MS = 3_600_000
LOOKBACK_MS = 24 * HOUR_MS  # how far before a trace or a log line a change is still "near"
SLACK_MS = 60_000  # a change stamped just after the moment (clocks, a rollout in progress) still counts
CONTEXT_MS = 30 * 60_000  # the range a change opens on: half an hour either side


def analysis_names(analysis: Mapping[str, Any], service: str) -> bool:
    """Whether a canary analysis is about ``service``: its config's applications, else its scopes'
    clusters (``drm-v1`` is drm's), else the application it was started for."""
    applications = analysis.get("applications") or []
    if applications:
        return service in applications
    for pair in (analysis.get("scopes") or {}).values():
        if any(str(pair.get(side, "")).startswith(f"{service}-") for side in ("control", "experiment")):
            return True
    return analysis.get("application") == service


def _scopes_text(analysis: Mapping[str, Any]) -> str:
    pairs = (analysis.get("scopes") or {}).values()
    return ", ".join(f"{p.get('experiment')} against {p.get('control')}" for p in pairs)


def _named(annotations: Iterable[Mapping[str, Any]], analyses: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every service the changes name: annotations' services, analyses' applications."""
    names = {str(a["service"]) for a in annotations if a.get("service")}
    for analysis in analyses:
        names.update(str(x) for x in analysis.get("applications") or [analysis.get("application")] if x)
    return names


def change_rows(
    annotations: Iterable[Mapping[str, Any]],
    analyses: Iterable[Mapping[str, Any]],
    services: Iterable[str] | None,
    start_ms: int,
    end_ms: int,
) -> list[dict[str, Any]]:
    """Annotations and canary analyses of ``services`` (None: of every service they name) in
    ``[start_ms, end_ms]``, newest first.

    Each row: ``time_ms``, ``kind`` (the annotation's, or ``canary``), ``service``, ``what``
    (version and summary, or verdict and scopes), ``version`` (the version, or the verdict: what
    a chart mark says beside its kind) and ``analysis`` (the analysis id, or "")."""
    annotations, analyses = list(annotations), list(analyses)
    wanted = set(services) if services is not None else _named(annotations, analyses)
    rows: list[dict[str, Any]] = []
    for note in annotations:
        if note.get("service") in wanted and start_ms <= int(note["time_ms"]) <= end_ms:
            version = str(note.get("version") or "")
            summary = str(note.get("summary") or "")
            rows.append(
                {
                    "time_ms": int(note["time_ms"]),
                    "kind": str(note.get("kind") or "note"),
                    "service": str(note["service"]),
                    "what": f"{version}: {summary}" if version else summary,
                    "version": version,
                    "analysis": "",
                }
            )
    for analysis in analyses:
        created = analysis.get("createdMs")
        if not isinstance(created, int) or not start_ms <= created <= end_ms:
            continue
        verdict = str(analysis.get("verdict") or "running")
        score = analysis.get("score")
        scored = f"{verdict} (score {score:g})" if isinstance(score, int | float) else verdict
        scopes = _scopes_text(analysis)
        for service in sorted(s for s in wanted if analysis_names(analysis, s)):
            rows.append(
                {
                    "time_ms": created,
                    "kind": "canary",
                    "service": service,
                    "what": f"{analysis.get('configName') or 'canary'} {scored}"
                    + (f": {scopes}" if scopes else ""),
                    "version": verdict,
                    "analysis": str(analysis["id"]),
                }
            )
    rows.sort(key=lambda r: (-r["time_ms"], r["service"], r["kind"]))
    return rows


def latest_before(rows: Iterable[Mapping[str, Any]], at_ms: int) -> list[Mapping[str, Any]]:
    """Per service, the newest change at or just before ``at_ms`` (within ``SLACK_MS`` after it)."""
    found: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        if row["time_ms"] <= at_ms + SLACK_MS and row["service"] not in found:
            found[row["service"]] = row  # rows come newest first
    return sorted(found.values(), key=lambda r: -int(r["time_ms"]))


def ago_text(change_ms: int, at_ms: int) -> str:
    """``12 min before``, ``3 h 5 min before``, ``40 s after`` — how far a change is from a moment."""
    seconds = round((at_ms - change_ms) / 1000)
    side = "before" if seconds >= 0 else "after"
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds} s {side}"
    minutes = seconds // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {side}" if hours else f"{minutes} min {side}"
