"""/api/v1/logs with several levels and per-record cursors, and /api/v1/logs/histogram (seeded world)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.console_seed import SLOW_TRACE, seed_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = seed_world(tmp_path_factory.mktemp("log-reads"))
    yield world
    world.stop()


def _get(world, path, **params):
    window = {"start": str(world.now_ms - 3_600_000), "end": str(world.now_ms + 60_000)}
    return httpx.get(f"{world.url}{path}", params={**window, **params})


def test_the_histogram_counts_every_seeded_line_per_level(world):
    answer = _get(world, "/api/v1/logs/histogram", step="1m")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["step"] == 60_000
    assert {level: sum(counts) for level, counts in body["levels"].items()} == {
        "info": len(world.trace_ids),
        "error": len(world.failed_trace_ids),
        "warn": 1,
    }
    assert sum(body["total"]) == len(world.trace_ids) + len(world.failed_trace_ids) + 1
    assert len(body["times"]) == len(body["total"]) and body["times"][0] == body["start"] + 60_000


def test_the_histogram_takes_the_log_filters_and_picks_a_step_itself(world):
    body = _get(world, "/api/v1/logs/histogram", service="drm").json()
    assert list(body["levels"]) == ["error"]
    assert body["step"] == 60_000  # an hour and a minute in about 100 buckets: the next nice width
    only = _get(world, "/api/v1/logs/histogram", trace_id=SLOW_TRACE).json()
    assert {k: sum(v) for k, v in only["levels"].items()} == {"warn": 1}


def test_several_levels_are_any_of_them(world):
    body = _get(world, "/api/v1/logs", level=["error", "WARN"], limit="1000").json()
    assert {r["level"] for r in body["logs"]} == {"error", "warn"}
    assert len(body["logs"]) == len(world.failed_trace_ids) + 1


def test_a_records_cursor_reads_on_from_just_after_it(world):
    first = _get(world, "/api/v1/logs", limit="5").json()["logs"]
    pivot = first[2]
    after = _get(world, "/api/v1/logs", limit="2", cursor=pivot["cursor"]).json()["logs"]
    assert [r["cursor"] for r in after] == [r["cursor"] for r in first[3:5]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"step": "soon"}, "step"),
        ({"step": "500ms"}, "step"),
        ({"step": "1s", "start": "0"}, "step"),
        ({"trace_id": "xyz"}, "trace_id"),
        ({"start": "2000", "end": "1000"}, "start"),
        ({"end": "tomorrow"}, "end"),
    ],
)
def test_bad_histogram_parameters_are_refused_naming_the_field(world, params, field):
    answer = _get(world, "/api/v1/logs/histogram", **params)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
