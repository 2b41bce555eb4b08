"""Server configuration: file < environment < flags, errors that name the setting, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import ConfigError, ServerConfig, load_config


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchfloor.yaml"
    path.write_text(text)
    return path


def test_defaults_bind_loopback_with_atlas_s_one_minute_step():
    config = load_config(None, environ={})
    assert config == ServerConfig()
    assert (config.host, config.port, config.step_ms) == ("127.0.0.1", 7070, 60_000)
    assert config.fleet_map == Path("var") / "fleet.json"


def test_a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default(tmp_path):
    path = _file(tmp_path, "port: 7001\nstep_ms: 15000\nhost: 127.0.0.2\ndata_dir: /srv/wf\n")
    environ = {"WATCHFLOOR_PORT": "7002", "WATCHFLOOR_STEP_MS": "20000"}
    config = load_config(path, environ=environ, overrides={"port": 7003, "host": None})
    assert config.port == 7003  # flag
    assert config.step_ms == 20_000  # environment over file
    assert config.host == "127.0.0.2"  # file (the flag was not given)
    assert config.data_dir == Path("/srv/wf")
    assert config.scrape_timeout_s == 5.0  # default


def test_targets_and_retention_come_from_the_file(tmp_path):
    path = _file(
        tmp_path,
        "targets:\n  - url: http://10.0.0.5:9100/metrics\n    tags: {nf.app: edge, nf.node: i-1}\n"
        "retention:\n  logs_ms: 3600000\n",
    )
    config = load_config(path, environ={})
    assert config.targets[0].url == "http://10.0.0.5:9100/metrics"
    assert dict(config.targets[0].tags) == {"nf.app": "edge", "nf.node": "i-1"}
    assert config.retention.logs_ms == 3_600_000


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("prot: 7070\n", {}, "unknown setting(s) prot"),
        ("port: seventy\n", {}, "port: 'seventy' is not a valid int"),
        ("", {"WATCHFLOOR_STEP_MS": "500"}, "step_ms: must be at least 1000"),
        ("targets: {url: x}\n", {}, "targets: must be a list"),
        ("targets:\n  - tags: {}\n", {}, "targets[0].url: required"),
        ("targets:\n  - url: x\n    tags: {a: 1}\n", {}, "targets[0].tags"),
        ("retention: {forever: 1}\n", {}, "retention.forever: unknown"),
        ("retention: {metrics_raw_ms: 2d}\n", {}, "retention.metrics_raw_ms: '2d' must be a positive"),
        ("retention: {metrics_raw_ms: 1000}\n", {}, "must be longer than rollup_grace_ms"),
        ("step_ms: 10500.7\n", {}, "step_ms: 10500.7 is not a valid int"),
        ("port: 99999\n", {}, "port: 99999 is not a TCP port"),
        ("step_ms: 90000\n", {}, "step_ms: must divide a minute"),
        ("scrape_concurrency: 0\n", {}, "scrape_concurrency: must be at least 1"),
        ("scrape_timeout_s: -1\n", {}, "scrape_timeout_s: must be more than 0"),
        ("write_queue_capacity: 0\n", {}, "write_queue_capacity: must be at least 1"),
        ("step_ms: 60000\nscrape_interval_ms: 90000\n", {}, "scrape_interval_ms: must be between"),
        ("- a list\n", {}, "the top level must be a mapping"),
        ("port: [unclosed\n", {}, "watchfloor.yaml"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(tmp_path, text, environ, message):
    with pytest.raises(ConfigError) as refused:
        load_config(_file(tmp_path, text), environ=environ)
    assert message in str(refused.value)


def test_the_api_token_comes_from_the_environment_and_is_never_shown(tmp_path):
    config = load_config(None, environ={"WATCHFLOOR_API_TOKEN": "s3cret-token"})
    assert config.api_token == "s3cret-token"
    assert "s3cret-token" not in repr(config)
    assert config.redacted()["api_token"] == "***"
    assert "s3cret-token" not in str(config.redacted())


def test_the_documented_example_file_loads():
    example = Path(__file__).parents[2] / "docs" / "watchfloor.example.yaml"
    config = load_config(example, environ={})
    assert config.targets[0].tags["nf.app"] == "node-exporter"
    assert config.retention == ServerConfig().retention
    assert config.es_pull_url is None and config.es_pull_indices == ()


def test_an_empty_token_means_no_token():
    assert load_config(None, environ={"WATCHFLOOR_API_TOKEN": ""}).api_token is None


def test_credentials_in_urls_are_redacted_everywhere_the_config_is_shown(tmp_path):
    path = _file(
        tmp_path,
        "targets:\n  - url: http://admin:s3cret@10.0.0.5:9100/metrics\n"
        "es_pull_url: https://elastic:pa55@es.internal:99999\n",
    )
    shown = str(load_config(path, environ={}).redacted())
    assert "s3cret" not in shown and "pa55" not in shown
    assert "http://***@10.0.0.5:9100/metrics" in shown


def test_webhook_urls_show_only_where_they_go():
    from console.config import ServerConfig

    config = ServerConfig(webhook_urls=("https://hooks.slack.example/services/T0/B0/SLACKSECRET",))
    assert config.redacted()["webhook_urls"] == ["https://hooks.slack.example/…"]


def test_links_use_the_public_url_when_set():
    from console.config import ServerConfig

    assert ServerConfig(host="0.0.0.0", port=7070).link_base == "http://0.0.0.0:7070"
    assert ServerConfig(public_url="https://watchfloor.example/").link_base == "https://watchfloor.example"
