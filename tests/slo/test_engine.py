"""SLO status read from a DuckDB store through the stack language, with exact expected figures.

Series are written as the scraper writes them: counters as rates per second at the end of
each 1-minute step. Each case states its figures from slo.md §1 and §6.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from slo.durations import parse_duration
from slo.engine import SLOEngine
from slo.openslo import Catalog, load_catalog
from slo.status import SLOStatus
from store.duckdb_store import DuckDBStore

STEP = 60_000
DAY = 1440
# A whole day in UTC, so that calendar cases line up with the steps.
END = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "slo.duckdb")
    yield opened
    opened.close()


def write(store, tags, counts, end_ms=END, step_ms=STEP, *, gauge=False):
    """Per-step event counts ending at ``end_ms`` as rates per second (NaN steps are not written).

    A ``gauge`` is written as it is.
    """
    counts = np.asarray(counts, dtype=np.float64)
    stamps = end_ms - step_ms * np.arange(counts.size - 1, -1, -1)
    keep = np.isfinite(counts)
    rates = counts[keep] if gauge else counts[keep] / (step_ms / 1000)
    store.write_point_columns([tags] * int(keep.sum()), stamps[keep].tolist(), rates.tolist())


BAD_QUERY = "name,requests,:eq,outcome,error,:eq,:and,:sum"


def ratio_slo(name="avail", target=0.999, window="duration: 30d\n      isRolling: true", extra=""):
    text = f"""
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: playback
  indicator:
    metadata: {{name: {name}-sli}}
    spec:
      ratioMetric:
        counter: true
        bad: {{metricSource: {{type: atlas, spec: {{query: "{BAD_QUERY}"}}}}}}
        total: {{metricSource: {{type: atlas, spec: {{query: "name,requests,:eq,:sum"}}}}}}
  timeWindow:
    - {window}
  budgetingMethod: Occurrences
  objectives: [{{target: {target}}}]
{extra}"""
    return load_catalog(text).slos[0]


def traffic(store, total_per_step, bad, end_ms=END):
    """``bad`` per-step errors out of ``total_per_step`` (steps with NaN total are silent)."""
    total = np.asarray(total_per_step, dtype=np.float64)
    write(store, {"name": "requests", "outcome": "ok"}, total - bad, end_ms)
    write(store, {"name": "requests", "outcome": "error"}, np.where(np.isnan(total), np.nan, bad), end_ms)


def status_of(store, slo, now=END, resolve=None):
    engine = SLOEngine(store, base_step_ms=10_000)
    return engine.status(slo, resolve or (lambda _: None), now_ms=now)


def test_reference_figures_a_ten_minute_outage_in_thirty_days(store):
    """slo.md §6: 4,320,000 events, 1,000 bad → 76.85 % of the budget left."""
    bad = np.zeros(30 * DAY)
    bad[10 * DAY : 10 * DAY + 10] = 100.0
    traffic(store, np.full(30 * DAY, 100.0), bad)
    status = status_of(store, ratio_slo())
    [objective] = status.objectives
    report = objective.report
    assert report.budget_total == pytest.approx(4320.0)
    assert report.budget_spent == pytest.approx(1000.0)
    assert report.budget_remaining == pytest.approx(1 - 1000 / 4320)
    assert report.sli == pytest.approx(1 - 1000 / 4_320_000)
    assert report.attained is True and status.state == "ok"
    # The outage is long past: every window burns at zero, nothing fires.
    assert [t.pair.severity for t in objective.tiers] == ["page", "page", "ticket", "ticket"]
    assert all(t.long_rate == 0.0 and not t.firing for t in objective.tiers[:2])
    assert objective.tiers[3].long_rate == 0.0  # 3 days back does not reach day 10
    assert objective.time_to_exhaustion_ms is None  # nothing burns now
    assert report.burn_down[-1] == pytest.approx(report.budget_remaining)
    assert report.burn_down.size == 30 * DAY


def test_during_the_outage_the_page_tier_fires_within_minutes(store):
    """Five minutes into a total outage: 5 m burns at 1000, 1 h at 500/6000/0.001 = 83.3."""
    bad = np.zeros(30 * DAY)
    bad[-5:] = 100.0
    traffic(store, np.full(30 * DAY, 100.0), bad)
    objective = status_of(store, ratio_slo()).objectives[0]
    page = objective.tiers[0]
    assert (page.short_rate, page.long_rate) == (pytest.approx(1000.0), pytest.approx(500 / 6000 / 0.001))
    assert page.firing and page.long_events == pytest.approx(6000.0)
    # 1 h rate 83.3 spends the 30-day budget's remaining share in 30 d / 83.3.
    remaining = 1 - 500 / 4320
    expected = remaining * 30 * DAY * STEP / (500 / 6000 / 0.001)
    assert objective.time_to_exhaustion_ms == pytest.approx(expected, abs=1)
    assert objective.current_burn_rate == pytest.approx(page.long_rate)


def test_the_short_window_resets_about_five_minutes_after_the_errors_stop(store):
    bad = np.zeros(30 * DAY)
    bad[-16:-6] = 100.0  # ten minutes of outage that ended six minutes ago
    traffic(store, np.full(30 * DAY, 100.0), bad)
    page = status_of(store, ratio_slo()).objectives[0].tiers[0]
    assert page.long_rate == pytest.approx(1000 / 6000 / 0.001)  # still above 14.4
    assert page.short_rate == 0.0 and not page.firing


def test_a_service_silent_for_a_day_is_neither_good_nor_bad(store):
    total = np.full(30 * DAY, 100.0)
    total[5 * DAY : 6 * DAY] = np.nan
    bad = np.zeros(30 * DAY)
    bad[: 2 * DAY] = 1.0
    traffic(store, total, bad)
    report = status_of(store, ratio_slo()).objectives[0].report
    assert report.no_data_steps == DAY and report.no_data_share == pytest.approx(1 / 30)
    assert report.budget_total == pytest.approx(29 * DAY * 100 * 0.001)
    assert report.budget_spent == pytest.approx(2 * DAY)
    assert report.sli == pytest.approx(1 - 2 * DAY / (29 * DAY * 100))


def test_a_silent_service_is_in_the_no_data_state(store):
    total = np.full(30 * DAY, 100.0)
    total[-10:] = np.nan
    traffic(store, total, np.zeros(30 * DAY))
    status = status_of(store, ratio_slo())
    assert status.state == "no_data" and status.no_data
    assert status.last_data_ms == END - 10 * STEP
    assert math.isnan(status.objectives[0].tiers[0].short_rate)


def test_an_exclusion_window_removes_an_outage_from_the_budget(store):
    bad = np.zeros(30 * DAY)
    bad[-DAY - 60 : -DAY - 30] = 100.0  # 30 minutes, during the nightly maintenance
    traffic(store, np.full(30 * DAY, 100.0), bad)
    start = datetime.fromtimestamp((END - DAY * STEP - 60 * STEP) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    exclusion = f'  watchfloor:\n    exclusions: [{{start: "{start}", duration: 1h, every: 1d}}]'
    report = status_of(store, ratio_slo(extra=exclusion)).objectives[0].report
    assert report.budget_spent == 0.0 and report.budget_remaining == 1.0
    # The hour repeats daily from its start: yesterday's and the last hour are both excluded.
    assert report.budget_total == pytest.approx((30 * DAY - 120) * 100 * 0.001)
    unexcluded = status_of(store, ratio_slo()).objectives[0].report
    assert unexcluded.budget_spent == pytest.approx(3000.0)


def test_a_calendar_month_in_amsterdam_starts_at_local_midnight(store):
    """At 00:30 on 1 November in Amsterdam (UTC+1), the month is 30 minutes old."""
    now = int(datetime(2026, 10, 31, 23, 30, tzinfo=UTC).timestamp() * 1000)
    bad = np.zeros(2 * DAY)
    bad[-40:-30] = 50.0  # 10 minutes of errors in October, 23:50–00:00 local
    bad[-3:] = 10.0  # and 30 errors in November
    traffic(store, np.full(2 * DAY, 100.0), bad, end_ms=now)
    window = 'duration: 1M\n      calendar: {startTime: "2026-01-01 00:00:00", timeZone: Europe/Amsterdam}'
    status = status_of(store, ratio_slo(window=window), now=now)
    assert status.window.start_ms == now - 30 * STEP
    assert status.window.period_ms == 30 * DAY * STEP  # November has 30 days
    report = status.objectives[0].report
    assert report.budget_spent == pytest.approx(30.0)
    assert report.budget_total == pytest.approx(30 * 100 * 0.001)
    assert report.budget_remaining == pytest.approx(1 - 30 / 3)
    # The burn-rate windows reach back into October: 1 h holds all 530 errors.
    page = status.objectives[0].tiers[0]
    assert page.long_rate == pytest.approx(530 / 6000 / 0.001)


def test_the_minimum_events_guard_keeps_a_quiet_service_from_paging(store):
    total = np.full(3 * DAY, 0.2)  # 12 events an hour
    bad = np.zeros(3 * DAY)
    bad[-2:] = 0.2
    traffic(store, total, bad)
    guarded = status_of(store, ratio_slo(extra="  watchfloor: {minEvents: 50}")).objectives[0].tiers[0]
    assert guarded.long_events == pytest.approx(12.0) and guarded.guarded and not guarded.firing
    unguarded = status_of(store, ratio_slo()).objectives[0].tiers[0]
    assert unguarded.firing and not unguarded.guarded


def test_latency_from_histogram_buckets_is_the_share_under_the_threshold(store):
    """Cumulative ``le`` buckets as Prometheus exposes them: good = the 0.5 s bucket, total = count."""
    steps = 2 * DAY
    under = np.full(steps, 95.0)
    under[-60:] = 80.0  # the last hour: 20 % slow
    write(store, {"name": "ttff", "statistic": "percentile", "le": "0.5"}, under)
    write(store, {"name": "ttff", "statistic": "percentile", "le": "+Inf"}, np.full(steps, 100.0))
    write(store, {"name": "ttff", "statistic": "count"}, np.full(steps, 100.0))
    text = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: fast-start}
spec:
  service: playback
  indicator:
    metadata: {name: fast}
    spec:
      ratioMetric:
        good: {metricSource: {type: atlas, spec: {query: "name,ttff,:eq,le,0.5,:eq,:and,:sum"}}}
        total: {metricSource: {type: atlas, spec: {query: "name,ttff,:eq,statistic,count,:eq,:and,:sum"}}}
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.9}]
"""
    objective = status_of(store, load_catalog(text).slos[0]).objectives[0]
    assert objective.report.sli == pytest.approx(1 - (5 * (steps - 60) + 20 * 60) / (100 * steps))
    assert objective.tiers[0].long_rate == pytest.approx(0.2 / 0.1)


def test_threshold_metric_with_timeslices(store):
    """A p99 gauge under 0.3 s in at least 90 % of each 10-minute slice; 1 bad slice in 144."""
    p99 = np.full(DAY, 0.2)
    p99[100:110] = 0.5  # one whole slice bad (steps 100–109 are slice 10)
    p99[205] = 0.5  # one bad minute in a slice: 90 % still meets the slice target
    write(store, {"name": "p99", "statistic": "gauge"}, p99, gauge=True)
    text = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: p99-latency}
spec:
  service: cdn
  indicator:
    metadata: {name: p99}
    spec:
      thresholdMetric: {metricSource: {type: atlas, spec: {query: "name,p99,:eq,:max"}}}
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.99, op: lte, value: 0.3, timeSliceTarget: 0.9, timeSliceWindow: 10m}]
"""
    report = status_of(store, load_catalog(text).slos[0]).objectives[0].report
    assert report.budget_spent == 1.0
    assert report.budget_total == pytest.approx(144 * 0.01)
    assert report.sli == pytest.approx(143 / 144)


def test_a_composite_weighs_its_components_ratios(store):
    traffic(store, np.full(DAY, 100.0), np.full(DAY, 10.0))  # "requests": 90 % good
    write(store, {"name": "jobs", "outcome": "ok"}, np.full(DAY, 5.0))
    write(store, {"name": "jobs", "outcome": "all"}, np.full(DAY, 5.0))  # 100 % good
    text = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: jobs}
spec:
  service: encoding
  indicator:
    metadata: {name: jobs-ok}
    spec:
      ratioMetric:
        good: {metricSource: {type: atlas, spec: {query: "name,jobs,:eq,outcome,ok,:eq,:and,:sum"}}}
        total: {metricSource: {type: atlas, spec: {query: "name,jobs,:eq,outcome,all,:eq,:and,:sum"}}}
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: journey}
spec:
  service: playback
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.95}]
  watchfloor:
    composite:
      components: [{slo: avail, weight: 1}, {slo: jobs, weight: 3}]
"""
    avail = ratio_slo(window="duration: 1d\n      isRolling: true")
    catalog = load_catalog(text, context=Catalog(slos=(avail,)))
    by_name = {s.name: s for s in (*catalog.slos, avail)}
    report = status_of(store, by_name["journey"], resolve=by_name.get).objectives[0].report
    assert report.sli == pytest.approx((0.9 * 1 + 1.0 * 3) / 4)
    assert report.budget_total == pytest.approx(DAY * 4 * 0.05)
    assert report.budget_spent == pytest.approx(DAY * 0.1)


def test_later_evaluations_read_only_new_steps_and_agree_with_a_fresh_read(store):
    bad = np.zeros(30 * DAY)
    bad[-30:] = 3.0
    traffic(store, np.full(30 * DAY, 100.0), bad)
    engine = SLOEngine(store, base_step_ms=10_000)
    slo = ratio_slo()
    engine.status(slo, lambda _: None, now_ms=END)
    more = np.full(20, 100.0)
    traffic(store, more, np.full(20, 50.0), end_ms=END + 20 * STEP)
    later = engine.status(slo, lambda _: None, now_ms=END + 20 * STEP)
    fresh = status_of(store, slo, now=END + 20 * STEP)
    for a, b in zip(later.objectives, fresh.objectives, strict=True):
        assert a.report.budget_spent == b.report.budget_spent
        np.testing.assert_array_equal(a.report.burn_down, b.report.burn_down)
        assert [(t.long_rate, t.short_rate) for t in a.tiers] == [
            (t.long_rate, t.short_rate) for t in b.tiers
        ]
    assert later.objectives[0].report.budget_spent == pytest.approx(30 * 3 + 20 * 50)


class CountingReader:
    """The store, counting ``series`` calls."""

    def __init__(self, store):
        self.store, self.calls = store, 0

    def series(self, *args, **kwargs):
        self.calls += 1
        return self.store.series(*args, **kwargs)

    def tag_values(self, *args, **kwargs):
        return self.store.tag_values(*args, **kwargs)

    def tag_keys(self, *args, **kwargs):
        return self.store.tag_keys(*args, **kwargs)


def test_many_slos_together_read_once_per_range_and_agree_with_one_at_a_time(store):
    for i in range(5):
        bad = np.zeros(30 * DAY)
        bad[-(i + 1) * 10 :] = float(i)
        write(store, {"name": "requests", "slo": f"s{i}", "outcome": "ok"}, 100.0 - bad)
        write(store, {"name": "requests", "slo": f"s{i}", "outcome": "error"}, bad)
    slos = [
        replace(ratio_slo(name=f"s{i}"), indicator=load_catalog(_filtered_sli(i)).slis[0]) for i in range(5)
    ]
    counting = CountingReader(store)
    engine = SLOEngine(counting, base_step_ms=10_000)
    together = engine.statuses(slos, lambda _: None, now_ms=END)
    assert counting.calls == 1  # ten queries, one read
    later = engine.statuses(slos, lambda _: None, now_ms=END + STEP)
    assert counting.calls == 2  # the tails of all five, one read again
    for i, (batched, warm) in enumerate(zip(together, later, strict=True)):
        assert isinstance(batched, SLOStatus) and isinstance(warm, SLOStatus)
        alone = status_of(store, slos[i])
        assert batched.objectives[0].report.budget_spent == alone.objectives[0].report.budget_spent
        assert alone.objectives[0].report.budget_spent == pytest.approx(i * (i + 1) * 10)
        burn_down = alone.objectives[0].report.burn_down
        np.testing.assert_array_equal(batched.objectives[0].report.burn_down, burn_down)
        assert warm.window.end_ms == END + STEP


def _filtered_sli(i: int) -> str:
    mine = f"name,requests,:eq,slo,s{i},:eq,:and"
    return f"""
apiVersion: openslo/v1
kind: SLI
metadata: {{name: s{i}-sli}}
spec:
  ratioMetric:
    bad: {{metricSource: {{type: atlas, spec: {{query: "{mine},outcome,error,:eq,:and,:sum"}}}}}}
    total: {{metricSource: {{type: atlas, spec: {{query: "{mine},:sum"}}}}}}
"""


@pytest.mark.parametrize(
    ("windows", "base", "expected"),
    [
        ("", 10_000, 60_000),  # the default tiers: 5 m and up
        ("", 7_000, 7_000),  # a step that does not divide a minute
        ("", 120_000, 120_000),  # a store step of minutes is used as it is
        ("    windows: [{severity: page, long: 12m, short: 1m, budgetPercent: 0.4}]\n", 5_000, 5_000),
        ("    windows: [{severity: page, long: 1h, short: 5m, budgetPercent: 2}]\n", 5_000, 60_000),
    ],
)
def test_the_evaluation_step_is_a_minute_unless_a_window_needs_finer(windows, base, expected):
    from slo.engine import evaluation_step

    extra = f"  watchfloor:\n{windows}" if windows else ""
    assert evaluation_step(ratio_slo(extra=extra), base) == expected


def test_the_current_burn_rate_is_the_fastest_tiers_whatever_their_order(store):
    bad = np.zeros(30 * DAY)
    bad[-30:] = 100.0  # a 30-minute total outage, now
    traffic(store, np.full(30 * DAY, 100.0), bad)
    tiers = (
        "  watchfloor:\n    windows:\n"
        "      - {severity: ticket, long: 1d, short: 2h, budgetPercent: 10}\n"
        "      - {severity: page, long: 1h, short: 5m, budgetPercent: 2}\n"
    )
    objective = status_of(store, ratio_slo(extra=tiers)).objectives[0]
    assert objective.current_burn_rate == pytest.approx(3000 / 6000 / 0.001)


def test_an_slo_that_cannot_be_evaluated_does_not_stop_the_others(store):
    traffic(store, np.full(DAY, 100.0), np.zeros(DAY))
    good = ratio_slo(window="duration: 1d\n      isRolling: true")
    sliced = replace(
        good,
        name="sliced",
        budgeting_method="RatioTimeslices",
        objectives=(replace(good.objectives[0], time_slice_window=parse_duration("5m")),),
    )
    engine = SLOEngine(store, base_step_ms=120_000)  # 5 minutes is not a whole number of 2-minute steps
    broken, fine = engine.statuses([sliced, good], lambda _: None, now_ms=END)
    assert "timeSliceWindow 5m is not a whole number of steps" in str(broken)
    assert isinstance(fine, SLOStatus) and fine.objectives[0].report.sli == 1.0


def test_a_forgotten_slo_keeps_nothing_from_an_evaluation_under_way(store, monkeypatch):
    traffic(store, np.full(DAY, 100.0), np.zeros(DAY))
    slo = ratio_slo(window="duration: 1d\n      isRolling: true")
    engine = SLOEngine(store, base_step_ms=60_000)
    real_read = engine._read

    def read_then_forget(*args):
        found = real_read(*args)
        engine.forget(slo.name)  # a DELETE lands while the read is under way
        return found

    monkeypatch.setattr(engine, "_read", read_then_forget)
    engine.status(slo, lambda _: None, now_ms=END)
    assert slo.name not in engine._entries


def test_a_batch_over_the_point_limit_is_read_request_by_request():
    from slo.batch_reads import PrefetchedReader, ReadRequest
    from store.tag_query import Eq

    calls = []

    class Store:
        def series(self, query, start, end, step, how="avg", *, max_series=None):
            calls.append(max_series)
            from store.interfaces import TooManySeries

            if max_series is not None and max_series < 3:
                raise TooManySeries(3, max_series)
            return []

        def tag_values(self, key, query=None):
            return []

        def tag_keys(self, query=None):
            return []

    requests = [ReadRequest(Eq("name", n), 0, 600_000, 60_000, "avg") for n in ("a", "b", "c")]
    reader = PrefetchedReader(Store(), requests, max_points=20)  # 10 steps: at most 2 series
    assert calls == [2]
    reader.series(Eq("name", "a"), 0, 600_000, 60_000, max_series=5)
    assert calls == [2, 5]  # not prefetched: the store is asked with the caller's limit


def test_one_minute_time_slices_are_read_at_a_one_minute_step():
    from slo.engine import evaluation_step

    sliced = replace(
        ratio_slo(),
        budgeting_method="Timeslices",
        objectives=(
            replace(ratio_slo().objectives[0], time_slice_window=parse_duration("1m"), time_slice_target=0.9),
        ),
    )
    assert evaluation_step(sliced, 10_000) == 60_000


def test_a_quarter_is_budgeted_from_hourly_rollups_once_the_minutes_are_gone(store):
    """90 days; a whole day of errors 80 days ago, which only the 1 h rollups still hold."""
    days = 90
    bad = np.zeros(days * DAY)
    bad[10 * DAY : 11 * DAY] = 100.0
    traffic(store, np.full(days * DAY, 100.0), bad)
    store.roll_up(END + 2 * 3_600_000)
    store.enforce_retention(END)  # raw kept 2 days, minutes 35 days: the outage is hours only now
    quarter = ratio_slo(window="duration: 1Q\n      isRolling: true")
    status = status_of(store, quarter)
    report = status.objectives[0].report
    assert status.burn_down_step_ms == 3_600_000 and report.burn_down.size == days * 24
    assert report.budget_total == pytest.approx(days * DAY * 100 * 0.001)
    assert report.budget_spent == pytest.approx(DAY * 100)
    assert report.budget_remaining == pytest.approx(1 - 144_000 / 12_960)
    assert status.state == "exhausted" and report.no_data_share == 0.0
    # Burn rates still come from the minutes: the last hour is clean.
    assert status.objectives[0].tiers[0].long_rate == 0.0 and status.step_ms == STEP
    # Read by the minute, the outage would be gone: the hourly path is what keeps it.
    by_minute = SLOEngine(store, base_step_ms=10_000, minute_retention_ms=10**13).status(
        quarter, lambda _: None, END
    )
    assert by_minute.objectives[0].report.budget_spent == 0.0
