"""The Logs page against the seeded server: lines, pages, histogram and context are the API's."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest

from console.ui.data import logs as data
from console.ui.data.logs import duration_text, line_rows, newer_lines, older_lines
from tests.console.ui.support import window
from tests.support.console_seed import HOSTILE_MESSAGE, SLOW_TRACE

PAGE = "views/logs.py"


def _logs(world, path="/api/v1/logs", **params):
    """``/api/v1/logs`` (or ``path``) in the test's window (``start``/``end`` can be overridden)."""
    w = window(world)
    params = {"start": w["from"], "end": w["to"], **params}
    answer = httpx.get(f"{world.url}{path}", params={k: v for k, v in params.items() if v is not None})
    answer.raise_for_status()
    return answer.json()


def _histogram(world, **params):
    return _logs(world, "/api/v1/logs/histogram", **params)


def _all_logs(world, **params):
    return _logs(world, limit=1000, **params)["logs"]


def _ns(frame):
    return [t.value for t in frame["time"]]


def _trace_url(world, trace_id):
    w = window(world)
    return f"/traces?trace={trace_id}&from={w['from']}&to={w['to']}"


def test_the_newest_page_is_the_apis_with_a_link_to_each_trace(world, console):
    page = console(PAGE, **window(world))
    assert not page.exception
    api = _logs(world, limit=100)
    lines = page.dataframe[0].value
    assert list(lines.columns) == ["time", "level", "service", "message", "trace"]
    assert _ns(lines) == [r["timestamp_ns"] for r in api["logs"]]
    assert list(lines["message"]) == [r["message"] for r in api["logs"]]
    assert list(lines["trace"]) == [_trace_url(world, r["trace_id"]) for r in api["logs"]]
    assert list(lines["service"]) == [r["service"] for r in api["logs"]]


def test_older_pages_follow_the_servers_cursor(world, console):
    page = console(PAGE, **window(world))
    first = _logs(world, limit=100)
    page.button(key="logs.older").click().run()
    assert not page.exception
    second = _logs(world, limit=100, cursor=first["next_cursor"])
    lines = page.dataframe[0].value
    assert _ns(lines) == [r["timestamp_ns"] for r in second["logs"]] and len(lines) == 9
    assert page.button(key="logs.older").disabled  # the last page
    assert "cursor" not in page.query_params
    page.button(key="logs.newest").click().run()
    assert _ns(page.dataframe[0].value) == [r["timestamp_ns"] for r in first["logs"]]


def _assert_never_markdown(page):
    shown = [*page.markdown, *page.caption, *page.subheader, *page.title, *page.warning, *page.error]
    for element in [*shown, *page.info]:
        assert HOSTILE_MESSAGE not in element.value and "pwned" not in element.value
    assert not page.get("html")


def test_hostile_message_is_shown_literally_never_as_markdown(world, console):
    page = console(PAGE, trace=SLOW_TRACE, **window(world))
    assert not page.exception
    lines = page.dataframe[0].value
    assert list(lines["message"]) == [HOSTILE_MESSAGE]
    assert list(lines["trace"]) == [_trace_url(world, SLOW_TRACE)]
    _assert_never_markdown(page)
    # Its context too (picked from the table) shows it in a table only.
    page.session_state["logs.lines.1"] = {"selection": {"rows": [0], "columns": []}}
    page.run()
    assert not page.exception
    context = page.dataframe[0].value
    assert list(context["message"]) == [HOSTILE_MESSAGE]  # cdn logged nothing else
    _assert_never_markdown(page)


def test_filters_come_from_the_url_and_go_back_to_it(world, console):
    trace = world.trace_ids[40]
    page = console(PAGE, service="playback", level="info", trace=trace, q="play", **window(world))
    assert not page.exception
    assert page.selectbox(key="wf.logs.service").value == "playback"
    assert page.multiselect(key="wf.logs.level").value == ["info"]
    assert page.text_input(key="wf.logs.trace").value == trace
    assert page.text_input(key="wf.logs.q").value == "play"
    expected = _logs(world, service="playback", level="info", trace_id=trace, q="play")["logs"]
    assert _ns(page.dataframe[0].value) == [r["timestamp_ns"] for r in expected] and len(expected) == 1

    page.selectbox(key="wf.logs.service").select("drm").run()
    assert page.query_params["service"] == "drm"
    assert page.dataframe[0].value.empty  # drm logged no info line for that trace
    page.text_input(key="wf.logs.trace").input("not-a-trace").run()
    assert not page.exception
    assert page.query_params["trace"] == trace
    assert any("not a trace id" in w.value for w in page.warning)


def test_several_levels_are_the_apis_any_of_them(world, console):
    page = console(PAGE, level=["warn", "error"], **window(world))
    assert not page.exception
    expected = _logs(world, level=["warn", "error"])["logs"]
    # "Any of them": the union of each level's lines, newest first.
    union = sorted(
        _all_logs(world, level="warn") + _all_logs(world, level="error"), key=lambda r: -r["timestamp_ns"]
    )
    assert [r["cursor"] for r in expected] == [r["cursor"] for r in union]
    lines = page.dataframe[0].value
    assert _ns(lines) == [r["timestamp_ns"] for r in expected]
    assert list(lines["message"]) == [r["message"] for r in expected]
    assert set(lines["level"]) == {"warn", "error"} and len(lines) == len(world.failed_trace_ids) + 1
    assert page.query_params["level"] == ["warn", "error"]


def _bars(page):
    figure = json.loads(page.get("plotly_chart")[0].proto.spec)
    return figure, {trace["name"]: trace for trace in figure["data"]}


@pytest.mark.parametrize(
    "filters",
    [{}, {"service": "drm"}, {"level": ["warn", "error"]}, {"q": "license", "level": ["error", "info"]}],
    ids=["all", "service", "levels", "text-and-levels"],
)
def test_histogram_bars_are_the_apis_counts_per_level(world, console, filters):
    page = console(PAGE, **filters, **window(world))
    assert not page.exception
    api = _histogram(world, **{("trace_id" if k == "trace" else k): v for k, v in filters.items()})
    assert api["levels"] and api["step"] == 60_000  # the server's choice for 61 minutes: 1m buckets
    figure, bars = _bars(page)
    assert {name: bar["y"] for name, bar in bars.items()} == api["levels"]
    # Stacked by severity; each bar in the middle of its bucket (``times`` are the buckets' ends).
    assert list(bars) == sorted(api["levels"], key=data.LEVELS.index)
    assert figure["layout"]["barmode"] == "stack"
    for name, bar in bars.items():
        assert bar["marker"]["color"] == data.LEVEL_COLOURS[name]
        middles = [int(t.value // 1_000_000) for t in pd.to_datetime(bar["x"], utc=True, format="ISO8601")]
        assert middles == [end - api["step"] // 2 for end in api["times"]]
    assert any(f"{sum(api['total']):,} lines in the range · 1m per bar" in c.value for c in page.caption)


def test_histogram_counts_every_line_the_search_finds(world, console):
    page = console(PAGE, **window(world))
    _, bars = _bars(page)
    records = _all_logs(world)  # fewer than a page of 1,000: all of them
    assert len(records) < 1_000
    assert {name: sum(bar["y"]) for name, bar in bars.items()} == {
        level: sum(1 for r in records if r["level"] == level) for level in {r["level"] for r in records}
    }
    assert any(f"{len(records)} lines in the range" in c.value for c in page.caption)


def test_context_of_a_picked_line_ignores_the_filters(world, console):
    trace = world.trace_ids[40]
    page = console(PAGE, trace=trace, level="info", **window(world))
    page.session_state["logs.lines.1"] = {"selection": {"rows": [0], "columns": []}}
    page.run()
    assert not page.exception
    picked = _logs(world, trace_id=trace, level="info", limit=1)
    around = picked["logs"][0]["cursor"]
    assert page.query_params["around"] == around  # the picked line's own cursor

    # The lines before it are the API's reading on from that cursor, in the service only.
    before = _logs(world, service="playback", cursor=around, limit=10, start=None, end=None)["logs"]
    playback = list(reversed(_all_logs(world, service="playback", start=None, end=None)))
    at = [r["timestamp_ns"] for r in playback].index(picked["logs"][0]["timestamp_ns"])
    expected = playback[at - 10 : at + 11]
    context = page.dataframe[0].value
    assert _ns(context) == [r["timestamp_ns"] for r in expected]
    assert _ns(context)[:10] == [r["timestamp_ns"] for r in reversed(before)]
    # The lines after it are the API's forward read from that cursor, oldest first.
    after = _logs(world, service="playback", after=around, limit=10, start=None, end=None)["logs"]
    assert _ns(context)[11:] == [r["timestamp_ns"] for r in after] and len(after) == 10
    assert list(context["message"])[11:] == [r["message"] for r in after]
    assert list(context[""]) == [""] * 10 + ["▶"] + [""] * 10
    assert set(context["service"]) == {"playback"}
    assert list(context["trace"])[10] == _trace_url(world, trace)

    page.button(key="logs.close_context").click().run()
    assert "around" not in page.query_params
    assert len(page.dataframe) == 1


def test_context_from_a_shared_link(world, console):
    picked = _logs(world, service="drm", limit=3)
    page = console(PAGE, around=picked["logs"][2]["cursor"], **window(world))
    assert not page.exception
    drm = list(reversed(_all_logs(world, service="drm", start=None, end=None)))
    at = [r["timestamp_ns"] for r in drm].index(picked["logs"][2]["timestamp_ns"])
    assert _ns(page.dataframe[0].value) == [r["timestamp_ns"] for r in drm[at - 10 : at + 3]]
    after = _logs(world, service="drm", after=picked["logs"][2]["cursor"], limit=10, start=None, end=None)
    assert _ns(page.dataframe[0].value)[11:] == [r["timestamp_ns"] for r in after["logs"]]
    page = console(PAGE, around="yesterday", **window(world))
    assert any("not a line position" in w.value for w in page.warning)
    page = console(PAGE, around="1000:0", **window(world))  # a well-formed position holding no line
    assert not page.exception
    assert any("no longer in the store" in w.value for w in page.warning)


def test_live_tail_shows_the_newest_lines(world, console):
    page = console(PAGE, live="true", **window(world))
    assert not page.exception
    assert page.toggle(key="wf.logs.live").value is True
    newest = httpx.get(f"{world.url}/api/v1/logs", params={"limit": 50}).json()["logs"]
    assert len(page.dataframe) == 1  # the live tail replaces the paged results
    assert _ns(page.dataframe[0].value) == [r["timestamp_ns"] for r in newest]
    assert any("Live tail" in s.value for s in page.subheader)
    page.toggle(key="wf.paused").set_value(True).run()
    assert any(c.value.startswith("Paused") for c in page.caption)
    page.toggle(key="wf.logs.live").set_value(False).run()
    assert "live" not in page.query_params
    assert page.button(key="logs.older")  # the paged results are back


def test_the_servers_refusal_names_the_field(world, console):
    page = console(PAGE, q="x" * 300, **window(world))
    assert not page.exception
    assert any("q\\: String should have at most 256 characters" in e.value for e in page.error)


# Pure parts against a fake of /api/v1/logs (same order, cursor and filter rules).


def _fake_store(records):
    """``read_logs`` over ``records`` (dicts with ``seq``) as the API answers: newest first, with
    cursors; oldest first after ``after``."""

    def read_logs(service=None, level=None, start=None, end=None, cursor=None, after=None, limit=100, **_):
        found = sorted(records, key=lambda r: (-r["timestamp_ns"], -r["seq"]))
        if cursor:
            ts, seq = map(int, cursor.split(":"))
            found = [r for r in found if (r["timestamp_ns"], r["seq"]) < (ts, seq)]
        if after:
            ts, seq = map(int, after.split(":"))
            found = [r for r in reversed(found) if (r["timestamp_ns"], r["seq"]) > (ts, seq)]
        levels = [level] if isinstance(level, str) else level
        found = [
            {**r, "cursor": f"{r['timestamp_ns']}:{r['seq']}"}
            for r in found
            if (service is None or r["service"] == service)
            and (not levels or r["level"] in levels)
            and (start is None or r["timestamp_ns"] >= start * 1_000_000)
            and (end is None or r["timestamp_ns"] <= end * 1_000_000)
        ][:limit]
        return {"logs": found, "next_cursor": found[-1]["cursor"] if len(found) == limit else None}

    return read_logs


def _record(seq, ms, level="info", service="a", message=None):
    return {"timestamp_ns": ms * 1_000_000, "seq": seq, "level": level, "service": service,
            "message": message or f"line {seq}", "trace_id": "", "span_id": ""}  # fmt: skip


def test_older_lines_read_on_from_the_cursor_in_the_service_only():
    records = [_record(n, 10_000 + n * 100, service="ab"[n % 2]) for n in range(30)]
    read = _fake_store(records)
    before = older_lines(read, (12_000 * 1_000_000, 20), "a", 3)
    assert [r["seq"] for r in before] == [14, 16, 18]
    assert older_lines(lambda **params: None, (1, 1), "a", 3) == []  # refused: the page showed why


def test_newer_lines_are_one_forward_read_including_same_instant_siblings():
    records = [_record(n, 10_000 + n * 100) for n in range(50)]
    records += [_record(100, 12_000, message="sibling"), _record(101, 12_000, service="b")]
    records += [_record(102, 12_000, message="sibling 2")]
    reads: list[dict] = []
    fake = _fake_store(records)

    def read(**params):
        reads.append(params)
        return fake(**params)

    after = newer_lines(read, (12_000 * 1_000_000, 20), "a", 3)  # siblings logged after it
    assert [r["seq"] for r in after] == [100, 102, 21]
    assert reads == [{"service": "a", "after": f"{12_000 * 1_000_000}:20", "limit": 3}]
    assert [r["seq"] for r in newer_lines(read, (14_800 * 1_000_000, 48), "a", 5)] == [49]
    # A same-instant sibling logged before the line (a lower seq) is not after it.
    assert [r["seq"] for r in newer_lines(read, (12_000 * 1_000_000, 100), "a", 2)] == [102, 21]
    assert newer_lines(lambda **params: None, (1, 1), "a", 3) == []  # refused: the page showed why


def test_steps_are_named_as_the_api_takes_them():
    steps = [1_000, 30_000, 90_000, 300_000, 7_200_000, 86_400_000]
    assert [duration_text(ms) for ms in steps] == ["1s", "30s", "90s", "5m", "2h", "1d"]


@pytest.mark.parametrize(("trace_id", "linked"), [("ab" * 16, True), ("", False), ("not-a-trace", False)])
def test_only_real_trace_ids_get_a_link(trace_id, linked):
    row = line_rows([{**_record(1, 1), "trace_id": trace_id}], lambda t: f"/traces?trace={t}")[0]
    assert (row["trace"] is not None) == linked
