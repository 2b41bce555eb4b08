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


def _cursors(records):
    return [r["cursor"] for r in records]


def test_after_reads_forward_the_backward_read_reversed(world):
    newest_first = _get(world, "/api/v1/logs", limit="1000").json()["logs"]
    assert 20 < len(newest_first) < 1000
    pivot = newest_first[10]
    forward = _get(world, "/api/v1/logs", limit="5", after=pivot["cursor"]).json()
    # The records just newer than the pivot, oldest first: reading back from the 5th of them.
    backward = _get(world, "/api/v1/logs", limit="5", cursor=newest_first[4]["cursor"]).json()["logs"]
    assert _cursors(forward["logs"]) == _cursors(reversed(backward)) == _cursors(reversed(newest_first[5:10]))
    assert forward["next_cursor"] == newest_first[5]["cursor"]  # the last one: go on with it as after
    rest = _get(world, "/api/v1/logs", limit="5", after=forward["next_cursor"]).json()
    assert _cursors(rest["logs"]) == _cursors(reversed(newest_first[:5]))


def test_after_pages_forward_through_everything_once(world):
    newest_first = _get(world, "/api/v1/logs", limit="1000").json()["logs"]
    seen, after, pages = [], "0:0", 0
    while after is not None:
        page = _get(world, "/api/v1/logs", limit="7", after=after).json()
        assert len(page["logs"]) <= 7 and (page["next_cursor"] is None) == (len(page["logs"]) < 7)
        seen += page["logs"]
        after, pages = page["next_cursor"], pages + 1
    assert _cursors(seen) == _cursors(reversed(newest_first)) and pages >= len(newest_first) // 7


@pytest.mark.parametrize(
    "filters",
    [{"service": "drm"}, {"level": ["error", "warn"]}, {"q": "license"}, {"trace_id": SLOW_TRACE}],
    ids=["service", "levels", "text", "trace"],
)
def test_after_keeps_the_other_filters(world, filters):
    matching = _get(world, "/api/v1/logs", limit="1000", **filters).json()["logs"]
    everything = _get(world, "/api/v1/logs", limit="1000").json()["logs"]
    assert matching and len(matching) < len(everything)
    oldest = everything[-1]  # before every matching record, whatever the filter
    forward = _get(world, "/api/v1/logs", limit="1000", after=oldest["cursor"], **filters).json()
    expected = [r for r in reversed(matching) if r["cursor"] != oldest["cursor"]]
    assert _cursors(forward["logs"]) == _cursors(expected) and forward["next_cursor"] is None


def test_after_keeps_the_time_range(world):
    newest_first = _get(world, "/api/v1/logs", limit="1000").json()["logs"]
    end_ms = newest_first[20]["timestamp_ns"] // 1_000_000
    forward = _get(world, "/api/v1/logs", limit="1000", after=newest_first[30]["cursor"], end=str(end_ms))
    expected = [r for r in reversed(newest_first[:30]) if r["timestamp_ns"] <= end_ms * 1_000_000]
    assert 10 <= len(expected) < 30
    assert _cursors(forward.json()["logs"]) == _cursors(expected)


@pytest.mark.parametrize(
    "params",
    [{"after": "1:0", "cursor": "2:0"}, {"after": "yesterday"}, {"after": "12:"}, {"after": "12:x"}],
    ids=["with-cursor", "words", "no-seq", "bad-seq"],
)
def test_a_bad_or_doubled_after_is_refused_naming_it(world, params):
    answer = _get(world, "/api/v1/logs", **params)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["after"]


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
