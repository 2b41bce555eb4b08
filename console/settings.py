"""Settings resolution for the CLI: flag > ``WATCHFLOOR_*`` environment > default.

Read when a command runs, never at import time. (The YAML file layer arrives with the
server's configuration.)
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

DEFAULT_DATA_DIR = Path("var")
# Where the clients (the CLI, the console, `up`'s release story) find the server and its token.
SERVER_URL_ENV = "WATCHFLOOR_SERVER_URL"
API_TOKEN_ENV = "WATCHFLOOR_API_TOKEN"  # a secret: sent on writes, never logged or shown
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def resolve(
    flag: str | None, env_name: str, default: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The flag if given, else the environment variable if set, else the default."""
    if flag is not None:
        return flag
    environ = os.environ if environ is None else environ
    return environ.get(env_name, default)


def parse_duration(text: str) -> float:
    """``90``, ``30s``, ``5m``, ``1.5h`` → seconds; raises ValueError naming the input."""
    match = DURATION_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 5m, 1h)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


def data_dir(flag: str | None) -> Path:
    return Path(resolve(flag, "WATCHFLOOR_DATA", str(DEFAULT_DATA_DIR)) or DEFAULT_DATA_DIR)


class RepeatFilter(logging.Filter):
    """Lets a given (logger, message template) through at most once per ``interval_s``.

    An exporter whose destination is down logs on every batch; one line a minute says the
    same without burying everything else.
    """

    def __init__(self, interval_s: float = 60.0) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        if now - self._last.get(key, -self._interval_s) < self._interval_s:
            return False
        self._last[key] = now
        return True


def configure_process_logging(level: int = logging.WARNING) -> None:
    """Plain stderr logging for a CLI process, with repeats damped."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; a fleet's health checks would flood the terminal.
    logging.getLogger("httpx").setLevel(logging.WARNING)
