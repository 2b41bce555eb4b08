"""Kayenta execution requests read into judgement plans (canary/requests.py).

The planning rules are those of Kayenta's ``SetupAndExecuteCanariesStage`` as the module
docstring states them: growing windows from scopes[0]'s start, sliding ones with
``lookbackMins``, the warm-up shifting real-time windows only, the control window moved
back by ``controlOffsetInMinutes``, and each judgement due once its window has settled and
never before the warm-up has passed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from canary.config import load_canary_config
from canary.requests import read_canary_request, read_standalone_request, read_thresholds
from canary.scopes import RequestError, ScopePair, ScopeWindow, parse_instant
from canary.scorer import Thresholds

MINUTE = 60_000
SETTLE = 90_000
STEP = 60_000
T0 = parse_instant("2026-11-24T10:00:00Z", "t0")
NOW = parse_instant("2026-11-24T12:00:00Z", "now")  # after every explicit window below


def at(hhmm: str) -> int:
    return parse_instant(f"2026-11-24T{hhmm}:00Z", "at")


def config(scope_name: str = "default", thresholds: dict | None = None):
    raw: dict[str, Any] = {
        "name": "c",
        "metrics": [
            {
                "name": "latency",
                "query": {"type": "atlas", "q": "name,x,:eq,:sum"},
                "groups": ["g"],
                "scopeName": scope_name,
                "analysisConfigurations": {"canary": {}},
            }
        ],
    }
    if thresholds is not None:
        raw["classifier"] = {"scoreThresholds": thresholds}
    return load_canary_config(raw)


CONFIG = config()


def standalone(scope: dict | None = None, **top) -> dict:
    """A standalone request with one scope named ``default``; ``scope`` adds to (or, with None
    values, removes from) that scope, ``top`` to the request."""
    first = {"scopeName": "default", "controlScope": "app-baseline", "experimentScope": "app-canary"}
    for key, value in (scope or {}).items():
        if value is None:
            first.pop(key, None)
        else:
            first[key] = value
    request = {"scopes": [first], "thresholds": {"pass": 95, "marginal": 75}}
    request.update(top)
    return request


def plan(request: dict, *, cfg=CONFIG, now_ms: int = NOW, settle_ms: int = SETTLE):
    return read_standalone_request(request, cfg, default_step_ms=STEP, settle_ms=settle_ms, now_ms=now_ms)


def windows(plans, side: str = "experiment") -> list[tuple[int, int]]:
    return [
        (getattr(p.scopes["default"], side).start_ms, getattr(p.scopes["default"], side).end_ms)
        for p in plans
    ]


EXPLICIT = {"startTimeIso": "2026-11-24T10:00:00Z", "endTimeIso": "2026-11-24T10:30:00Z"}


# --- growing and sliding windows ------------------------------------------------------------


def test_growing_windows_from_an_explicit_start_and_end():
    # planned before the analysis starts: each judgement is due once its window has settled
    plans, thresholds, timing = plan(standalone(EXPLICIT, analysisIntervalMins=10), now_ms=at("09:00"))
    assert windows(plans) == [
        (at("10:00"), at("10:10")),
        (at("10:00"), at("10:20")),
        (at("10:00"), at("10:30")),
    ]
    assert windows(plans, "control") == windows(plans)
    assert [p.due_ms for p in plans] == [at("10:10") + SETTLE, at("10:20") + SETTLE, at("10:30") + SETTLE]
    assert thresholds == Thresholds(95.0, 75.0)
    assert (timing["startMs"], timing["endMs"]) == (at("10:00"), at("10:30"))
    assert (timing["lifetimeMs"], timing["intervalMs"]) == (30 * MINUTE, 10 * MINUTE)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at("12:00"), [at("12:00")] * 3),  # all settled: due at once
        (at("10:20"), [at("10:20"), at("10:20") + SETTLE, at("10:30") + SETTLE]),  # first settled
        (at("10:11"), [at("10:11") + 30_000, at("10:20") + SETTLE, at("10:30") + SETTLE]),  # settling
    ],
    ids=["all-settled", "one-settled", "one-settling"],
)
def test_explicit_windows_are_due_at_the_later_of_now_and_settled(now, expected):
    plans, _, _ = plan(standalone(EXPLICIT, analysisIntervalMins=10), now_ms=now)
    assert [p.due_ms for p in plans] == expected


def test_lookback_slides_the_windows():
    plans, _, timing = plan(
        standalone(EXPLICIT, analysisIntervalMins=10, lookbackMins=10), now_ms=at("09:00")
    )
    assert windows(plans) == [
        (at("10:00"), at("10:10")),
        (at("10:10"), at("10:20")),
        (at("10:20"), at("10:30")),
    ]
    assert [p.due_ms for p in plans] == [end + SETTLE for _, end in windows(plans)]
    assert timing["lookbackMs"] == 10 * MINUTE


def test_a_lookback_longer_than_the_interval_overlaps_the_windows():
    plans, _, _ = plan(standalone(EXPLICIT, analysisIntervalMins=10, lookbackMins=15))
    assert windows(plans) == [
        (at("09:55"), at("10:10")),
        (at("10:05"), at("10:20")),
        (at("10:15"), at("10:30")),
    ]


# --- real time and the warm-up ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_iso", "now"),
    [
        (None, at("10:00")),  # no start: the analysis starts now
        ("2026-11-24T10:00:00Z", at("10:00")),  # starting now
        ("2026-11-24T10:00:00Z", at("11:30")),  # started in the past: due waits for the warm-up
        ("2026-11-24T10:00:00Z", at("09:00")),  # starting in the future
    ],
    ids=["start-absent", "start-now", "start-past", "start-future"],
)
def test_real_time_windows_are_shifted_by_the_warm_up(start_iso, now):
    request = standalone(
        {"startTimeIso": start_iso}, lifetimeDurationMins=30, analysisIntervalMins=10, beginAfterMins=5
    )
    plans, _, timing = plan(request, now_ms=now)
    start = now if start_iso is None else at("10:00")
    warm_up = 5 * MINUTE
    assert windows(plans) == [(start + warm_up, start + warm_up + i * 10 * MINUTE) for i in (1, 2, 3)]
    assert windows(plans, "control") == windows(plans)
    for p, (_, end) in zip(plans, windows(plans), strict=True):
        assert p.due_ms == max(end + SETTLE, now + warm_up)
        assert p.due_ms >= now + warm_up
    assert (timing["startMs"], timing["endMs"], timing["beginAfterMs"]) == (start, None, warm_up)


def test_a_real_time_analysis_started_in_the_past_is_not_due_before_the_warm_up():
    now = at("11:30")
    plans, _, _ = plan(
        standalone({"startTimeIso": "2026-11-24T10:00:00Z"}, lifetimeDurationMins=30, beginAfterMins=5),
        now_ms=now,
    )
    assert windows(plans) == [(at("10:05"), at("10:35"))]
    assert [p.due_ms for p in plans] == [now + 5 * MINUTE]


@pytest.mark.parametrize("now", [at("09:00"), at("10:00"), at("10:20"), at("12:00")])
def test_with_an_end_time_the_warm_up_delays_but_does_not_shift(now):
    plans, _, _ = plan(standalone(EXPLICIT, analysisIntervalMins=10, beginAfterMins=5), now_ms=now)
    assert windows(plans) == [
        (at("10:00"), at("10:10")),
        (at("10:00"), at("10:20")),
        (at("10:00"), at("10:30")),
    ]
    for p, (_, end) in zip(plans, windows(plans), strict=True):
        assert p.due_ms == max(end + SETTLE, now + 5 * MINUTE)
        assert p.due_ms >= now + 5 * MINUTE


# --- the interval and the number of judgements ----------------------------------------------


@pytest.mark.parametrize(
    ("top", "expected_ends"),
    [
        ({}, [30]),
        ({"analysisIntervalMins": 0}, [30]),
        ({"analysisIntervalMins": 30}, [30]),
        ({"analysisIntervalMins": 45}, [30]),
        ({"analysisIntervalMins": 10}, [10, 20, 30]),
        ({"lifetimeDurationMins": 25, "analysisIntervalMins": 10}, [10, 20]),  # remainder dropped
        ({"lifetimeDurationMins": 1.5, "analysisIntervalMins": 0.5}, [0.5, 1, 1.5]),  # fractional
    ],
    ids=["missing", "zero", "equal", "longer", "ten", "remainder", "fractional"],
)
def test_the_interval_decides_how_many_judgements(top, expected_ends):
    request = standalone({"startTimeIso": "2026-11-24T10:00:00Z"}, **{"lifetimeDurationMins": 30, **top})
    plans, _, timing = plan(request)
    assert windows(plans) == [(T0, T0 + int(m * MINUTE)) for m in expected_ends]
    assert timing["lifetimeMs"] == int(top.get("lifetimeDurationMins", 30) * MINUTE)


def test_an_explicit_end_decides_the_lifetime_over_lifetime_duration_mins():
    plans, _, timing = plan(standalone(EXPLICIT, lifetimeDurationMins=120, analysisIntervalMins=10))
    assert timing["lifetimeMs"] == 30 * MINUTE
    assert len(plans) == 3


def test_an_explicit_end_keeps_its_exact_lifetime():
    scope = {"startTimeIso": "2026-11-24T10:00:00Z", "endTimeIso": "2026-11-24T10:20:30Z"}
    plans, _, timing = plan(standalone(scope, analysisIntervalMins=10))
    assert timing["lifetimeMs"] == 20 * MINUTE + 30_000
    assert windows(plans) == [(at("10:00"), at("10:10")), (at("10:00"), at("10:20"))]


def test_a_thousand_judgements_are_allowed():
    plans, _, _ = plan(
        standalone(
            {"startTimeIso": "2026-11-24T10:00:00Z"}, lifetimeDurationMins=1000, analysisIntervalMins=1
        )
    )
    assert len(plans) == 1000
    assert windows(plans)[-1] == (T0, T0 + 1000 * MINUTE)


# --- scopes: control offset, step, scope keys, locations -----------------------------------


def test_the_control_offset_moves_only_the_control_window_back():
    plans, _, _ = plan(
        standalone({**EXPLICIT, "controlOffsetInMinutes": 60}, analysisIntervalMins=10), now_ms=at("09:00")
    )
    assert windows(plans) == [
        (at("10:00"), at("10:10")),
        (at("10:00"), at("10:20")),
        (at("10:00"), at("10:30")),
    ]
    assert windows(plans, "control") == [
        (at("09:00"), at("09:10")),
        (at("09:00"), at("09:20")),
        (at("09:00"), at("09:30")),
    ]
    # due follows the experiment's window, which is the later one
    assert [p.due_ms for p in plans] == [end + SETTLE for _, end in windows(plans)]


@pytest.mark.parametrize(
    ("extra", "step_ms", "key"),
    [
        ({}, STEP, "nf.cluster"),
        ({"step": 10}, 10_000, "nf.cluster"),
        ({"step": 0.5}, 500, "nf.cluster"),
        ({"extendedScopeParams": {"type": "node"}}, STEP, "nf.node"),
        ({"extendedScopeParams": {"type": "asg"}}, STEP, "nf.asg"),
        ({"extendedScopeParams": {"type": "region"}}, STEP, "nf.region"),
        ({"extendedScopeParams": {"type": "node", "tagKey": "instance"}}, STEP, "instance"),
        ({"extendedScopeParams": {"tagKey": "pod"}, "step": 30}, 30_000, "pod"),
    ],
    ids=["defaults", "step", "fractional-step", "node", "asg", "region", "tag-key-wins", "tag-key+step"],
)
def test_step_and_scope_key(extra, step_ms, key):
    plans, _, _ = plan(standalone({**EXPLICIT, **extra}))
    pair = plans[0].scopes["default"]
    assert pair == ScopePair(
        ScopeWindow("app-baseline", at("10:00"), at("10:30"), step_ms, key, ""),
        ScopeWindow("app-canary", at("10:00"), at("10:30"), step_ms, key, ""),
    )


def test_locations_and_every_scope_are_carried_into_each_judgement():
    cfg = load_canary_config(
        {
            "name": "c",
            "metrics": [
                {
                    "name": name,
                    "query": {"type": "atlas", "q": "name,x,:eq,:sum"},
                    "groups": ["g"],
                    "scopeName": scope,
                    "analysisConfigurations": {"canary": {}},
                }
                for name, scope in (("latency", "default"), ("errors", "db"))
            ],
        }
    )
    request = standalone({**EXPLICIT, "controlLocation": "us-east-1", "experimentLocation": "us-west-2"})
    request["scopes"].append(
        {
            "scopeName": "db",
            "controlScope": "db-baseline",
            "experimentScope": "db-canary",
            "controlOffsetInMinutes": 30,
            # only scopes[0]'s times count
            "startTimeIso": "2020-01-01T00:00:00Z",
        }
    )
    plans, _, _ = plan(request, cfg=cfg)
    assert len(plans) == 1
    scopes = plans[0].scopes
    assert set(scopes) == {"default", "db"}
    assert (scopes["default"].control.location, scopes["default"].experiment.location) == (
        "us-east-1",
        "us-west-2",
    )
    assert scopes["db"].experiment == ScopeWindow("db-canary", at("10:00"), at("10:30"), STEP)
    assert scopes["db"].control == ScopeWindow("db-baseline", at("09:30"), at("10:00"), STEP)


def test_fractional_warm_up_and_offset_minutes():
    request = standalone(
        {"startTimeIso": "2026-11-24T10:00:00Z", "controlOffsetInMinutes": 0.5},
        lifetimeDurationMins=2,
        beginAfterMins=1.5,
    )
    plans, _, _ = plan(request, now_ms=T0)
    assert windows(plans) == [(T0 + 90_000, T0 + 210_000)]
    assert windows(plans, "control") == [(T0 + 60_000, T0 + 180_000)]
    assert plans[0].due_ms == T0 + 210_000 + SETTLE


# --- bad requests ----------------------------------------------------------------------------


def _without_controlscope():
    request = standalone(EXPLICIT)
    del request["scopes"][0]["controlScope"]
    return request


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (
            standalone({"startTimeIso": "2026-11-24T10:30:00Z", "endTimeIso": "2026-11-24T10:00:00Z"}),
            "executionRequest.scopes[0].endTimeIso",
        ),
        (
            standalone({"startTimeIso": "2026-11-24T10:00:00Z", "endTimeIso": "2026-11-24T10:00:00Z"}),
            "executionRequest.scopes[0].endTimeIso",
        ),
        (standalone({"startTimeIso": "2026-11-24T10:00:00Z"}), "executionRequest.lifetimeDurationMins"),
        (standalone({}, lifetimeDurationMins=0), "executionRequest.lifetimeDurationMins"),
        (standalone({}, lifetimeDurationMins=-30), "executionRequest.lifetimeDurationMins"),
        (standalone({}, lifetimeDurationMins="30"), "executionRequest.lifetimeDurationMins"),
        (standalone({}, lifetimeDurationMins=True), "executionRequest.lifetimeDurationMins"),
        (standalone({}, lifetimeDurationMins=float("nan")), "executionRequest.lifetimeDurationMins"),
        (standalone(EXPLICIT, analysisIntervalMins=-10), "executionRequest.analysisIntervalMins"),
        (standalone(EXPLICIT, beginAfterMins=-1), "executionRequest.beginAfterMins"),
        (standalone(EXPLICIT, lookbackMins=-1), "executionRequest.lookbackMins"),
        (
            standalone({**EXPLICIT, "controlOffsetInMinutes": -60}),
            "executionRequest.scopes[0].controlOffsetInMinutes",
        ),
        ({"scopes": {"default": {}}, "lifetimeDurationMins": 30}, "executionRequest.scopes"),
        ({"scopes": [], "lifetimeDurationMins": 30}, "executionRequest.scopes"),
        ({"lifetimeDurationMins": 30}, "executionRequest.scopes"),
        ([], "executionRequest"),
        ({"scopes": ["default"], "lifetimeDurationMins": 30}, "executionRequest.scopes[0]"),
        (_without_controlscope(), "executionRequest.scopes[0].controlScope"),
        (standalone({**EXPLICIT, "experimentScope": ""}), "executionRequest.scopes[0].experimentScope"),
        (standalone({**EXPLICIT, "controlScope": " drm-v1"}), "executionRequest.scopes[0].controlScope"),
        (
            standalone({**EXPLICIT, "experimentScope": "x" * 257}),
            "executionRequest.scopes[0].experimentScope",
        ),
        (standalone({**EXPLICIT, "scopeName": ""}), "executionRequest.scopes[0].scopeName"),
        (
            standalone({"startTimeIso": "yesterday", "endTimeIso": "2026-11-24T10:30:00Z"}),
            "executionRequest.scopes[0].startTimeIso",
        ),
        (
            standalone({"startTimeIso": "2026-11-24T10:00:00Z", "endTimeIso": "2026-11-24T25:00:00Z"}),
            "executionRequest.scopes[0].endTimeIso",
        ),
        (standalone({**EXPLICIT, "step": 0}), "executionRequest.scopes[0].step"),
        (standalone({**EXPLICIT, "step": -60}), "executionRequest.scopes[0].step"),
        (standalone({**EXPLICIT, "step": "60"}), "executionRequest.scopes[0].step"),
        (
            standalone({**EXPLICIT, "extendedScopeParams": {"type": "pod"}}),
            "executionRequest.scopes[0].extendedScopeParams.type",
        ),
        (
            standalone({**EXPLICIT, "extendedScopeParams": {"tagKey": "a,b"}}),
            "executionRequest.scopes[0].extendedScopeParams.tagKey",
        ),
        (
            standalone(
                {"startTimeIso": "2026-11-24T10:00:00Z"}, lifetimeDurationMins=1001, analysisIntervalMins=1
            ),
            "executionRequest.analysisIntervalMins",
        ),
        (
            standalone(EXPLICIT, thresholds={"pass": 75, "marginal": 95}),
            "executionRequest.thresholds.marginal",
        ),
        (standalone(EXPLICIT, thresholds={"pass": "95", "marginal": 75}), "executionRequest.thresholds.pass"),
        (
            standalone(EXPLICIT, thresholds={"pass": 95, "marginal": None}),
            "executionRequest.thresholds.marginal",
        ),
        (
            standalone(EXPLICIT, thresholds={"pass": 95, "marginal": True}),
            "executionRequest.thresholds.marginal",
        ),
        (standalone(EXPLICIT, thresholds={"pass": 101, "marginal": 75}), "executionRequest.thresholds.pass"),
        (standalone(EXPLICIT, thresholds=[95, 75]), "executionRequest.thresholds"),
        (standalone(EXPLICIT, thresholds=None), "executionRequest.thresholds"),
    ],
    ids=[
        "end-before-start",
        "end-equals-start",
        "no-end-no-lifetime",
        "zero-lifetime",
        "negative-lifetime",
        "string-lifetime",
        "bool-lifetime",
        "nan-lifetime",
        "negative-interval",
        "negative-begin-after",
        "negative-lookback",
        "negative-control-offset",
        "scopes-not-a-list",
        "scopes-empty",
        "scopes-missing",
        "request-not-an-object",
        "scope-not-an-object",
        "missing-control-scope",
        "empty-experiment-scope",
        "space-around-scope",
        "scope-too-long",
        "empty-scope-name",
        "bad-start-instant",
        "bad-end-instant",
        "zero-step",
        "negative-step",
        "string-step",
        "unknown-scope-type",
        "bad-tag-key",
        "too-many-judgements",
        "marginal-above-pass",
        "pass-not-a-number",
        "marginal-missing",
        "marginal-bool",
        "pass-above-100",
        "thresholds-not-an-object",
        "thresholds-absent-unconfigured",
    ],
)
def test_bad_standalone_requests_name_the_field(request_, field):
    with pytest.raises(RequestError) as caught:
        plan(copy.deepcopy(request_))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_a_metric_whose_scope_is_missing_names_that_scope():
    with pytest.raises(RequestError) as caught:
        plan(standalone(EXPLICIT), cfg=config(scope_name="db"))
    assert caught.value.field.startswith("executionRequest.scopes")
    assert caught.value.field.endswith(".db")
    assert "latency" in caught.value.reason
    assert "default" in caught.value.reason  # the scopes the request does have


def test_two_scopes_with_one_name_are_refused():
    request = standalone(EXPLICIT)
    request["scopes"].append(dict(request["scopes"][0]))
    with pytest.raises(RequestError) as caught:
        plan(request)
    assert caught.value.field == "executionRequest.scopes"


# --- thresholds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "configured", "expected"),
    [
        ({"pass": 95, "marginal": 75}, None, Thresholds(95.0, 75.0)),
        ({"pass": 95, "marginal": 75}, (80.0, 60.0), Thresholds(95.0, 75.0)),  # the request wins
        (None, (80.0, 60.0), Thresholds(80.0, 60.0)),  # fallback to the config
        ({"pass": 90.5, "marginal": 90.5}, None, Thresholds(90.5, 90.5)),
        ({"pass": 100, "marginal": 0}, None, Thresholds(100.0, 0.0)),
    ],
    ids=["request", "request-over-config", "config-fallback", "equal", "extremes"],
)
def test_read_thresholds(raw, configured, expected):
    found = read_thresholds(raw, configured, "executionRequest.thresholds")
    assert found == expected
    assert isinstance(found.pass_, float) and isinstance(found.marginal, float)


def test_absent_thresholds_fall_back_to_the_config_in_both_requests():
    cfg = config(thresholds={"pass": 80, "marginal": 60})
    _, thresholds, _ = plan(standalone(EXPLICIT, thresholds=None), cfg=cfg)
    assert thresholds == Thresholds(80.0, 60.0)
    _, thresholds = read_canary_request(
        {"scopes": {"default": pair_request()}}, cfg, default_step_ms=STEP, settle_ms=SETTLE, now_ms=NOW
    )
    assert thresholds == Thresholds(80.0, 60.0)


def test_absent_thresholds_without_config_thresholds_are_refused():
    with pytest.raises(RequestError) as caught:
        read_canary_request(
            {"scopes": {"default": pair_request()}},
            CONFIG,
            default_step_ms=STEP,
            settle_ms=SETTLE,
            now_ms=NOW,
        )
    assert caught.value.field == "executionRequest.thresholds"
    assert "scoreThresholds" in caught.value.reason


# --- /canary requests ------------------------------------------------------------------------


def pair_request(**control) -> dict:
    scope = {
        "location": "us-east-1",
        "start": "2026-11-24T10:00:00Z",
        "end": "2026-11-24T10:30:00Z",
        "step": 30,
    }
    return {
        "controlScope": {"scope": "app-baseline", **scope, **control},
        "experimentScope": {"scope": "app-canary", **scope},
    }


def canary(raw, *, cfg=CONFIG, now_ms: int = NOW):
    return read_canary_request(raw, cfg, default_step_ms=STEP, settle_ms=SETTLE, now_ms=now_ms)


def test_a_canary_request_is_one_plan_over_its_windows():
    found, thresholds = canary(
        {"scopes": {"default": pair_request()}, "thresholds": {"pass": 95, "marginal": 75}}
    )
    assert found.scopes == {
        "default": ScopePair(
            ScopeWindow("app-baseline", at("10:00"), at("10:30"), 30_000, "nf.cluster", "us-east-1"),
            ScopeWindow("app-canary", at("10:00"), at("10:30"), 30_000, "nf.cluster", "us-east-1"),
        )
    }
    assert thresholds == Thresholds(95.0, 75.0)
    assert found.due_ms == NOW  # every window settled long ago: due now


@pytest.mark.parametrize(
    ("control", "now", "due"),
    [
        ({}, at("12:00"), at("12:00")),
        ({}, at("10:00"), at("10:30") + SETTLE),
        ({}, at("10:31"), at("10:30") + SETTLE),
        ({}, at("10:32"), at("10:32")),
        ({}, at("10:30"), at("10:30") + SETTLE),
        # the latest end of either side decides
        ({"end": "2026-11-24T10:45:00Z"}, at("10:00"), at("10:45") + SETTLE),
        ({"start": "2026-11-24T09:00:00Z", "end": "2026-11-24T09:30:00Z"}, at("10:00"), at("10:30") + SETTLE),
    ],
    ids=[
        "settled",
        "future",
        "after-end-before-settled",
        "just-settled",
        "at-end",
        "control-later",
        "control-earlier",
    ],
)
def test_a_canary_request_is_due_once_its_latest_window_has_settled(control, now, due):
    found, _ = canary(
        {"scopes": {"default": pair_request(**control)}, "thresholds": {"pass": 95, "marginal": 75}},
        now_ms=now,
    )
    assert found.due_ms == due


def test_a_canary_request_reads_scope_params_and_epoch_ms():
    pair = pair_request(start=at("10:00"), end=at("10:30"), extendedScopeParams={"type": "zone"})
    del pair["experimentScope"]["step"]
    found, _ = canary({"scopes": {"default": pair}, "thresholds": {"pass": 95, "marginal": 75}})
    control, experiment = found.scopes["default"].control, found.scopes["default"].experiment
    assert (control.start_ms, control.end_ms, control.key, control.step_ms) == (
        at("10:00"),
        at("10:30"),
        "nf.zone",
        30_000,
    )
    assert (experiment.key, experiment.step_ms) == ("nf.cluster", STEP)


def _canary_without_experiment():
    pair = pair_request()
    del pair["experimentScope"]
    return {"scopes": {"default": pair}, "thresholds": {"pass": 95, "marginal": 75}}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_canary_without_experiment(), "executionRequest.scopes.default.experimentScope"),
        (
            {
                "scopes": {"default": pair_request(end="2026-11-24T09:00:00Z")},
                "thresholds": {"pass": 95, "marginal": 75},
            },
            "executionRequest.scopes.default.controlScope",
        ),
        (
            {
                "scopes": {"default": pair_request(start="not a time")},
                "thresholds": {"pass": 95, "marginal": 75},
            },
            "executionRequest.scopes.default.controlScope.start",
        ),
        (
            {
                "scopes": {"default": pair_request(scope="drm-v1 ")},
                "thresholds": {"pass": 95, "marginal": 75},
            },
            "executionRequest.scopes.default.controlScope.scope",
        ),
        (
            {"scopes": {"default": pair_request(step=0)}, "thresholds": {"pass": 95, "marginal": 75}},
            "executionRequest.scopes.default.controlScope.step",
        ),
        (
            {"scopes": {"default": "x"}, "thresholds": {"pass": 95, "marginal": 75}},
            "executionRequest.scopes.default",
        ),
        ({"scopes": {}, "thresholds": {"pass": 95, "marginal": 75}}, "executionRequest.scopes"),
        ({"scopes": [pair_request()], "thresholds": {"pass": 95, "marginal": 75}}, "executionRequest.scopes"),
        ("scopes", "executionRequest"),
        (
            {"scopes": {"other": pair_request()}, "thresholds": {"pass": 95, "marginal": 75}},
            "executionRequest.scopes.default",
        ),
        (
            {"scopes": {"default": pair_request()}, "thresholds": {"pass": 50, "marginal": 60}},
            "executionRequest.thresholds.marginal",
        ),
    ],
    ids=[
        "missing-experiment",
        "end-before-start",
        "bad-start",
        "space-around-scope",
        "zero-step",
        "pair-not-an-object",
        "no-scopes",
        "scopes-a-list",
        "request-not-an-object",
        "metric-scope-missing",
        "marginal-above-pass",
    ],
)
def test_bad_canary_requests_name_the_field(raw, field):
    with pytest.raises(RequestError) as caught:
        canary(copy.deepcopy(raw))
    assert caught.value.field == field


def test_fractional_minutes_are_rounded_to_the_millisecond_not_cut():
    # 2.01 × 60,000 is 120,599.99… in binary floating point: cutting it would lose a judgement.
    request = standalone(
        {"startTimeIso": "2026-11-24T10:00:00Z"}, lifetimeDurationMins=2.01, analysisIntervalMins=0.67
    )
    found, _, timing = plan(request)
    assert timing["lifetimeMs"] == 120_600 and len(found) == 3
    assert windows(found)[-1] == (T0, T0 + 120_600)


def test_a_lifetime_that_rounds_to_nothing_is_refused_naming_the_field():
    request = standalone({"startTimeIso": "2026-11-24T10:00:00Z"}, lifetimeDurationMins=0.000001)
    with pytest.raises(RequestError) as caught:
        plan(request)
    assert caught.value.field == "executionRequest.lifetimeDurationMins"
