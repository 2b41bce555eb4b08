"""A finished canary analysis as a PagerDuty change event (protocols.md §1, Events API v2).

``POST {base}/v2/change/enqueue`` takes ``routing_key``, ``payload{summary (≤ 1024),
source, timestamp, custom_details}`` and ``links[]``; no event_action, dedup_key or
severity. The sender (the alerting package's durable outbox) adds the routing key, so
this module never sees a secret.
"""

from __future__ import annotations

from typing import Any

from canary.analysis import Analysis, verdict
from canary.scopes import iso

__all__ = ["change_event"]

SUMMARY_LIMIT = 1024


def change_event(analysis: Analysis, console_url: str | None = None) -> dict[str, Any]:
    """The change event for ``analysis`` (finished), without the routing key."""
    found = verdict(analysis)
    first = analysis.judgements[0]
    pair = next(iter(first.scopes.values()))
    name = str(analysis.config.get("name", "canary"))
    score = "no score" if found["score"] is None else f"score {found['score']:g}"
    summary = f"Canary {found['verdict']}: {name} ({pair.experiment.scope} vs {pair.control.scope}), {score}"
    details: dict[str, Any] = {
        "analysis_id": analysis.id,
        "kind": analysis.kind,
        "verdict": found["verdict"],
        "score": found["score"],
        "reasons": found["reasons"][:10],
        "application": analysis.application,
        "config": name,
        "control": pair.control.scope,
        "experiment": pair.experiment.scope,
        "scores": (analysis.result or {}).get("canaryScores", []),
    }
    event: dict[str, Any] = {
        "payload": {
            "summary": summary[:SUMMARY_LIMIT],
            "source": f"watchfloor canary ({analysis.application})",
            "timestamp": iso(analysis.ended_ms or analysis.created_ms),
            "custom_details": details,
        },
        "links": [],
    }
    if console_url:
        path = "standalone_canary_analysis" if analysis.kind == "standalone" else "canary"
        event["links"].append(
            {
                "href": f"{console_url.rstrip('/')}/{path}/{analysis.id}",
                "text": "Canary analysis in Watchfloor",
            }
        )
    return event
