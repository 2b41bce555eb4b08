"""The CLI's argument handling and settings precedence."""

from __future__ import annotations

import logging

import pytest

from console.cli import build_parser
from console.fleet_runner import FleetOptions, service_command
from console.settings import RepeatFilter, parse_duration, resolve
from sample_services.chaos import Fault
from sample_services.service import InstanceSpec


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("30s", 30.0), ("5m", 300.0), ("1.5h", 5400.0), ("250ms", 0.25), ("2d", 172800.0)],
)
def test_durations_read_like_an_operator_writes_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "five minutes", "-5m", "5x", "m"])
def test_a_bad_duration_is_refused_with_the_input_named(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_a_flag_beats_the_environment_which_beats_the_default():
    environ = {"WATCHFLOOR_BULK_URL": "http://env/_bulk"}
    assert (
        resolve("http://flag/_bulk", "WATCHFLOOR_BULK_URL", "http://default", environ) == "http://flag/_bulk"
    )
    assert resolve(None, "WATCHFLOOR_BULK_URL", "http://default", environ) == "http://env/_bulk"
    assert resolve(None, "WATCHFLOOR_BULK_URL", "http://default", {}) == "http://default"


def test_canary_regressions_are_parsed_per_app():
    args = build_parser().parse_args(["fleet", "--canary-regression", "drm:latency_ms=80,error_rate=0.1;cdn"])
    assert args.canary_regression == {"drm": Fault(80.0, 0.1), "cdn": Fault(40.0, 0.04)}
    assert build_parser().parse_args(["fleet", "--canary-regression", "none"]).canary_regression == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("billing", "unknown app"),
        ("drm:latency_ms=-3", "latency_ms"),
        ("drm:error_rate=2", "error_rate"),
        ("drm:speed=3", "unknown fault key"),
    ],
)
def test_a_bad_regression_is_refused_naming_the_problem(value, message, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fleet", "--canary-regression", value])
    assert message in capsys.readouterr().err


def test_chaos_refuses_an_unreadable_duration(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chaos", "drm", "--for", "soon"])
    assert "is not a duration" in capsys.readouterr().err


def test_an_instance_process_is_started_with_its_cluster_regression_and_upstreams(tmp_path):
    spec = InstanceSpec("drm", 8108, canary=True, regression=Fault(40.0, 0.04))
    options = FleetOptions(
        tmp_path,
        "http://otlp/v1/traces",
        "http://es/_bulk",
        {"drm": ["http://127.0.0.1:8107", "http://127.0.0.1:8108"]},
    )
    command = service_command(spec, options)
    assert command[command.index("service") + 1] == "drm"
    assert "--canary" in command
    assert command[command.index("--regression") + 1] == "latency_ms=40.0,error_rate=0.04"
    assert command[command.index("--upstream") + 1] == "drm=http://127.0.0.1:8107,http://127.0.0.1:8108"
    parsed = build_parser().parse_args(command[command.index("service") :])
    assert (parsed.app, parsed.port, parsed.canary, parsed.regression) == (
        "drm",
        8108,
        True,
        Fault(40.0, 0.04),
    )


def test_repeated_log_lines_are_let_through_once_per_interval():
    repeat = RepeatFilter(interval_s=60.0)
    record = logging.LogRecord("exporter", logging.WARNING, __file__, 1, "export failed: %s", ("x",), None)
    other = logging.LogRecord("exporter", logging.WARNING, __file__, 1, "another problem", (), None)
    assert repeat.filter(record) is True
    assert repeat.filter(record) is False
    assert repeat.filter(other) is True
