"""``watchfloor up``'s release story against a real server on loopback: configs, deploys, analyses."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from console.cli import build_parser
from console.demo_release import DemoRelease, ReleaseOptions
from sample_services.canary import DRM_CANARY_CONFIG
from sample_services.fleet import default_layout
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.server import RunningServer

LAYOUT = default_layout(base_port=29_000)  # nothing needs to listen: the story only talks to the server
CANARY_CLUSTERS = sorted(s.cluster for s in LAYOUT if s.cluster.endswith("-canary"))
DRM_NAME = json.loads(DRM_CANARY_CONFIG.read_text())["name"]


def _run(url: str, **options) -> DemoRelease:
    release = DemoRelease(url, LAYOUT, ReleaseOptions(**options))
    release.start()
    assert release.prepared.wait(15), "the release story did not get through its configs and deploys"
    return release


def _get(url: str, path: str, **params) -> Any:
    answer = httpx.get(f"{url}{path}", params=params, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _analyses(url: str) -> list[dict]:
    return _get(url, "/api/v1/canary/analyses")["analyses"]


def _seconds(iso_text: str) -> float:
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


def test_the_story_stores_the_config_marks_the_canary_deploys_and_judges_drm(server):
    release = _run(server.url, canary_after_s=1.0, canary_every_s=0.5)
    try:
        assert release.problems == []
        listed = _get(server.url, "/canaryConfig")
        assert [(c["name"], c["applications"]) for c in listed] == [(DRM_NAME, ["drm"])]
        assert release.config_ids == {DRM_NAME: listed[0]["id"]}

        annotations = _get(server.url, "/api/v1/annotations")["annotations"]
        marked = sorted((a["kind"], a["service"], a["version"], a["source"]) for a in annotations)
        assert marked == [("deploy", c.split("-")[0], c, "watchfloor up") for c in CANARY_CLUSTERS]
        drm = next(a for a in annotations if a["service"] == "drm")
        assert "beside drm-v1" in drm["summary"]

        # After the 1 s warm-up one analysis, then another every 0.5 s: the verdicts stay fresh.
        found = eventually(
            lambda: (lambda a: a if len(a) >= 2 else None)(_analyses(server.url)),
            timeout_s=15,
            what="two drm canary analyses",
        )
    finally:
        release.stop()
    assert not release.is_alive()
    assert {(a["configName"], a["application"], a["kind"]) for a in found} == {
        (DRM_NAME, "drm", "standalone")
    }
    status = _get(server.url, f"/standalone_canary_analysis/{found[-1]['id']}")
    assert status["canaryConfigId"] == listed[0]["id"]
    scope = status["canaryAnalysisExecutionRequest"]["scopes"][0]
    assert (scope["controlScope"], scope["experimentScope"]) == ("drm-v1", "drm-v2-canary")
    # A past window as long as the warm-up (under 3 minutes), ending when it was started.
    assert _seconds(scope["endTimeIso"]) - _seconds(scope["startTimeIso"]) == pytest.approx(1.0, abs=0.01)
    assert abs(_seconds(scope["endTimeIso"]) - status["buildTimeMillis"] / 1000) < 2
    assert release.problems == []


def test_a_second_run_on_the_same_server_updates_the_config_rather_than_adding_one(server):
    _run(server.url, canary_after_s=None).stop()
    first = _get(server.url, "/canaryConfig")
    time.sleep(0.01)  # timestamps are in milliseconds
    again = _run(server.url, canary_after_s=None)
    again.stop()
    assert again.problems == []
    second = _get(server.url, "/canaryConfig")
    assert [(c["id"], c["name"]) for c in second] == [(first[0]["id"], DRM_NAME)]
    assert second[0]["updatedTimestamp"] > first[0]["updatedTimestamp"]
    # Each start is a deploy of its own.
    annotations = _get(server.url, "/api/v1/annotations", service="drm")["annotations"]
    assert len(annotations) == 2


def test_canary_after_off_stores_and_marks_but_starts_no_analysis(server):
    args = build_parser().parse_args(["up", "--demo-canary-after", "off"])
    assert args.demo_canary_after is None
    assert build_parser().parse_args(["up", "--demo-canary-after", "0"]).demo_canary_after is None
    assert build_parser().parse_args(["up"]).demo_canary_after == 180.0
    release = _run(server.url, canary_after_s=args.demo_canary_after, canary_every_s=0.2)
    time.sleep(1.5)
    release.stop()
    assert "no canary analyses" in release.describe()
    assert _get(server.url, "/canaryConfig") and _get(server.url, "/api/v1/annotations")["annotations"]
    assert _analyses(server.url) == [] and release.analysis_ids == []


def test_a_refusing_server_is_reported_in_one_line_each_and_the_story_goes_on(tmp_path, caplog):
    secret = "s3cret-token"
    guarded = RunningServer(tmp_path / "guarded", api_token=secret)
    try:
        with caplog.at_level(logging.WARNING, logger="watchfloor"):
            release = _run(guarded.url, canary_after_s=0.2, canary_every_s=0.2)
            eventually(lambda: len(release.problems) >= 3, timeout_s=10, what="a judging round")
            assert release.is_alive()  # nothing escaped the thread
            release.stop()
        assert release.problems[0] == (
            f"could not store canary config {DRM_NAME}: 401 authorization: a bearer token is required"
        )
        marks = f"could not mark the deploys of {', '.join(CANARY_CLUSTERS)}: 401"
        assert release.problems[1].startswith(marks)
        assert release.problems[2] == f"not judging the drm canary: canary config {DRM_NAME} is not stored"
        logged = [r.getMessage() for r in caplog.records if r.name.startswith("watchfloor")]
        assert logged[:3] == [f"demo release: {p}" for p in release.problems[:3]]
        assert _get(guarded.url, "/canaryConfig") == []

        # With the token (WATCHFLOOR_API_TOKEN in `up`) the same server takes everything.
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="watchfloor"):
            allowed = _run(guarded.url, canary_after_s=0.2, token=secret)
            eventually(lambda: allowed.analysis_ids, timeout_s=10, what="an analysis with the token")
            allowed.stop()
        assert allowed.problems == []
        assert [c["name"] for c in _get(guarded.url, "/canaryConfig")] == [DRM_NAME]
        assert secret not in caplog.text and caplog.text  # it logged, and never the token
    finally:
        guarded.stop()


def test_an_unreachable_server_is_reported_without_an_exception(caplog):
    url = f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="watchfloor"):
        release = _run(url, canary_after_s=None)
        release.stop()
    assert len(release.problems) == 2
    assert all(f"{url} is unreachable" in p for p in release.problems)
    assert release.problems[0].startswith(f"could not store canary config {DRM_NAME}")
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_the_up_banner_says_what_the_story_does():
    release = DemoRelease("http://127.0.0.1:1", LAYOUT, ReleaseOptions())
    assert release.describe() == (
        "Release:  the demo stores the canary config, marks the canary deploys and judges the drm "
        "canary every 15m (the last 3m), starting 3m after the fleet starts"
    )
