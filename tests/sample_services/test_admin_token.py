"""With a fleet token configured, chaos (a write endpoint) needs it; reads stay open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.cli import main
from tests.support.fleet import RunningFleet, start_fleet

TOKEN = "s3cret-fleet-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    running = start_fleet(
        Path(tmp_path_factory.mktemp("guarded")),
        otlp_endpoint=None,
        bulk_url=None,
        apps=("cdn",),
        canaries=False,
        admin_token=TOKEN,
    )
    yield running
    running.stop()


@pytest.mark.parametrize(
    ("case", "headers", "reason"),
    [
        ("no Authorization header is refused", {}, "a bearer token is required"),
        ("a wrong token is refused", {"Authorization": "Bearer guess"}, "not valid"),
        ("the right token in the wrong scheme is refused", {"Authorization": f"Basic {TOKEN}"}, "not valid"),
    ],
)
def test_chaos_without_the_token_is_a_401_naming_authorization(guarded, case, headers, reason):
    url = guarded.url("cdn-v1")
    for method in ("POST", "DELETE"):
        answer = httpx.request(method, f"{url}/chaos", json={"error_rate": 1.0}, headers=headers)
        assert answer.status_code == 401, case
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["errors"] == [
            {"field": "authorization", "reason": answer.json()["errors"][0]["reason"]}
        ]
        assert reason in answer.json()["detail"], case
    assert httpx.get(f"{url}/chaos").json()["active"] is False
    # The token never appears in an answer.
    assert TOKEN not in answer.text


def test_the_right_token_opens_chaos_and_reads_need_none(guarded):
    url = guarded.url("cdn-v1")
    answer = httpx.post(
        f"{url}/chaos", json={"latency_ms": 1, "duration_s": 5}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200
    assert httpx.get(f"{url}/chaos").json()["active"] is True
    assert httpx.get(f"{url}/manifest/80100000").status_code == 200
    assert httpx.delete(f"{url}/chaos", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_cli_sends_the_token_from_the_environment(guarded, monkeypatch):
    url = guarded.url("cdn-v1")
    assert main(["chaos", "cdn", "--url", url, "--latency-ms", "1"]) == 1
    monkeypatch.setenv("WATCHFLOOR_FLEET_TOKEN", TOKEN)
    assert main(["chaos", "cdn", "--url", url, "--latency-ms", "1"]) == 0
    assert main(["chaos", "cdn", "--url", url, "--stop"]) == 0
