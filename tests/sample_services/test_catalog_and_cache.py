"""The per-title ladder, the quality model and the edge cache, as pure functions."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from sample_services.catalog import (
    DEVICE_DRM,
    DEVICE_SHARE,
    FIXED_LADDER,
    TITLES,
    Rendition,
    compatible,
    per_title_ladder,
    vmaf_estimate,
)
from sample_services.cdn import EdgeCache

complexities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(complexities)
def test_a_ladder_climbs_in_bitrate_and_quality(complexity):
    ladder = per_title_ladder(complexity)
    assert len(ladder) >= 4
    bitrates = [r.bitrate_kbps for r in ladder]
    qualities = [vmaf_estimate(r, complexity) for r in ladder]
    assert bitrates == sorted(bitrates)
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(qualities))


@given(st.sampled_from(FIXED_LADDER), complexities, complexities)
def test_the_same_rendition_scores_lower_on_more_complex_content(rung, a, b):
    simple, complex_ = sorted((a, b))
    assert vmaf_estimate(rung, complex_) <= vmaf_estimate(rung, simple)


def test_an_action_title_needs_a_higher_top_bitrate_than_an_animated_one():
    # 4K rungs aside (kept only where they add quality), the top of the ladder follows complexity.
    assert per_title_ladder(0.15)[-1].bitrate_kbps < per_title_ladder(0.85)[-1].bitrate_kbps


@given(st.sampled_from(FIXED_LADDER), complexities, st.integers(min_value=1, max_value=20_000))
def test_quality_stays_between_0_and_100_and_rises_with_bitrate(rung, complexity, extra_kbps):
    low = vmaf_estimate(rung, complexity)
    high = vmaf_estimate(Rendition(rung.width, rung.height, rung.bitrate_kbps + extra_kbps), complexity)
    assert 0.0 <= low <= high <= 100.0


def test_simple_content_reaches_high_quality_at_a_bitrate_complex_content_cannot():
    simple_top = per_title_ladder(0.1)[-1]
    assert vmaf_estimate(simple_top, 0.1) > 90
    assert vmaf_estimate(simple_top, 0.9) < vmaf_estimate(simple_top, 0.1) - 5


def test_every_device_has_a_drm_system_and_a_traffic_share():
    assert set(DEVICE_DRM) == set(DEVICE_SHARE)
    assert abs(sum(DEVICE_SHARE.values()) - 1.0) < 1e-9
    assert compatible("iphone", "fairplay") and not compatible("iphone", "widevine")


def test_the_catalogue_is_the_same_in_every_process():
    assert len(TITLES) == 160
    assert next(iter(TITLES.values())).title_id == "80100000"


def test_the_edge_cache_evicts_the_least_recently_used_object_first():
    cache = EdgeCache(capacity_bytes=300)
    cache.put("a", 100)
    cache.put("b", 100)
    cache.put("c", 100)
    assert cache.get("a")  # a is now the most recent
    cache.put("d", 100)
    assert not cache.get("b")
    assert cache.get("a") and cache.get("c") and cache.get("d")
    assert cache.used_bytes == 300 and cache.evictions == 1


def test_the_edge_cache_skips_objects_larger_than_itself():
    cache = EdgeCache(capacity_bytes=50)
    cache.put("huge", 51)
    assert not cache.get("huge") and cache.used_bytes == 0


@given(st.lists(st.tuples(st.text(min_size=1, max_size=3), st.integers(1, 120)), max_size=60))
def test_the_edge_cache_never_holds_more_than_its_capacity(objects):
    cache = EdgeCache(capacity_bytes=200)
    for key, size in objects:
        cache.put(key, size)
        assert cache.used_bytes <= 200
