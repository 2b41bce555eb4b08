"""A Kayenta standalone canary analysis through the server's API, waited for until complete."""

from __future__ import annotations

from typing import Any

import httpx

from canary.scopes import iso
from tests.support.polling import eventually


def standalone_analysis(
    server_url: str,
    config: dict[str, Any],
    window: tuple[int, int],
    *,
    control: str = "drm-v1",
    experiment: str = "drm-v2-canary",
    step_s: int = 5,
) -> tuple[str, dict[str, Any]]:
    """``POST /standalone_canary_analysis`` for ``window`` (epoch ms); answers its id and final status."""
    body = {
        "canaryConfig": config,
        "executionRequest": {
            "scopes": [
                {
                    "controlScope": control,
                    "experimentScope": experiment,
                    "startTimeIso": iso(window[0]),
                    "endTimeIso": iso(window[1]),
                    "step": step_s,
                }
            ],
            "thresholds": {"pass": 75, "marginal": 50},
        },
    }
    answer = httpx.post(f"{server_url}/standalone_canary_analysis", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    execution_id = str(answer.json()["canaryAnalysisExecutionId"])

    def finished() -> dict[str, Any] | None:
        status = httpx.get(f"{server_url}/standalone_canary_analysis/{execution_id}", timeout=30).json()
        return status if status["complete"] else None

    return execution_id, eventually(finished, timeout_s=60, what="the analysis to finish")
