"""GET /api/v1/red on a real server with the console's seeded world: exact counts, refusals."""

from __future__ import annotations

import httpx
import pytest

from store.model import SPAN_KIND_SERVER, STATUS_ERROR
from tests.support.console_seed import STEP_MS, seed_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = seed_world(tmp_path_factory.mktemp("red"))
    yield world
    world.stop()


def _red(world, **params):
    return httpx.get(f"{world.url}/api/v1/red", params=params)


def test_rows_per_service_and_cluster_count_every_serving_span(world):
    answer = _red(world)
    assert answer.status_code == 200, answer.text
    rows = {(r["service"], r["cluster"]): r for r in answer.json()["rows"]}
    served = [s for s in world.spans if s.kind == SPAN_KIND_SERVER]
    for (service, cluster), row in rows.items():
        mine = [s for s in served if s.service == service and s.resource["nf.cluster"] == cluster]
        assert row["requests"] == pytest.approx(len(mine)), (service, cluster)
        failed = sum(1 for s in mine if s.status_code == STATUS_ERROR)
        assert row["errors"] == pytest.approx(failed)
        assert row["error_pct"] == pytest.approx(100 * failed / len(mine), abs=1e-3)
        mean = sum(s.duration_ns for s in mine) / len(mine) / 1e6
        assert row["mean_ms"] == pytest.approx(mean, abs=1e-3)
        assert row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert set(rows) == {
        ("playback", "playback-v1"),
        ("playback", "playback-v2-canary"),
        ("drm", "drm-v1"),
        ("cdn", "cdn-v1"),
    }
    assert rows[("cdn", "cdn-v1")]["errors"] == 0


def test_percentiles_interpolate_inside_the_bucket_of_the_rank(world):
    [drm] = _red(world, by="service", service="drm").json()["rows"]
    # 91 drm spans: 90 of 20–35 ms (buckets 10–25 ms and 25–50 ms) and the slow one of 900 ms.
    assert 10 < drm["p50_ms"] <= 50
    assert 750 < drm["p99_ms"] <= 1000  # the 900 ms span is past the 99th rank only in its bucket
    assert drm["service"] == "drm" and "cluster" not in drm


def test_operations_are_ranked_by_impact_for_one_service(world):
    rows = _red(world, by="operation", service="playback").json()["rows"]
    assert [r["operation"] for r in rows] == ["POST /play"]
    [play] = rows
    assert play["impact"] == pytest.approx(play["mean_ms"] * play["rate_per_s"], rel=1e-3)
    assert play["requests"] == pytest.approx(len(world.trace_ids) + 1)  # and the slow trace's


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "host"}, "by"),
        ({"service": "drm,:eq"}, "service"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2000", "end": "1000"}, "start"),
        ({"start": "0", "end": str(40 * 86_400_000)}, "start"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(world, params, field):
    answer = _red(world, **params)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_limit_outside_its_bounds_is_refused(world):
    assert _red(world, limit="0").status_code in (400, 422)
    assert len(_red(world, limit="2").json()["rows"]) == 2
    assert _red(world, limit="2").json()["truncated"] is True


def test_the_rate_is_over_the_part_of_the_range_since_spans_began(world):
    # An hour asked for; the world's spans began SPAN_MINUTES ago: the rate is over those minutes
    # (to a step either side), not diluted over the hour before the service served anything.
    now_ms = world.now_ms
    start_ms, end_ms = now_ms - 3_600_000, now_ms + STEP_MS
    [drm] = _red(world, by="service", service="drm", start=start_ms, end=end_ms).json()["rows"]
    first_span_ms = min(s.start_ns for s in world.spans if s.service == "drm") // 1_000_000
    served_s = (end_ms - first_span_ms) / 1000
    assert (
        drm["requests"] / (served_s + STEP_MS / 500)
        <= drm["rate_per_s"]
        <= drm["requests"] / (served_s - STEP_MS / 500)
    )
    assert drm["rate_per_s"] > 1.5 * drm["requests"] / 3_600  # the whole hour's would be half of it
