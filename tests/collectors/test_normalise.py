"""Scrapes become step-aligned Atlas datapoints: rates, last values, percentiles, up, each bucket once."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.normalise import Normaliser, PointColumns
from collectors.prom_text import ParsedColumns, ParsedScrape, PromTextParser, Sample
from store.model import Datapoint

STEP = 10_000
TARGET = {"nf.app": "playback", "nf.cluster": "playback-main", "nf.node": "i-0abc"}


def _scrape(text: str) -> ParsedScrape:
    return PromTextParser().parse(text)


def _counter(value: float, name: str = "requests_total", labels: str = '{status="200"}') -> ParsedScrape:
    return _scrape(f"# TYPE {name} counter\n{name}{labels} {value}\n")


def _gauge(value: float) -> ParsedScrape:
    return _scrape(f"# TYPE temperature gauge\ntemperature {value}\n")


def _points(points) -> list[tuple[str, int, float]]:
    """(name, timestamp, value) triples, values rounded to get rid of float noise."""
    return [(p.tags["name"], p.timestamp_ms, round(p.value, 9)) for p in points]


def _run(normaliser: Normaliser, scrapes) -> list:
    out = []
    for time_ms, scrape in scrapes:
        out += normaliser.ingest(scrape, time_ms)
    return out


COUNTER_CASES = [
    (
        "a counter scraped on the step boundaries gives its rate per second at each boundary",
        [(10_000, 0), (20_000, 50), (30_000, 150)],
        [("requests", 20_000, 5.0), ("requests", 30_000, 10.0)],
    ),
    (
        "the first scrape of a counter gives no value",
        [(10_000, 1e6)],
        [],
    ),
    (
        "a counter that goes down restarted from zero, so its new value is the increase",
        [(10_000, 100), (20_000, 150), (30_000, 30)],
        [("requests", 20_000, 5.0), ("requests", 30_000, 3.0)],
    ),
    (
        "an interval across a boundary is spread over both buckets by overlap, missing coverage counting 0",
        [(5_000, 0), (15_000, 100), (25_000, 200)],
        [("requests", 10_000, 5.0), ("requests", 20_000, 10.0)],
    ),
    (
        "a bucket is emitted only once a scrape has reached its end",
        [(11_000, 0), (14_000, 30), (19_000, 80)],
        [],
    ),
    (
        "an interval longer than the step fills every bucket it covers at the same rate",
        [(5_000, 0), (35_000, 300)],
        [("requests", 10_000, 5.0), ("requests", 20_000, 10.0), ("requests", 30_000, 10.0)],
    ),
    (
        "two scrapes inside one step add up in that step",
        [(10_000, 0), (13_000, 30), (17_000, 70), (20_000, 100)],
        [("requests", 20_000, 10.0)],
    ),
]


@pytest.mark.parametrize(
    ("scrapes", "expected"), [case[1:] for case in COUNTER_CASES], ids=[c[0] for c in COUNTER_CASES]
)
def test_counters_become_rates(scrapes, expected):
    normaliser = Normaliser(STEP, TARGET)
    points = _run(normaliser, [(t, _counter(v)) for t, v in scrapes])
    assert _points(points) == expected
    assert all(p.tags["statistic"] == "count" for p in points)


def test_output_tags_are_labels_then_target_tags_then_name_and_statistic():
    normaliser = Normaliser(STEP, {**TARGET, "status": "from-target"})
    labels = '{status="200",uri="/play",region="eu-west-1"}'
    normaliser.ingest(_counter(0, labels=labels), 10_000)
    (point,) = normaliser.ingest(_counter(10, labels=labels), 20_000)
    assert dict(point.tags) == {
        "region": "eu-west-1",
        "uri": "/play",
        "status": "from-target",
        "nf.app": "playback",
        "nf.cluster": "playback-main",
        "nf.node": "i-0abc",
        "name": "requests",
        "statistic": "count",
    }


def test_one_tags_object_is_shared_by_every_point_of_a_series():
    normaliser = Normaliser(STEP, TARGET)
    points = _run(normaliser, [(t, _counter(t / 100)) for t in range(10_000, 60_000, 10_000)])
    assert len(points) == 4
    assert all(p.tags is points[0].tags for p in points)


def test_a_counter_typed_without_total_keeps_its_name_and_openmetrics_counters_lose_the_suffix():
    normaliser = Normaliser(STEP, TARGET)
    om = "# TYPE jobs counter\njobs_total {v}\njobs_created 1.7e9\n# EOF\n"
    plain = "# TYPE retries counter\nretries {v}\n"
    normaliser.ingest(_scrape(plain.format(v=0) + om.format(v=0)), 10_000)
    points = normaliser.ingest(_scrape(plain.format(v=40) + om.format(v=20)), 20_000)
    assert sorted(_points(points)) == [("jobs", 20_000, 2.0), ("retries", 20_000, 4.0)]


def test_created_series_are_dropped_in_both_formats():
    text = _created_exposition()
    normaliser = Normaliser(STEP, TARGET)
    normaliser.ingest(_scrape(text), 10_000)
    points = normaliser.ingest(_scrape(text), 20_000)
    assert {p.tags["name"] for p in points} == {"logins", "logins_om"}


def _created_exposition() -> str:
    # prometheus_client's 0.0.4 form (a gauge family of its own), then OpenMetrics' (a sample of the family).
    return (
        "# TYPE logins_total counter\nlogins_total 5\n"
        "# TYPE logins_created gauge\nlogins_created 1.7e9\n"
        "# TYPE logins_om counter\nlogins_om_total 5\nlogins_om_created 1.7e9\n"
    )


def test_a_gauge_keeps_the_last_value_in_the_step():
    normaliser = Normaliser(STEP, TARGET)
    points = _run(
        normaliser, [(11_000, _gauge(1)), (14_000, _gauge(2)), (19_000, _gauge(3)), (21_000, _gauge(4))]
    )
    assert _points(points) == [("temperature", 20_000, 3.0)]
    assert points[0].tags["statistic"] == "gauge"


def test_a_gauge_scraped_on_a_boundary_is_emitted_at_once():
    normaliser = Normaliser(STEP, TARGET)
    assert _points(normaliser.ingest(_gauge(7), 20_000)) == [("temperature", 20_000, 7.0)]
    assert _points(normaliser.ingest(_gauge(8), 25_000)) == []


def test_untyped_samples_are_gauges():
    normaliser = Normaliser(STEP, TARGET)
    (point,) = normaliser.ingest(_scrape("mystery_count 12\n"), 30_000)
    assert (point.tags["name"], point.tags["statistic"], point.value) == ("mystery_count", "gauge", 12.0)


HISTOGRAM = """# TYPE http_server_requests_seconds histogram
http_server_requests_seconds_bucket{{le="0.005",uri="/play"}} {b1}
http_server_requests_seconds_bucket{{le="0.1",uri="/play"}} {b2}
http_server_requests_seconds_bucket{{le="+Inf",uri="/play"}} {b3}
http_server_requests_seconds_count{{uri="/play"}} {b3}
http_server_requests_seconds_sum{{uri="/play"}} {total}
# TYPE http_server_requests_seconds_created gauge
http_server_requests_seconds_created{{uri="/play"}} 1.7e9
# TYPE response_size_bytes histogram
response_size_bytes_bucket{{le="1024.0"}} {b1}
response_size_bytes_bucket{{le="+Inf"}} {b3}
response_size_bytes_count {b3}
response_size_bytes_sum {total}
"""


def _by_tags(points) -> dict[tuple, float]:
    return {
        (p.tags["name"], p.tags["statistic"], p.tags.get("le"), p.timestamp_ms): round(p.value, 9)
        for p in points
    }


def test_histograms_give_count_and_total_rates_and_cumulative_percentile_buckets():
    normaliser = Normaliser(STEP, TARGET)
    normaliser.ingest(_scrape(HISTOGRAM.format(b1=0, b2=0, b3=0, total=0)), 10_000)
    points = normaliser.ingest(_scrape(HISTOGRAM.format(b1=10, b2=40, b3=50, total=2.5)), 20_000)
    assert _by_tags(points) == {
        ("http_server_requests_seconds", "percentile", "0.005", 20_000): 1.0,
        ("http_server_requests_seconds", "percentile", "0.1", 20_000): 4.0,
        ("http_server_requests_seconds", "percentile", "+Inf", 20_000): 5.0,
        ("http_server_requests_seconds", "count", None, 20_000): 5.0,
        ("http_server_requests_seconds", "totalTime", None, 20_000): 0.25,
        ("response_size_bytes", "percentile", "1024.0", 20_000): 1.0,
        ("response_size_bytes", "percentile", "+Inf", 20_000): 5.0,
        ("response_size_bytes", "count", None, 20_000): 5.0,
        ("response_size_bytes", "totalAmount", None, 20_000): 0.25,
    }
    assert all(p.tags["uri"] == "/play" for p in points if p.tags["name"] == "http_server_requests_seconds")


SUMMARY = """# TYPE rpc_duration_seconds summary
rpc_duration_seconds{{quantile="0.5"}} 0.012
rpc_duration_seconds{{quantile="0.99"}} {p99}
rpc_duration_seconds_sum {total}
rpc_duration_seconds_count {count}
"""


def test_summaries_give_quantile_gauges_and_count_and_total_rates():
    normaliser = Normaliser(STEP, TARGET)
    points = normaliser.ingest(_scrape(SUMMARY.format(p99=0.5, total=0, count=0)), 10_000)
    points += normaliser.ingest(_scrape(SUMMARY.format(p99=0.25, total=3, count=30)), 20_000)
    assert {
        (p.tags["statistic"], p.tags.get("quantile"), p.timestamp_ms): round(p.value, 9) for p in points
    } == {
        ("percentile", "0.5", 10_000): 0.012,
        ("percentile", "0.99", 10_000): 0.5,
        ("percentile", "0.5", 20_000): 0.012,
        ("percentile", "0.99", 20_000): 0.25,
        ("totalTime", None, 20_000): 0.3,
        ("count", None, 20_000): 3.0,
    }
    assert {p.tags["name"] for p in points} == {"rpc_duration_seconds"}


def test_a_counter_that_disappears_emits_its_pending_bucket_then_nothing():
    normaliser = Normaliser(STEP, TARGET)
    other = _counter(0, labels='{status="500"}')
    points = _run(
        normaliser,
        [
            (10_000, _counter(0)),
            (15_000, _counter(50)),  # 10/s; bucket 20 holds 50 so far
            (25_000, other),  # gone: bucket 20 is complete (no coverage after 15 s)
            (35_000, other),
        ],
    )
    mine = [p for p in points if p.tags["status"] == "200"]
    assert _points(mine) == [("requests", 20_000, 5.0)]


def test_a_series_that_comes_back_starts_afresh():
    normaliser = Normaliser(STEP, TARGET)
    empty = _scrape("")
    points = _run(
        normaliser,
        [(10_000, _counter(100)), (20_000, empty), (30_000, _counter(5_000)), (40_000, _counter(5_100))],
    )
    # Not a rate from 100 to 5,000 over the gap: the series was forgotten.
    assert _points(points) == [("requests", 40_000, 10.0)]


def test_a_gauge_that_vanishes_mid_step_still_gets_its_last_value_out_when_the_step_ends():
    normaliser = Normaliser(STEP, TARGET)
    empty = _scrape("")
    assert normaliser.ingest(_gauge(3), 11_000) == []
    assert normaliser.ingest(empty, 14_000) == []
    assert _points(normaliser.ingest(empty, 21_000)) == [("temperature", 20_000, 3.0)]
    assert normaliser.ingest(empty, 31_000) == []


def test_scrape_health_is_recorded_as_target_gauges():
    normaliser = Normaliser(STEP, TARGET)
    assert normaliser.record_scrape(15_000, up=True, duration_s=0.25, samples=1200) == []
    points = normaliser.record_scrape(25_000, up=False, duration_s=10.0, samples=0)
    assert sorted((dict(p.tags)["name"], p.timestamp_ms, p.value) for p in points) == [
        ("scrape_duration_seconds", 20_000, 0.25),
        ("scrape_samples_scraped", 20_000, 1200.0),
        ("up", 20_000, 1.0),
    ]
    assert all(dict(p.tags) == {**TARGET, "name": p.tags["name"], "statistic": "gauge"} for p in points)
    down = normaliser.flush(30_000)
    assert sorted((p.tags["name"], p.value) for p in down) == [
        ("scrape_duration_seconds", 10.0),
        ("scrape_samples_scraped", 0.0),
        ("up", 0.0),
    ]


def test_a_failed_scrape_does_not_break_counter_continuity():
    normaliser = Normaliser(STEP, TARGET)
    normaliser.ingest(_counter(0), 10_000)
    normaliser.record_scrape(10_000, up=True, duration_s=0.1, samples=1)
    normaliser.record_scrape(20_000, up=False, duration_s=10.0, samples=0)  # no ingest: the scrape failed
    points = normaliser.ingest(_counter(200), 30_000)
    assert _points(points) == [("requests", 20_000, 10.0), ("requests", 30_000, 10.0)]


def test_flush_emits_only_buckets_that_ended_and_nothing_is_emitted_twice():
    normaliser = Normaliser(STEP, TARGET)
    points = []
    points += normaliser.ingest(_counter(0), 5_000)
    points += normaliser.ingest(_counter(100), 15_000)
    points += normaliser.flush(19_999)
    assert _points(points) == [("requests", 10_000, 5.0)]
    points += normaliser.flush(20_000)  # closes bucket 20 with the 50 it has
    points += normaliser.flush(20_000)
    points += normaliser.ingest(_counter(200), 25_000)  # its share of bucket 20 is dropped
    points += normaliser.ingest(_counter(300), 35_000)
    assert _points(points) == [
        ("requests", 10_000, 5.0),
        ("requests", 20_000, 5.0),
        ("requests", 30_000, 10.0),
    ]


def test_duplicate_and_out_of_order_input_never_emits_a_bucket_twice():
    normaliser = Normaliser(STEP, TARGET)
    twice = _scrape('# TYPE t gauge\nt{a="1"} 1\nt{a="1"} 2\n')
    points = []
    for time_ms in (11_000, 21_000, 21_000, 15_000, 31_000, 40_000, 40_000):
        points += normaliser.ingest(twice, time_ms)
        points += normaliser.ingest(_counter(time_ms), time_ms)
        points += normaliser.record_scrape(time_ms, up=True, duration_s=0.1, samples=2)
    points += normaliser.flush(50_000)
    keys = [(tuple(sorted(p.tags.items())), p.timestamp_ms) for p in points]
    assert len(keys) == len(set(keys))
    # The first of two samples of one series in one exposition counts.
    assert {p.value for p in points if p.tags["name"] == "t"} == {1.0}


def test_a_nan_counter_sample_is_skipped_and_the_next_value_counts_from_the_last_good_one():
    normaliser = Normaliser(STEP, TARGET)
    points = _run(normaliser, [(10_000, _counter(0)), (20_000, _counter(math.nan)), (30_000, _counter(200))])
    assert _points(points) == [("requests", 20_000, 10.0), ("requests", 30_000, 10.0)]


def test_a_step_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="step_ms"):
        Normaliser(0, TARGET)


def test_samples_built_in_code_are_accepted_as_well_as_parsed_ones():
    normaliser = Normaliser(STEP, {})
    types = {"jobs": "counter"}
    normaliser.ingest(ParsedScrape(types, [Sample("jobs_total", (), 1.0, None)]), 10_000)
    (point,) = normaliser.ingest(ParsedScrape(types, [Sample("jobs_total", (), 11.0, 123)]), 20_000)
    assert (dict(point.tags), point.timestamp_ms, point.value) == (
        {"name": "jobs", "statistic": "count"},
        20_000,
        1.0,
    )


def _interpolate(times: list[int], values: list[float], at: int) -> float:
    """The counter's value at ``at`` if it grew linearly between scrapes."""
    for n in range(len(times) - 1):
        if times[n] <= at <= times[n + 1]:
            share = (at - times[n]) / (times[n + 1] - times[n])
            return values[n] + (values[n + 1] - values[n]) * share
    raise AssertionError(f"{at} outside the scrapes")


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=10**12),
    gaps=st.lists(st.integers(min_value=1, max_value=45_000), min_size=2, max_size=40),
    increments=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=40, max_size=40),
)
def test_emitted_rates_add_up_to_the_counters_increase(start, gaps, increments):
    times = [start]
    for gap in gaps:
        times.append(times[-1] + gap)
    values = [0.0]
    for increment in increments[: len(gaps)]:
        values.append(values[-1] + increment)
    normaliser = Normaliser(STEP, TARGET)
    points = _run(normaliser, [(t, _counter(v)) for t, v in zip(times, values, strict=True)])

    # The fully covered buckets: their increases are the interpolated counter's rise across them.
    covered = [p for p in points if p.timestamp_ms - STEP >= times[0]]
    if covered:
        low, high = covered[0].timestamp_ms - STEP, covered[-1].timestamp_ms
        expected = _interpolate(times, values, high) - _interpolate(times, values, low)
        got = sum(p.value * STEP / 1000 for p in covered)
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-6)

    # Once everything is flushed, every increase has been accounted for exactly once.
    points += normaliser.flush(times[-1] + STEP)
    got = sum(p.value * STEP / 1000 for p in points)
    assert math.isclose(got, values[-1] - values[0], rel_tol=1e-9, abs_tol=1e-6)
    stamps = [p.timestamp_ms for p in points]
    assert stamps == sorted(set(stamps)) and all(t % STEP == 0 for t in stamps)


# --- the columnar form the scraper uses --------------------------------------------------------


def _columns_run(normaliser: Normaliser, scrapes) -> PointColumns:
    out = PointColumns()
    for time_ms, scrape in scrapes:
        columns = ParsedColumns(
            scrape.types, [(s.name, s.labels) for s in scrape.samples], [s.value for s in scrape.samples]
        )
        normaliser.ingest_columns(columns, time_ms, out)
    return out


def test_ingest_columns_emits_what_ingest_emits_in_the_same_order():
    def scrapes():
        values = [(0, 0, 0, 0), (10, 40, 50, 2.5), (12, 45, 60, 3.0), (12, 45, 60, 3.0), (20, 90, 100, 4.5)]
        histograms = [
            (10_000 + n * 7_500, _scrape(HISTOGRAM.format(b1=b1, b2=b2, b3=b3, total=total)))
            for n, (b1, b2, b3, total) in enumerate(values)
        ]
        gauges = [(50_000 + n * 4_000, _gauge(n)) for n in range(4)]
        return histograms + gauges + [(80_000, _scrape(""))]  # the last one forgets every series

    expected = _run(Normaliser(STEP, TARGET), scrapes())
    got = _columns_run(Normaliser(STEP, TARGET), scrapes())
    assert len(got) == len(expected) > 10
    assert list(got) == expected
    assert [tuple(p) for p in got] == [tuple(p) for p in expected]
    assert got[3] == expected[3] and got[-2:] == expected[-2:]


def test_point_columns_take_points_one_by_one_and_whole_columns():
    tags = {"name": "m"}
    columns = PointColumns()
    columns.extend([Datapoint(tags, 10_000, 1.0)])
    more = PointColumns()
    more.add(tags, 20_000, 2.0)
    columns.extend(more)
    assert list(columns) == [Datapoint(tags, 10_000, 1.0), Datapoint(tags, 20_000, 2.0)]
    assert (columns.tags, columns.timestamps, columns.values) == ([tags, tags], [10_000, 20_000], [1.0, 2.0])
