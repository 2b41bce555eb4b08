"""Real Prometheus-API engines on loopback, for tests: Debian's ``prometheus`` and ``victoria-metrics``.

Each scrapes the given ``host:port`` targets every ``interval``; the context manager yields
the engine's base URL once it answers ready, and stops it (data folder kept in ``folder``).
VictoriaMetrics is told not to hide the newest 30 s (``-search.latencyOffset=0s``), which it
does by default so that late samples do not change recent answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.binaries import running_binary

PROMETHEUS = "prometheus"
VICTORIA_METRICS = "victoria-metrics"


Target = str | tuple[str, Mapping[str, str]]  # host:port, or host:port with target labels


def scrape_config(targets: Sequence[Target], interval: str, job: str = "fleet", *, rules: bool = True) -> str:
    """A Prometheus config scraping ``targets``; without ``rules`` (VictoriaMetrics parses strictly
    and has no rule evaluation) the evaluation interval is left out. A target given with labels
    gets them as target labels (``nf_app``…), as a real deployment's relabelling would."""
    evaluation = f"  evaluation_interval: {interval}\n" if rules else ""
    entries = []
    for target in targets:
        address, labels = (target, {}) if isinstance(target, str) else target
        entry = f"      - targets: ['{address}']\n"
        if labels:
            entry += "        labels: {" + ", ".join(f"{k}: '{v}'" for k, v in labels.items()) + "}\n"
        entries.append(entry)
    return (
        f"global:\n  scrape_interval: {interval}\n{evaluation}"
        f"scrape_configs:\n  - job_name: {job}\n    scrape_interval: {interval}\n"
        "    static_configs:\n" + "".join(entries)
    )


@contextmanager
def running_prometheus(
    folder: Path, targets: Sequence[Target], port: int, *, interval: str = "1s", rules: str | None = None
) -> Iterator[str]:
    """Prometheus scraping ``targets``; ``rules`` (a rules file's YAML) is loaded when given."""
    folder.mkdir(parents=True, exist_ok=True)
    config = scrape_config(targets, interval)
    if rules is not None:
        (folder / "rules.yml").write_text(rules)
        config += f"rule_files:\n  - {folder / 'rules.yml'}\n"
    (folder / "prometheus.yml").write_text(config)
    command = [
        PROMETHEUS,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with running_binary(command, folder, "prometheus", f"http://127.0.0.1:{port}", "/-/ready") as url:
        yield url


@contextmanager
def running_victoria_metrics(
    folder: Path, targets: Sequence[Target], port: int, *, interval: str = "1s"
) -> Iterator[str]:
    """Single-node VictoriaMetrics scraping ``targets`` itself (``-promscrape.config``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scrape.yml").write_text(scrape_config(targets, interval, rules=False))
    command = [
        VICTORIA_METRICS,
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={folder / 'data'}",
        f"-promscrape.config={folder / 'scrape.yml'}",
        "-search.latencyOffset=0s",
        "-retentionPeriod=1d",
        "-loggerLevel=WARN",
    ]
    with running_binary(command, folder, "victoria-metrics", f"http://127.0.0.1:{port}", "/health") as url:
        yield url
