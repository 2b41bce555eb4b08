"""Sloth-compatible rules exported from OpenSLO SLOs: names, labels, expressions, refusals, and promtool.

promtool (Debian's prometheus package, installed by ``make test``) checks every export and
runs unit tests that feed counters through the rules: 0.05 % errors records a 0.0005 error
ratio and fires nothing, a burst of 100 % errors fires the page and ticket alerts.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from slo.burn import error_budget
from slo.model import SLO
from slo.openslo import load_catalog
from slo.problems import ValidationError
from slo.prometheus_rules import export_rules
from tests.slo.support import MISSING, with_field

RATIO = "spec.indicator.spec.ratioMetric"
SLO_ID = "playback-playback-start-availability"
IDS = {"sloth_id": SLO_ID, "sloth_service": "playback", "sloth_slo": "playback-start-availability"}
FILTER = f'{{sloth_id="{SLO_ID}", sloth_service="playback", sloth_slo="playback-start-availability"}}'
BUDGET = repr(error_budget(0.999))  # 1 − 0.999 in floats, 0.0010000000000000009, printed exactly
ALERT = "PlaybackStartAvailabilityBurnRate"


def _source(kind, query):
    return {"metricSource": {"type": kind, "spec": {"query": query}}}


ATLAS: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "playback-start-availability"},
    "spec": {
        "service": "playback",
        "indicator": {
            "metadata": {"name": "playback-start-ok"},
            "spec": {
                "ratioMetric": {
                    "counter": True,
                    "good": _source("atlas", "name,playback.starts,:eq,status,5xx,:eq,:not,:and,:sum"),
                    "total": _source("atlas", "name,playback.starts,:eq,:sum"),
                }
            },
        },
        "timeWindow": [{"duration": "30d", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"target": 0.999}],
    },
}
PROMETHEUS = with_field(
    ATLAS,
    "spec.indicator.spec.ratioMetric",
    {
        "bad": _source("prometheus", 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'),
        "total": _source("prometheus", "sum(rate(http_requests_total[{{.window}}]))"),
    },
)
CUSTOM_WINDOWS = with_field(
    ATLAS,
    "spec.watchfloor",
    {"windows": [{"severity": "critical", "long": "2h", "short": "10m", "budgetPercent": 5}]},
)
RATIO_TIMESLICES = with_field(
    with_field(ATLAS, "spec.budgetingMethod", "RatioTimeslices"),
    "spec.objectives",
    [{"target": 0.999, "timeSliceWindow": "5m"}],
)
TIMESLICES = with_field(
    with_field(ATLAS, "spec.budgetingMethod", "Timeslices"),
    "spec.objectives",
    [{"target": 0.999, "timeSliceWindow": "5m", "timeSliceTarget": 0.95}],
)
THRESHOLD = with_field(
    with_field(
        with_field(ATLAS, "spec.indicator.spec.ratioMetric", MISSING),
        "spec.indicator.spec.thresholdMetric",
        _source("atlas", "name,latency,:eq,:max"),
    ),
    "spec.objectives",
    [{"target": 0.99, "op": "lt", "value": 0.5}],
)
MIN_EVENTS = with_field(ATLAS, "spec.watchfloor", {"minEvents": 50})
CALENDAR = with_field(
    ATLAS,
    "spec.timeWindow",
    [{"duration": "1M", "calendar": {"startTime": "2026-01-01 00:00:00", "timeZone": "UTC"}}],
)


def _slo(doc, *others) -> SLO:
    return load_catalog(yaml.safe_dump_all([doc, *others])).slos[0]


def _export(doc) -> dict:
    return yaml.safe_load(export_rules(_slo(doc)))


def _group(rules: dict, kind: str) -> list[dict]:
    (group,) = [g for g in rules["groups"] if g["name"] == f"sloth-slo-{kind}-{SLO_ID}"]
    return group["rules"]


def _record(rules: dict, kind: str, name: str) -> dict:
    (rule,) = [r for r in _group(rules, kind) if r["record"] == name]
    return rule


def _alert(rules: dict, severity: str) -> dict:
    (rule,) = [r for r in _group(rules, "alerts") if r["labels"]["sloth_severity"] == severity]
    return rule


def _pair(short: str, long: str, threshold: str) -> str:
    limit = f"({threshold} * {BUDGET})"
    return (
        f"    max(slo:sli_error:ratio_rate{short}{FILTER} > {limit}) without (sloth_window)\n"
        "    and\n"
        f"    max(slo:sli_error:ratio_rate{long}{FILTER} > {limit}) without (sloth_window)\n"
    )


# --- an Atlas ratio SLO with the default windows ---------------------------------------------------


def test_the_three_groups_are_named_as_sloth_names_them():
    assert [g["name"] for g in _export(ATLAS)["groups"]] == [
        f"sloth-slo-sli-recordings-{SLO_ID}",
        f"sloth-slo-meta-recordings-{SLO_ID}",
        f"sloth-slo-alerts-{SLO_ID}",
    ]


def test_an_sli_rule_is_recorded_for_every_tier_window_then_the_period():
    records = [r["record"] for r in _group(_export(ATLAS), "sli-recordings")]
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert records == [f"slo:sli_error:ratio_rate{w}" for w in windows]


def test_every_sli_rule_carries_the_slo_ids_and_its_window():
    for rule in _group(_export(ATLAS), "sli-recordings"):
        window = rule["record"].removeprefix("slo:sli_error:ratio_rate")
        assert rule["labels"] == {**IDS, "sloth_window": window}


def test_the_sli_is_the_translated_atlas_query_as_an_error_ratio():
    rule = _record(_export(ATLAS), "sli-recordings", "slo:sli_error:ratio_rate1h")
    starts = '__name__=~"playback_starts_total|playback_starts_count"'
    assert rule["expr"] == (
        f'1 - (\n(sum(rate({{{starts}, status!="5xx"}}[1h])))\n/\n(sum(rate({{{starts}}}[1h])))\n)\n'
    )


def test_the_occurrences_period_rule_counts_events_over_the_whole_period():
    expr = _record(_export(ATLAS), "sli-recordings", "slo:sli_error:ratio_rate30d")["expr"]
    assert "[30d]" in expr
    assert "sum_over_time" not in expr


def test_the_meta_rules_are_sloths():
    rules = _export(ATLAS)
    assert [r["record"] for r in _group(rules, "meta-recordings")] == [
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ]
    meta = {r["record"]: r for r in _group(rules, "meta-recordings")}
    assert meta["slo:objective:ratio"]["expr"] == "vector(0.999)"
    assert meta["slo:error_budget:ratio"]["expr"] == "vector(1-0.999)"
    assert meta["slo:time_period:days"]["expr"] == "vector(30)"
    assert meta["slo:current_burn_rate:ratio"]["expr"].startswith(f"slo:sli_error:ratio_rate5m{FILTER}\n")
    assert meta["slo:period_burn_rate:ratio"]["expr"].startswith(f"slo:sli_error:ratio_rate30d{FILTER}\n")
    assert (
        meta["slo:period_error_budget_remaining:ratio"]["expr"] == f"1 - slo:period_burn_rate:ratio{FILTER}"
    )
    assert all(meta[name]["labels"] == IDS for name in list(meta)[:-1])
    assert meta["sloth_slo_info"]["labels"] == {
        **IDS,
        "sloth_mode": "watchfloor-export",
        "sloth_objective": "99.9",
        "sloth_spec": "openslo/v1",
    }


def test_the_page_alert_ors_the_14_4_and_6_pairs_over_the_budget():
    page = _alert(_export(ATLAS), "page")
    assert page["alert"] == ALERT
    assert page["expr"] == f"(\n{_pair('5m', '1h', '14.4')})\nor\n(\n{_pair('30m', '6h', '6')})\n"
    assert page["labels"] == {"sloth_severity": "page", "watchfloor_slo": "playback-start-availability"}
    assert set(page["annotations"]) == {"summary", "title"}
    assert page["annotations"]["title"].startswith("(page) ")
    assert "for" not in page


def test_the_ticket_alert_ors_the_3_and_1_pairs():
    ticket = _alert(_export(ATLAS), "ticket")
    assert ticket["expr"] == f"(\n{_pair('2h', '1d', '3')})\nor\n(\n{_pair('6h', '3d', '1')})\n"


def test_the_header_says_the_period_counts_events():
    text = export_rules(_slo(ATLAS))
    assert text.startswith("# Generated by Watchfloor from SLO/playback-start-availability")
    assert "counts events over the period (Occurrences)" in text


# --- variations ------------------------------------------------------------------------------------


def test_custom_windows_are_the_only_tiers_recorded_and_alerted_on():
    rules = _export(CUSTOM_WINDOWS)
    records = [r["record"] for r in _group(rules, "sli-recordings")]
    assert records == [
        "slo:sli_error:ratio_rate10m",
        "slo:sli_error:ratio_rate2h",
        "slo:sli_error:ratio_rate30d",
    ]
    (alert,) = _group(rules, "alerts")
    # 5 % of a 30-day budget in 2 hours: 5 × 720 / 100 / 2 = 18.
    assert alert["expr"] == f"(\n{_pair('10m', '2h', '18')})\n"
    assert alert["labels"]["sloth_severity"] == "critical"
    current = _record(rules, "meta-recordings", "slo:current_burn_rate:ratio")
    assert current["expr"].startswith("slo:sli_error:ratio_rate10m")


def test_a_prometheus_sli_gets_each_window_in_its_placeholder():
    rule = _record(_export(PROMETHEUS), "sli-recordings", "slo:sli_error:ratio_rate6h")
    assert rule["expr"] == (
        '(sum(rate(http_requests_total{code=~"5.."}[6h])))\n/\n(sum(rate(http_requests_total[6h])))\n'
    )


def test_ratio_timeslices_averages_the_slice_ratios_as_sloth_does():
    expr = _record(_export(RATIO_TIMESLICES), "sli-recordings", "slo:sli_error:ratio_rate30d")["expr"]
    assert expr == (
        f"sum_over_time(slo:sli_error:ratio_rate5m{FILTER}[30d])\n"
        "/ ignoring (sloth_window)\n"
        f"count_over_time(slo:sli_error:ratio_rate5m{FILTER}[30d])\n"
    )


def test_min_events_adds_an_event_count_on_each_long_window():
    page = _alert(_export(MIN_EVENTS), "page")
    total = 'sum(rate({__name__=~"playback_starts_total|playback_starts_count"}[1h]))'
    assert f"    and on ()\n    (({total}) * 3600 >= 50)\n" in page["expr"]
    assert "[6h]))) * 21600 >= 50)" in page["expr"]


def test_an_occurrences_period_equal_to_an_alert_window_is_recorded_once():
    rules = _export(with_field(ATLAS, "spec.timeWindow", [{"duration": "3d", "isRolling": True}]))
    records = [r["record"] for r in _group(rules, "sli-recordings")]
    assert records.count("slo:sli_error:ratio_rate3d") == 1
    assert records[-1] == "slo:sli_error:ratio_rate3d"


def test_a_calendar_period_is_exported_as_a_rolling_one_and_says_so():
    text = export_rules(_slo(CALENDAR))
    assert "The calendar period 1M is evaluated as a rolling 30d" in text
    assert "slo:sli_error:ratio_rate30d" in text


def test_exclusions_are_not_applied_and_the_header_says_so():
    doc = with_field(
        ATLAS, "spec.watchfloor", {"exclusions": [{"start": "2026-01-06 02:00:00", "duration": "1h"}]}
    )
    assert "Maintenance exclusions are not applied" in export_rules(_slo(doc))


# --- refusals --------------------------------------------------------------------------------------


def _problems(slo: SLO):
    with pytest.raises(ValidationError) as caught:
        export_rules(slo)
    return [(p.document, p.path, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("doc", "path", "reason"),
    [
        pytest.param(
            TIMESLICES,
            "spec.budgetingMethod",
            "Timeslices",
            id="Timeslices budgeting has no Sloth form",
        ),
        pytest.param(
            THRESHOLD,
            "spec.indicator.spec.thresholdMetric",
            "event ratios",
            id="a threshold metric is refused",
        ),
        pytest.param(
            with_field(ATLAS, f"{RATIO}.total", _source("prometheus", "sum(rate(http_requests_total[5m]))")),
            f"{RATIO}.total.metricSource.spec.query",
            "no {{.window}} placeholder",
            id="a PromQL source without the window placeholder is refused",
        ),
        pytest.param(
            with_field(ATLAS, f"{RATIO}.good", _source("atlas", "name,playback.starts,:eq,:max")),
            f"{RATIO}.good.metricSource.spec.query",
            ":max does not count events",
            id="an untranslatable Atlas query is refused",
        ),
        pytest.param(
            with_field(ATLAS, "spec.watchfloor", {"windows": []}),
            "spec.watchfloor.windows",
            "at least one window pair",
            id="an SLO with no window pairs has nothing to alert on",
        ),
        pytest.param(
            with_field(RATIO_TIMESLICES, "spec.timeWindow", [{"duration": "3d", "isRolling": True}]),
            "spec.timeWindow[0].duration",
            "3d is also an alert or slice window",
            id="a RatioTimeslices period equal to an alert window would record one name twice",
        ),
        pytest.param(
            with_field(ATLAS, "spec.objectives", [{"target": 0.99}, {"target": 0.999}]),
            "spec.objectives",
            "one objective",
            id="two objectives are refused rather than half exported",
        ),
    ],
)
def test_an_slo_that_cannot_be_exported_is_refused_at_its_field(doc, path, reason):
    problems = _problems(_slo(doc))
    assert [(document, where) for document, where, _ in problems] == [
        ("SLO/playback-start-availability", path)
    ]
    assert reason in problems[0][2]


def test_every_refusal_is_reported_at_once():
    doc = with_field(TIMESLICES, f"{RATIO}.good", _source("atlas", "name,x,:eq,:max"))
    doc = with_field(doc, f"{RATIO}.total", _source("atlas", "name,x,:eq,a,b,:eq,:or"))
    paths = [path for _, path, _ in _problems(_slo(doc))]
    assert paths == [
        f"{RATIO}.good.metricSource.spec.query",
        f"{RATIO}.total.metricSource.spec.query",
        "spec.budgetingMethod",
    ]


def test_a_composite_slo_is_refused():
    composite = copy.deepcopy(ATLAS)
    composite["metadata"]["name"] = "playback-overall"
    del composite["spec"]["indicator"]
    composite["spec"]["watchfloor"] = {"composite": {"components": [{"slo": "playback-start-availability"}]}}
    slo = load_catalog(yaml.safe_dump_all([ATLAS, composite])).slos[1]
    ((document, path, reason),) = _problems(slo)
    assert (document, path) == ("SLO/playback-overall", "spec.watchfloor.composite")
    assert "export its components" in reason


# --- promtool --------------------------------------------------------------------------------------


def _promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if found is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (make test does, as root)")
    return found


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(ATLAS, id="an Atlas ratio SLO with the default windows"),
        pytest.param(CUSTOM_WINDOWS, id="custom windows"),
        pytest.param(PROMETHEUS, id="a PromQL SLI"),
        pytest.param(RATIO_TIMESLICES, id="RatioTimeslices"),
        pytest.param(MIN_EVENTS, id="a minimum event count"),
        pytest.param(CALENDAR, id="a calendar period"),
    ],
)
def test_promtool_accepts_the_exported_rules(doc, tmp_path):
    (tmp_path / "rules.yaml").write_text(export_rules(_slo(doc)))
    result = _run("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _firing(severity: str) -> dict:
    service, slo = "playback", "playback-start-availability"
    return {
        "exp_labels": {**IDS, "sloth_severity": severity, "watchfloor_slo": slo},
        "exp_annotations": {
            "summary": f"{service} {slo} SLO error budget burn rate is over expected.",
            "title": f"({severity}) {service} {slo} SLO error budget burn rate is too fast.",
        },
    }


def _rounded(expr: str, window: str, value: float) -> dict:
    """``expr`` at 60 minutes, rounded: promtool compares floats exactly, and rate() extrapolates."""
    labels = ", ".join(f'{key}="{value}"' for key, value in {**IDS, "sloth_window": window}.items())
    return {
        "expr": f"round({expr}, 0.0001)",
        "eval_time": "60m",
        "exp_samples": [{"labels": f"{{{labels}}}", "value": value}],
    }


def _unit_test(alerts_at_80m: list[dict]) -> dict:
    """An hour of 2,000 playback starts a minute with 1 failing (0.05 %), then every new start failing."""
    return {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'playback_starts_total{status="ok"}', "values": "0+1999x60 119940+0x59"},
                    {"series": 'playback_starts_total{status="5xx"}', "values": "0+1x60 160+100x59"},
                ],
                "promql_expr_test": [
                    _rounded("slo:sli_error:ratio_rate5m", "5m", 0.0005),
                    # Half the budget's pace: a burn rate of 0.5 over the period so far.
                    _rounded("slo:period_error_budget_remaining:ratio", "30d", 0.5),
                ],
                "alert_rule_test": [
                    {"eval_time": "60m", "alertname": ALERT, "exp_alerts": []},
                    {"eval_time": "80m", "alertname": ALERT, "exp_alerts": alerts_at_80m},
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("doc", "alerts_at_80m"),
    [
        pytest.param(
            ATLAS,
            [_firing("page"), _firing("ticket")],
            id="0.05 % errors fire nothing, a burst of 100 % errors pages and tickets",
        ),
        pytest.param(
            RATIO_TIMESLICES,
            [_firing("page"), _firing("ticket")],
            id="RatioTimeslices: the mean of steady 0.05 % ratios leaves half the budget's pace too",
        ),
        pytest.param(
            with_field(ATLAS, "spec.watchfloor", {"minEvents": 50_000}),
            [_firing("page"), _firing("ticket")],
            id="the burst still fires when every long window holds the minimum event count",
        ),
        pytest.param(
            with_field(ATLAS, "spec.watchfloor", {"minEvents": 1_000_000}),
            [],
            id="the same burst fires nothing below the minimum event count",
        ),
    ],
)
def test_promtool_unit_test_computes_what_the_rules_claim(doc, alerts_at_80m, tmp_path):
    (tmp_path / "rules.yaml").write_text(export_rules(_slo(doc)))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(_unit_test(alerts_at_80m), sort_keys=False))
    result = _run("test", "rules", "test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
