"""A finished canary analysis as an alert: ``CanaryFailed`` holds while its latest analysis failed."""

from __future__ import annotations

from alerting.model import AlertSample
from canary.analysis import Analysis, verdict

__all__ = ["canary_sample"]


def canary_sample(analysis: Analysis) -> AlertSample:
    """The ``CanaryFailed`` alert's sample for a finished analysis (a ticket, not a page)."""
    found = verdict(analysis)
    pair = next(iter(analysis.judgements[0].scopes.values()))
    name = str(analysis.config.get("name", "canary"))
    labels = {
        "alertname": "CanaryFailed",
        "canary": name,
        "experiment": pair.experiment.scope,
        "control": pair.control.scope,
        "application": analysis.application,
        "severity": "ticket",
    }
    summary = f"Canary {found['verdict']}: {name} ({pair.experiment.scope} vs {pair.control.scope})"
    annotations = {
        "summary": summary,
        "analysis_id": analysis.id,
        "reasons": "; ".join(found["reasons"])[:1000],
    }
    return AlertSample(labels, found["verdict"] == "fail", found["score"], annotations)
