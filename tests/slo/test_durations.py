"""OpenSLO durations: units, rolling day equivalents, calendar months and errors naming the text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from slo.durations import Duration, DurationError, calendar_months, parse_duration, rolling_timedelta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("5m", timedelta(minutes=5), id="a lower-case m is minutes"),
        pytest.param("1h", timedelta(hours=1), id="h is hours"),
        pytest.param("28d", timedelta(days=28), id="d is days"),
        pytest.param("2w", timedelta(days=14), id="w is weeks of seven days"),
        pytest.param("1M", timedelta(days=30), id="a rolling month is thirty days"),
        pytest.param("1Q", timedelta(days=90), id="a rolling quarter is ninety days"),
        pytest.param("1Y", timedelta(days=365), id="a rolling year is 365 days"),
        pytest.param("3M", timedelta(days=90), id="rolling months multiply"),
    ],
)
def test_rolling_lengths(text, expected):
    assert rolling_timedelta(text) == expected


@pytest.mark.parametrize(
    ("text", "months"),
    [
        pytest.param("1M", 1, id="a calendar month is one month"),
        pytest.param("2Q", 6, id="a calendar quarter is three months"),
        pytest.param("1Y", 12, id="a calendar year is twelve months"),
    ],
)
def test_calendar_months(text, months):
    assert calendar_months(text) == months


def test_calendar_months_refuses_fixed_units():
    with pytest.raises(DurationError, match="'7d'"):
        calendar_months("7d")


def test_parse_keeps_amount_and_unit():
    parsed = parse_duration("30d")
    assert parsed == Duration(30, "d")
    assert str(parsed) == "30d"
    assert not parsed.is_calendar_unit
    assert parse_duration("1M").is_calendar_unit


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="an empty text is refused"),
        pytest.param("30", id="a number without a unit is refused"),
        pytest.param("d", id="a unit without a number is refused"),
        pytest.param("0d", id="a zero duration is refused"),
        pytest.param("1.5h", id="a fractional amount is refused"),
        pytest.param("1s", id="seconds are not an OpenSLO unit"),
        pytest.param("1D", id="units are case-sensitive"),
        pytest.param(" 1d", id="surrounding spaces are refused"),
        pytest.param("-1d", id="a negative amount is refused"),
    ],
)
def test_invalid_durations_name_the_text(text):
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert caught.value.text == text
    assert repr(text) in str(caught.value)


def test_the_package_surface_does_not_drift():
    import slo

    assert sorted(slo.__all__) == [
        "BudgetReport",
        "Catalog",
        "Duration",
        "DurationError",
        "EvaluationWindow",
        "Problem",
        "ValidationError",
        "budget_consumed",
        "budget_remaining",
        "burn_rate",
        "burn_rate_series",
        "calendar_months",
        "default_windows",
        "error_budget",
        "evaluate_budget",
        "evaluate_objective",
        "evaluation_window",
        "exclusion_mask",
        "load_catalog",
        "parse_duration",
        "rolling_timedelta",
        "scaled_threshold",
        "should_fire",
        "time_to_exhaustion",
        "trailing_burn_rate",
    ]
    assert all(hasattr(slo, name) for name in slo.__all__)
