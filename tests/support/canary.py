"""A canary judged on a running server over seeded data: latency series for drm-v1 and drm-v2-canary."""

from __future__ import annotations

from typing import Any

import httpx

from canary.scopes import iso
from store.model import Datapoint

STEP_MS = 10_000
CONFIG: dict[str, Any] = {
    "name": "drm-canary",
    "metrics": [
        {
            "name": "latency",
            "query": {"type": "atlas", "q": "name,latency,:eq,:max"},
            "groups": ["g"],
            "analysisConfigurations": {"canary": {"critical": True, "direction": "increase"}},
        }
    ],
}


def seed_latency(store: Any, start_ms: int, end_ms: int, *, canary_slower_s: float = 0.0) -> None:
    """Latency over (start, end] at 10-s steps: one wobble on both clusters, the canary slower by so much."""
    points = []
    for ts in range(start_ms + STEP_MS, end_ms + 1, STEP_MS):
        base = 0.02 + (ts // STEP_MS % 7) / 1000
        points.append(Datapoint({"name": "latency", "nf.cluster": "drm-v1"}, ts, base))
        points.append(
            Datapoint({"name": "latency", "nf.cluster": "drm-v2-canary"}, ts, base + canary_slower_s)
        )
    store.write_datapoints(points)


def post_canary(url: str, start_ms: int, end_ms: int, *, token: str | None = None) -> str:
    """``POST /canary`` comparing the two clusters over the window; answers the execution id."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    window = {"start": iso(start_ms), "end": iso(end_ms), "step": STEP_MS // 1000}
    pair = {
        "controlScope": {"scope": "drm-v1", **window},
        "experimentScope": {"scope": "drm-v2-canary", **window},
    }
    request = {"scopes": {"default": pair}, "thresholds": {"pass": 75, "marginal": 50}}
    answer = httpx.post(
        f"{url}/canary", json={"canaryConfig": CONFIG, "executionRequest": request}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["canaryExecutionId"])
