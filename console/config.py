"""Server configuration: ``watchfloor.yaml`` < ``WATCHFLOOR_*`` environment < command-line flags.

Read when the server is built, never at import time. Every key of the file can be set by
an environment variable named ``WATCHFLOOR_`` + the key in upper case (``step_ms`` →
``WATCHFLOOR_STEP_MS``). Secrets (``api_token``) belong in the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from collectors.urls import redact_url
from store.duckdb_store import Retention

METRICS_BACKENDS = ("embedded", "prometheus")
LOGS_BACKENDS = ("embedded", "elasticsearch")


class ConfigError(ValueError):
    """A setting is missing, unknown or malformed; the message names it."""


@dataclass(frozen=True)
class ScrapeTarget:
    """One ``/metrics`` endpoint and the Atlas tags its series get (``nf.app``, ``nf.cluster``, …)."""

    url: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 7070
    data_dir: Path = Path("var")
    step_ms: int = 60_000  # Atlas's default step; the demo uses 10 s
    scrape_interval_ms: int | None = None  # default: the step (one scrape per step)
    scrape_timeout_s: float = 5.0
    scrape_max_body_bytes: int = 64 * 1024 * 1024  # a target answering more is down, with the reason
    scrape_concurrency: int = 32
    # The fleet map written by `watchfloor fleet` (default <data>/fleet.json); its instances
    # are scraped while it exists.
    fleet_file: Path | None = None
    targets: tuple[ScrapeTarget, ...] = ()
    write_queue_capacity: int = 200_000
    otlp_max_body_bytes: int = 64 * 1024 * 1024
    # Graph queries over these are refused with a 400 explaining the limit, never an OOM.
    graph_max_series: int = 10_000
    graph_max_points: int = 5_000_000
    api_token: str | None = field(default=None, repr=False)  # a secret: never logged or answered
    retention: Retention = field(default_factory=Retention)
    # Elasticsearch puller: off unless a URL and indices are set. The API key is a secret.
    es_pull_url: str | None = field(default=None, repr=False)  # may carry user:password
    es_pull_indices: tuple[str, ...] = ()
    es_pull_interval_s: float = 30.0
    es_pull_lag_s: float = 30.0
    es_pull_page_size: int = 1000
    es_pull_api_key: str | None = field(default=None, repr=False)
    # OpenSLO files read at start (a broken file stops the start, naming it); SLOs put
    # through the API are kept in the store either way.
    slo_dir: Path | None = None
    slo_refresh_s: float = 30.0  # how often every SLO is evaluated in the background
    # PagerDuty Events API v2: paging is on when a routing key is set. The key is a secret.
    pagerduty_url: str = "https://events.pagerduty.com"
    pagerduty_routing_key: str | None = field(default=None, repr=False)
    alert_eval_interval_s: float = 30.0  # how often every alert rule is evaluated
    # Threshold alert rules (YAML {rules: [...]}) read at start; a broken file stops the start.
    alert_rules_file: Path | None = None
    # Where people reach this server (links in pages, webhooks, Alertmanager); default: the bind address.
    public_url: str | None = None
    # Alertmanager API v2: Watchfloor's alerts are posted there to be routed; may carry credentials.
    alertmanager_url: str | None = field(default=None, repr=False)
    # PagerDuty webhooks (v3) in are checked against this subscription secret; a secret.
    pagerduty_webhook_secret: str | None = field(default=None, repr=False)
    # Alertmanager-format (version 4) webhooks for any receiver; URLs may carry credentials.
    webhook_urls: tuple[str, ...] = field(default=(), repr=False)
    # Where each signal is read from (docs/scale-out.md). Metrics: the embedded store, or any
    # Prometheus-HTTP-API engine (its URL may carry credentials; the token is a secret).
    metrics_backend: str = "embedded"
    prometheus_url: str | None = field(default=None, repr=False)
    prometheus_bearer_token: str | None = field(default=None, repr=False)
    prometheus_scrape_interval_ms: int | None = None  # the engine's; default: the step
    # Logs: the embedded store, or an Elasticsearch cluster's ECS indices (the key is a secret).
    logs_backend: str = "embedded"
    logs_es_url: str | None = field(default=None, repr=False)
    logs_es_index: str = "logs-*"
    logs_es_api_key: str | None = field(default=None, repr=False)

    @property
    def database(self) -> Path:
        return self.data_dir / "watchfloor.duckdb"

    @property
    def link_base(self) -> str:
        """The base of links to this server in what it sends: ``public_url``, else the bind address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def fleet_map(self) -> Path:
        """Where ``watchfloor fleet`` writes its instances: ``fleet_file``, else ``<data>/fleet.json``."""
        return self.fleet_file if self.fleet_file is not None else self.data_dir / "fleet.json"

    def redacted(self) -> dict[str, Any]:
        """The settings as an answer may show them: secrets replaced."""
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        shown["api_token"] = "***" if self.api_token else None
        shown["es_pull_api_key"] = "***" if self.es_pull_api_key else None
        shown["pagerduty_routing_key"] = "***" if self.pagerduty_routing_key else None
        shown["pagerduty_webhook_secret"] = "***" if self.pagerduty_webhook_secret else None
        shown["pagerduty_url"] = redact_url(self.pagerduty_url)
        # A webhook's path is often its secret (Slack's, for one): only where it goes is shown.
        shown["webhook_urls"] = [_origin(u) for u in self.webhook_urls]
        shown["alertmanager_url"] = (
            None if self.alertmanager_url is None else redact_url(self.alertmanager_url)
        )
        shown["es_pull_url"] = None if self.es_pull_url is None else redact_url(self.es_pull_url)
        shown["prometheus_url"] = None if self.prometheus_url is None else redact_url(self.prometheus_url)
        shown["prometheus_bearer_token"] = "***" if self.prometheus_bearer_token else None
        shown["logs_es_url"] = None if self.logs_es_url is None else redact_url(self.logs_es_url)
        shown["logs_es_api_key"] = "***" if self.logs_es_api_key else None
        shown["es_pull_indices"] = list(self.es_pull_indices)
        shown["data_dir"] = str(self.data_dir)
        shown["slo_dir"] = None if self.slo_dir is None else str(self.slo_dir)
        shown["alert_rules_file"] = None if self.alert_rules_file is None else str(self.alert_rules_file)
        shown["fleet_file"] = None if self.fleet_file is None else str(self.fleet_file)
        shown["targets"] = [{"url": redact_url(t.url), "tags": dict(t.tags)} for t in self.targets]
        shown["retention"] = dataclasses.asdict(self.retention)
        return shown


def _origin(url: str) -> str:
    """``scheme://host[:port]/…``: the address without credentials, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}/…"


_SCALARS = {
    f.name: f.type for f in dataclasses.fields(ServerConfig) if f.name not in {"targets", "retention"}
}


def _coerce(key: str, value: Any) -> Any:
    kind = str(_SCALARS[key])
    if value is None and "None" in kind:
        return None
    if "tuple" in kind:  # a YAML list, or a comma-separated environment value
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{key}: must be a list of strings (or comma-separated)")
        return tuple(i.strip() for i in items if i.strip())
    try:
        if "int" in kind and "Path" not in kind:
            # int(10500.7) would silently truncate; a setting that is not whole is a mistake.
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if "float" in kind:
            return float(value)
        if "Path" in kind:
            return None if value in (None, "") else Path(str(value))
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: {value!r} is not a valid {kind}") from None


def _targets(raw: Any) -> tuple[ScrapeTarget, ...]:
    if not isinstance(raw, list):
        raise ConfigError("targets: must be a list of {url, tags}")
    targets = []
    for position, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise ConfigError(f"targets[{position}].url: required, a string")
        tags = entry.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise ConfigError(f"targets[{position}].tags: must map tag keys to strings")
        targets.append(ScrapeTarget(entry["url"], dict(tags)))
    return tuple(targets)


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServerConfig:
    """Defaults, then the YAML file, then the environment, then explicit overrides (flags)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: {error}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        unknown = set(loaded) - set(_SCALARS) - {"targets", "retention"}
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        values.update(loaded)
    for key in _SCALARS:
        env_value = environ.get(f"WATCHFLOOR_{key.upper()}")
        if env_value is not None:
            values[key] = env_value
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    settings = {k: _coerce(k, v) for k, v in values.items() if k in _SCALARS}
    if "targets" in values:
        settings["targets"] = _targets(values["targets"])
    if "retention" in values:
        settings["retention"] = _retention(values["retention"])
    for secret in (
        "api_token",
        "pagerduty_routing_key",
        "pagerduty_webhook_secret",
        "prometheus_bearer_token",
        "logs_es_api_key",
    ):
        if settings.get(secret) == "":
            settings[secret] = None  # an empty secret would be sent (or demanded) and show as unset
    config = ServerConfig(**settings)
    _check(config)
    return config


def _retention(raw: Any) -> Retention:
    if not isinstance(raw, dict):
        raise ConfigError("retention: must map signals to milliseconds")
    known = {f.name for f in dataclasses.fields(Retention)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"retention.{key}: unknown; expected one of {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"retention.{key}: {value!r} must be a positive whole number of milliseconds")
        values[key] = value
    retention = Retention(**values)
    if retention.metrics_raw_ms <= retention.rollup_grace_ms:
        raise ConfigError("retention.metrics_raw_ms: must be longer than rollup_grace_ms, or data is lost")
    return retention


def _check(config: ServerConfig) -> None:
    """Ranges the types alone do not say; ConfigError names the setting."""
    if config.step_ms < 1_000:
        raise ConfigError("step_ms: must be at least 1000")
    if 60_000 % config.step_ms and config.step_ms % 60_000:
        # Rollups are by the minute: a step must fit a minute a whole number of times, or the reverse.
        raise ConfigError("step_ms: must divide a minute (1000 … 30000) or be a whole number of minutes")
    if config.scrape_interval_ms is not None and not 1_000 <= config.scrape_interval_ms <= config.step_ms:
        raise ConfigError("scrape_interval_ms: must be between 1000 and step_ms")
    if not 0 <= config.port <= 65_535:
        raise ConfigError(f"port: {config.port} is not a TCP port (0-65535)")
    for name in (
        "scrape_concurrency",
        "scrape_max_body_bytes",
        "write_queue_capacity",
        "otlp_max_body_bytes",
        "graph_max_series",
        "graph_max_points",
        "es_pull_page_size",
    ):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name}: must be at least 1")
    if config.slo_dir is not None and not config.slo_dir.is_dir():
        raise ConfigError(f"slo_dir: {config.slo_dir} is not a directory")
    for name in ("scrape_timeout_s", "es_pull_interval_s", "slo_refresh_s", "alert_eval_interval_s"):
        if not 0 < getattr(config, name) <= 86_400:
            raise ConfigError(f"{name}: must be more than 0 and at most a day")
    if config.alert_rules_file is not None and not config.alert_rules_file.is_file():
        raise ConfigError(f"alert_rules_file: {config.alert_rules_file} is not a file")
    if config.pagerduty_routing_key is not None and not config.pagerduty_routing_key.isalnum():
        raise ConfigError("pagerduty_routing_key: must be letters and digits (PagerDuty's integration key)")
    if config.public_url is not None and not config.public_url.startswith(("http://", "https://")):
        raise ConfigError("public_url: must be an http:// or https:// URL")
    if config.alertmanager_url is not None and not config.alertmanager_url.startswith(
        ("http://", "https://")
    ):
        raise ConfigError("alertmanager_url: must be an http:// or https:// URL")
    for n, url in enumerate(config.webhook_urls):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook_urls[{n}]: must be an http:// or https:// URL")
    if not config.pagerduty_url.startswith(("http://", "https://")):
        raise ConfigError("pagerduty_url: must be an http:// or https:// URL")
    key = config.pagerduty_routing_key
    if key is not None and len(key) != 32:
        # Said without the key: a secret is never echoed, not even a wrong one.
        raise ConfigError(f"pagerduty_routing_key: must be 32 characters (it has {len(key)})")
    if config.es_pull_lag_s < 0:
        raise ConfigError("es_pull_lag_s: must not be negative")
    _check_backends(config)


def _check_backends(config: ServerConfig) -> None:
    """Each signal's backend is a known one, with what it needs to be reached."""
    if config.metrics_backend not in METRICS_BACKENDS:
        raise ConfigError(
            f"metrics_backend: {config.metrics_backend!r} is not one of {', '.join(METRICS_BACKENDS)}"
        )
    if config.logs_backend not in LOGS_BACKENDS:
        raise ConfigError(f"logs_backend: {config.logs_backend!r} is not one of {', '.join(LOGS_BACKENDS)}")
    needed = [
        ("prometheus_url", config.metrics_backend == "prometheus", config.prometheus_url),
        ("logs_es_url", config.logs_backend == "elasticsearch", config.logs_es_url),
    ]
    for name, wanted, url in needed:
        if wanted and not url:
            raise ConfigError(f"{name}: required by the {name.split('_')[0]} backend chosen")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: must be an http:// or https:// URL")
    interval = config.prometheus_scrape_interval_ms
    if interval is not None and interval < 1_000:
        raise ConfigError("prometheus_scrape_interval_ms: must be at least 1000")
