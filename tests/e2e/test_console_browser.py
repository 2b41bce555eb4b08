"""The console in headless Chromium (Debian's, through Playwright) against a seeded real server.

``watchfloor console`` runs as its own process; every page is opened the way a person would
(a URL), waited for until Streamlit is connected and idle, checked for exception boxes and
the seeded figures, and photographed into ``var/test-artifacts`` (``WATCHFLOOR_ARTIFACTS``).
Tables are read through the data grid's accessibility table, which holds each cell's text.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from console.ui.pages import PAGES, TRACES
from tests.support.browser import (
    GRID,
    chromium,
    console_process,
    exception_boxes,
    screenshot,
    wait_until_drawn,
)
from tests.support.canary import post_canary, seed_latency
from tests.support.console_seed import HOSTILE_MESSAGE, SLOW_TRACE, TOKEN, World, seed_world
from tests.support.polling import eventually


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Any:
    world = seed_world(tmp_path_factory.mktemp("console-browser"))
    # One judged canary for the Canary page, a clean one (a failing one would raise a sixth alert).
    start_ms = world.now_ms - 20 * 60_000
    seed_latency(world.server.store, start_ms, world.now_ms)
    execution = post_canary(world.url, start_ms, world.now_ms, token=TOKEN)
    eventually(lambda: api(world, f"/api/v1/canary/analyses/{execution}/verdict")["verdict"] != "running",
               timeout_s=60, what="the canary judgement")  # fmt: skip
    yield world
    world.stop()


@pytest.fixture(scope="module")
def console(world: World, tmp_path_factory) -> Any:
    log = tmp_path_factory.mktemp("console-log") / "console.log"
    with console_process(world.url, log, token=TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Any:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser) -> Any:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    yield context.new_page()
    context.close()


def window(world: World) -> str:
    return f"from={world.now_ms - 3_600_000}&to={world.now_ms + 60_000}"


def open_view(page: Page, url: str) -> None:
    page.goto(url)
    wait_until_drawn(page)


def grid_rows(page: Page, index: int = 0) -> list[dict[str, str]]:
    """The rows of the index-th data grid on the page, by column header."""
    table = page.locator(GRID).nth(index)
    table.wait_for(state="attached", timeout=30_000)
    headers = table.locator("thead th").all_inner_texts()
    rows = []
    for row in table.locator("tbody tr").all():
        rows.append(dict(zip(headers, row.locator("td").all_inner_texts(), strict=False)))
    return rows


def metrics_of(page: Page) -> dict[str, str]:
    return dict(m.split("\n\n", 1) for m in page.get_by_test_id("stMetric").all_inner_texts())


def metric(page: Page, label: str) -> str:
    """The figure under ``label`` once drawn (a fragment may still be drawing when the app is idle)."""
    return eventually(lambda: metrics_of(page).get(label), timeout_s=30, what=f"the {label!r} figure")


def api(world: World, path: str, **params: str) -> Any:
    return httpx.get(f"{world.url}{path}", params=params).json()


def _alerts(page: Page, world: World) -> None:
    firing = api(world, "/api/v1/alerts", state="firing")["alerts"]
    assert metric(page, "Firing") == str(len(firing))


def _service(page: Page, world: World) -> None:
    window = {"start": str(world.now_ms - 3_600_000), "end": str(world.now_ms + 60_000)}
    [drm] = api(world, "/api/v1/red", by="service", service="drm", **window)["rows"]
    assert metric(page, "Error %") == f"{drm['error_pct']:.2f}"


def _slos(page: Page, world: World) -> None:
    [slo] = api(world, "/api/v1/slos")["slos"]
    assert metric(page, "SLI %") == f"{slo['sli'] * 100:.3f}"


def _metrics(page: Page, world: World) -> None:
    window = {"s": str(world.now_ms - 3_600_000), "e": str(world.now_ms + 60_000)}
    legend = api(world, "/api/v1/graph", q=VIEWS["metrics"][0][2:], **window)["legend"]
    assert [row["series"] for row in grid_rows(page, 0)] == legend == ["(nf.cluster=drm-v1)"]


def _traces(page: Page, world: World) -> None:
    trace = api(world, f"/api/v1/traces/{SLOW_TRACE}")
    assert metric(page, "Spans") == str(len(trace["spans"])) == "4"


def _logs(page: Page, world: World) -> None:
    rows = grid_rows(page, 0)
    assert rows and {r["service"] for r in rows} == {"drm"} and {r["level"] for r in rows} == {"error"}


def _canary(page: Page, world: World) -> None:
    [analysis] = api(world, "/api/v1/canary/analyses")["analyses"]
    [row] = [r for r in grid_rows(page, 0) if r.get("id") == analysis["id"]]
    assert row["verdict"] == analysis["verdict"] == "pass"


def _status(page: Page, world: World) -> None:
    targets = api(world, "/api/v1/targets")["targets"]
    up = sum(t["health"] == "up" for t in targets)
    assert metric(page, "targets up") == f"{up} / {len(targets)}"


def _nothing(page: Page, world: World) -> None:
    pass


# Each page opened with seeded state, and a figure a person would look for there.
VIEWS = {
    "overview": ("", _nothing),  # its figures: test_the_overview_shows_the_apis_figures…
    "alerts": ("state=firing", _alerts),
    "service": ("service=drm", _service),
    "slos": ("slo=drm-license-ok", _slos),
    "metrics": ("q=name,span.calls,:eq,nf.app,drm,:eq,:and,(,nf.cluster,),:by", _metrics),
    "traces": (f"trace={SLOW_TRACE}", _traces),
    "logs": ("service=drm", _logs),
    "canary": ("", _canary),
    "status": ("", _status),
}


def test_every_page_is_listed_here():
    assert set(VIEWS) == {p.url_path for p in PAGES}


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_every_page_loads_shows_its_figures_and_is_photographed(page, console, world, spec):
    state, check = VIEWS[spec.url_path]
    path = "" if spec.url_path == "overview" else spec.url_path
    open_view(page, f"{console}/{path}?{state}&{window(world)}")
    page.get_by_role("heading", name=spec.title).first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert exception_boxes(page) == []
    check(page, world)
    assert screenshot(page, f"console-{spec.url_path}").stat().st_size > 0


def test_the_overview_shows_the_apis_figures_for_the_seeded_services(page, console, world):
    open_view(page, f"{console}/?{window(world)}")
    params = {"start": str(world.now_ms - 3_600_000), "end": str(world.now_ms + 60_000)}
    api = {
        (r["service"], r["cluster"]): r
        for r in httpx.get(f"{world.url}/api/v1/red", params=params).json()["rows"]
    }
    shown = {(r["service"], r["cluster"]): r for r in grid_rows(page, 0)}
    assert set(shown) == set(api)
    for key, row in shown.items():
        assert float(row["req/s"]) == pytest.approx(api[key]["rate_per_s"], abs=1e-3)
        assert float(row["error %"]) == pytest.approx(api[key]["error_pct"], abs=1e-2)
        assert float(row["p99 ms"]) == pytest.approx(api[key]["p99_ms"], abs=0.1)
    assert shown[("drm", "drm-v1")]["health"] == "critical"
    assert shown[("cdn", "cdn-v1")]["health"] == "ok"
    assert metric(page, "Firing alerts") == "5"  # DrmErrors and the SLO's four burn-rate tiers
    # Each row opens its service page, carrying the time range.
    assert shown[("drm", "drm-v1")]["open"].startswith("/service?service=drm&from=")


def test_a_log_message_with_script_and_markdown_is_displayed_literally(page, console, world):
    open_view(page, f"{console}/logs?service=cdn&{window(world)}")
    messages = [r.get("message") for r in grid_rows(page, 0)]
    assert HOSTILE_MESSAGE in messages
    assert page.evaluate("() => window.__pwned === undefined")  # no script ran
    scripts = page.evaluate("() => [...document.scripts].map(s => s.textContent)")
    assert not any("pwned" in text for text in scripts)
    assert page.locator("strong", has_text="not bold").count() == 0
    assert page.locator("a[href='http://example.com']").count() == 0
    screenshot(page, "console-logs-hostile-message")


def test_a_log_lines_trace_link_opens_that_trace(page, console, world):
    open_view(page, f"{console}/logs?service=cdn&{window(world)}")
    [row] = [r for r in grid_rows(page, 0) if r.get("message") == HOSTILE_MESSAGE]
    link = next(value for value in row.values() if value.startswith(f"/{TRACES.url_path}?"))
    assert f"trace={SLOW_TRACE}" in link
    open_view(page, f"{console}{link}")
    trace_box = page.get_by_role("textbox", name="Trace id", exact=True)
    trace_box.wait_for(timeout=30_000)
    assert trace_box.input_value() == SLOW_TRACE
    page.get_by_role("heading", name="playback: POST /play").wait_for(timeout=30_000)
    assert exception_boxes(page) == []
    screenshot(page, "console-trace-from-log-link")


def test_the_trace_waterfall_highlights_the_critical_path(page, console, world):
    open_view(page, f"{console}/traces?trace={SLOW_TRACE}&{window(world)}")
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert "critical path" in legend
    # The overlay is drawn: one bar per critical section the API lists, in the critical colour.
    sections = httpx.get(f"{world.url}/api/v1/traces/{SLOW_TRACE}").json()["critical_path"]
    bars = page.locator(".js-plotly-plot .barlayer .trace").nth(len(legend) - 1).locator("path")
    assert bars.count() == len(sections) > 0
    assert "rgb(224, 64, 251)" in (bars.first.get_attribute("style") or "")
    assert exception_boxes(page) == []
    screenshot(page, "console-trace-waterfall")


def test_a_url_with_state_reopens_the_same_view(page, console, world):
    url = f"{console}/traces?service=drm&status=error&sort=duration&{window(world)}"
    open_view(page, url)
    first = grid_rows(page, 0)
    assert first, "the search found the failed drm traces"
    assert "service=drm" in page.url and "status=error" in page.url  # written back, shareable
    open_view(page, page.url)  # the address bar, pasted into a new tab
    assert grid_rows(page, 0) == first
    expected = [
        t["trace_id"]
        for t in httpx.get(
            f"{world.url}/api/v1/traces",
            params={"service": "drm", "status": "error", "sort": "duration", "limit": 20,
                    "start": str(world.now_ms - 3_600_000), "end": str(world.now_ms + 60_000)},
        ).json()["traces"]
    ]  # fmt: skip
    # The grid draws (and so lists) only the rows in view: those must be the API's first ones.
    shown = [value for row in first for value in row.values() if value in expected]
    assert len(shown) >= 5
    assert shown == expected[: len(shown)]


def _click_link(page: Page, name: str) -> None:
    """Click the page link whose text starts with ``name`` and wait for the page it opens."""
    page.locator("[data-testid='stPageLink-NavLink']", has_text=name).first.click()
    page.wait_for_timeout(500)  # the navigation starts a new run; wait for it, not the old page
    wait_until_drawn(page)
    assert exception_boxes(page) == []


def test_the_chase_from_a_burn_alert_to_the_deploy_before_the_slow_trace_is_clicks(page, console, world):
    burn = next(a for a in api(world, "/api/v1/alerts", state="firing")["alerts"] if a["labels"].get("slo"))
    open_view(page, f"{console}/alerts?state=firing&alert={burn['fingerprint']}&{window(world)}")
    _click_link(page, "SLO drm-license-ok")
    assert "/slos?" in page.url and "slo=drm-license-ok" in page.url
    _click_link(page, "Service drm")
    assert "/service?" in page.url and "service=drm" in page.url
    # The operations table's "slowest" link (a grid cell: its URL is in the grid's text).
    [operation] = [r for r in grid_rows(page, 0) if r.get("operation") == "POST /license"]
    slowest = next(v for v in operation.values() if "sort=duration" in v)
    open_view(page, f"{console}{slowest}")
    # The slowest drm call is the seeded 900 ms one: its point is the scatter's highest.
    points = page.locator(".js-plotly-plot .scatterlayer .trace path.point")
    points.first.wait_for(timeout=30_000)
    box = min((p.bounding_box() for p in points.all()), key=lambda b: b["y"])
    # Plotly takes clicks on its drag layer above the points: click where the point is drawn.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("heading", name="playback: POST /play").wait_for(timeout=30_000)
    assert f"trace={SLOW_TRACE}" in page.url
    _click_link(page, "Logs of this trace")
    assert "/logs?" in page.url and f"trace={SLOW_TRACE}" in page.url
    assert [r["message"] for r in grid_rows(page, 0)] == [HOSTILE_MESSAGE]
    (deploy,) = api(world, "/api/v1/annotations")["annotations"]
    _click_link(page, "deploy drm")
    assert "/service?" in page.url and "service=drm" in page.url
    assert (
        f"from={deploy['time_ms'] - 1_800_000}" in page.url
        and f"to={deploy['time_ms'] + 1_800_000}" in page.url
    )
    screenshot(page, "console-chase-deploy")
