"""PromQL's text forms in one place: label names, string literals, regex literals, durations.

The rules Watchfloor exports (``slo/prometheus_rules.py``) and the selectors its Prometheus
backend reads with must name labels and windows alike, or an exported rule and a read would
disagree about which series they mean; both build their text here.
"""

from __future__ import annotations

import json
import re

__all__ = ["duration", "label_name", "quote", "regex_literal"]

_NOT_LABEL = re.compile(r"[^A-Za-z0-9_]")
_REGEX_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def label_name(key: str) -> str:
    """The Prometheus label an Atlas tag key is stored under: ``nf.app`` → ``nf_app``.

    Characters a label cannot hold become ``_``, and a leading digit gets a ``_`` before it.
    """
    name = _NOT_LABEL.sub("_", key)
    return f"_{name}" if name[:1].isdigit() else name


def quote(text: str) -> str:
    """A PromQL double-quoted string: a JSON string has the same escapes for ``\\``, ``"`` and controls."""
    return json.dumps(text, ensure_ascii=False)


def regex_literal(text: str) -> str:
    """``text`` as a regex (RE2) matching exactly it: the special characters escaped."""
    return _REGEX_SPECIAL.sub(r"\\\1", text)


def duration(ms: int) -> str:
    """``60000`` → ``1m``: a PromQL duration in the largest unit that divides it (as Sloth prints them)."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
