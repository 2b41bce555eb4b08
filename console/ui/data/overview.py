"""The Overview's rows: RED per service and cluster, with a health colour from errors, SLOs and alerts.

Health, worst first — what Telltale's colours mean to an on-call engineer:

* ``critical`` (red): error rate ≥ 5 %, an SLO of the service exhausted, or a critical alert firing;
* ``warning`` (amber): error rate ≥ 1 %, an SLO burning, or any other alert firing;
* ``ok`` (green): serving requests with none of the above;
* ``no data`` (grey): no serving spans in the range.

The figures are the API's (``/api/v1/red``, ``/api/v1/slos``, ``/api/v1/alerts``) as sent;
only the colour is decided here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from console.ui.data.slos import list_rows

CRITICAL_ERROR_PCT = 5.0
WARNING_ERROR_PCT = 1.0
HEALTH_ORDER = ("critical", "warning", "ok", "no data")
OVERVIEW_SLO_COLUMNS = ("SLO", "service", "state", "SLI %", "target %", "budget left %", "burn rate")
HEALTH_COLOURS = {"critical": "#d32f2f", "warning": "#f9a825", "ok": "#2e7d32", "no data": "#757575"}


def slos_by_service(slos: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for slo in slos:
        found.setdefault(str(slo.get("service") or ""), []).append(slo)
    return found


def alerts_by_service(alerts: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Firing alerts keyed by their ``service`` label (or ``nf.app``)."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for alert in alerts:
        if alert.get("state") != "firing":
            continue
        labels = alert.get("labels") or {}
        service = labels.get("service") or labels.get("nf.app") or ""
        found.setdefault(str(service), []).append(alert)
    return found


def health(
    row: Mapping[str, Any], slos: Iterable[Mapping[str, Any]], alerts: Iterable[Mapping[str, Any]]
) -> tuple[str, str]:
    """(health, why) for one RED row given its service's SLOs and firing alerts."""
    slos, alerts = list(slos), list(alerts)
    error_pct = row.get("error_pct")
    if not row.get("requests"):
        return "no data", "no serving spans in the range"
    reasons: list[tuple[str, str]] = []
    if error_pct is not None and error_pct >= CRITICAL_ERROR_PCT:
        reasons.append(("critical", f"errors {error_pct:.1f} %"))
    elif error_pct is not None and error_pct >= WARNING_ERROR_PCT:
        reasons.append(("warning", f"errors {error_pct:.1f} %"))
    for slo in slos:
        if slo.get("state") == "exhausted":
            reasons.append(("critical", f"SLO {slo['name']} exhausted"))
        elif slo.get("state") == "burning":
            reasons.append(("warning", f"SLO {slo['name']} burning"))
    for alert in alerts:
        level = "critical" if alert.get("severity") == "critical" else "warning"
        reasons.append((level, f"alert {alert.get('labels', {}).get('alertname', alert.get('rule', ''))}"))
    if not reasons:
        return "ok", ""
    worst = min(reasons, key=lambda r: HEALTH_ORDER.index(r[0]))[0]
    return worst, "; ".join(text for level, text in reasons if level == worst)


def service_rows(
    red_rows: Iterable[Mapping[str, Any]],
    slos: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """One row per RED row, worst health first, then by service and cluster."""
    by_service_slos, by_service_alerts = slos_by_service(slos), alerts_by_service(alerts)
    rows = []
    for red in red_rows:
        service = str(red["service"])
        own_slos = by_service_slos.get(service, [])
        state, why = health(red, own_slos, by_service_alerts.get(service, []))
        budgets = [s["budget_remaining"] for s in own_slos if s.get("budget_remaining") is not None]
        rows.append(
            {
                "health": state,
                "service": service,
                "cluster": red.get("cluster", ""),
                "req/s": red["rate_per_s"],
                "error %": red["error_pct"],
                "p50 ms": red["p50_ms"],
                "p95 ms": red["p95_ms"],
                "p99 ms": red["p99_ms"],
                "SLO budget left %": None if not budgets else round(min(budgets) * 100, 2),
                "alerts": len(by_service_alerts.get(service, [])),
                "why": why,
            }
        )
    rows.sort(key=lambda r: (HEALTH_ORDER.index(r["health"]), r["service"], r["cluster"]))
    return rows


def slo_rows(slos: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The SLOs page's rows (least budget remaining first), cut to what the Overview has room for."""
    return [{k: row[k] for k in OVERVIEW_SLO_COLUMNS} for row in list_rows(slos)]


def verdict_counts(analyses: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Verdicts of the canaries as they stand: the newest analysis of each config and experiment
    scope counts, once (an analysis list is newest first; a canary judged again replaces its
    earlier verdict)."""
    counts: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for analysis in analyses:
        experiments = sorted(str(p.get("experiment")) for p in (analysis.get("scopes") or {}).values())
        canary = (str(analysis.get("configName") or ""), ",".join(experiments) or str(analysis.get("id")))
        if canary in seen:
            continue
        seen.add(canary)
        verdict = str(analysis.get("verdict") or "running")
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts
