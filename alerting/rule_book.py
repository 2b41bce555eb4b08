"""Threshold rules from a configuration file and from the API, validated field by field.

A rule: ``{name, expr, for?, step?, lookback?, labels?, annotations?}`` — ``expr`` a
stack-language signal expression (``name,queue,:eq,100,:gt,3,:rolling-count,3,:ge``),
durations as ``30s``/``5m``/``1h``. A file (``alert_rules_file``, YAML ``{rules: [...]}``)
is read at start and is read-only through the API; rules put through
``/api/v1/alert-rules/{name}`` are kept in the store (documents of kind ``alert_rule``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from alerting.errors import InputError
from alerting.rules import ThresholdRule
from stacklang import StackLangError
from store.interfaces import SeriesReader

__all__ = ["RuleBook", "RuleError", "read_rule"]

KIND = "alert_rule"
_log = logging.getLogger("watchfloor.alerts")
RESERVED = frozenset({"slo-burn-rate", "alertmanager", "canary"})  # the rules that are not threshold rules
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_:-]{0,127}")
_DURATION = re.compile(r"(\d+)(s|m|h|d)")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class RuleError(InputError):
    """A rule that cannot be used."""


def _duration_ms(raw: Mapping[str, Any], key: str, default_ms: int, low_ms: int, high_ms: int) -> int:
    value = raw.get(key)
    if value is None:
        return default_ms
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise RuleError(key, "expected a duration such as 30s, 5m or 1h")
    ms = int(match.group(1)) * _UNIT_MS[match.group(2)]
    if not low_ms <= ms <= high_ms:
        raise RuleError(key, f"must be between {low_ms // 1000} s and {high_ms // 1000} s")
    return ms


def _strings(raw: Mapping[str, Any], key: str) -> dict[str, str]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RuleError(key, "expected an object of strings")
    return dict(value)


def read_rule(
    raw: object, reader: SeriesReader, default_step_ms: int, name: str | None = None
) -> ThresholdRule:
    """A :class:`ThresholdRule` from its JSON/YAML form; RuleError names the field."""
    if not isinstance(raw, Mapping):
        raise RuleError("body", "expected {name, expr, for, step, lookback, labels, annotations}")
    rule_name = name if name is not None else raw.get("name")
    if not isinstance(rule_name, str) or not _NAME.fullmatch(rule_name):
        raise RuleError("name", "expected a name of letters, digits, '_', ':' and '-'")
    if rule_name in RESERVED:
        raise RuleError("name", f"{rule_name!r} is Watchfloor's own: choose another name")
    if name is not None and raw.get("name") not in (None, name):
        raise RuleError("name", f"the body names {raw.get('name')!r}, the path {name!r}")
    expr = raw.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        raise RuleError("expr", "expected a stack-language expression")
    step = _duration_ms(raw, "step", default_step_ms, 1_000, 3_600_000)
    lookback = _duration_ms(raw, "lookback", max(10 * step, 600_000), step, 86_400_000)
    for_ms = _duration_ms(raw, "for", 0, 0, 86_400_000)
    labels, annotations = _strings(raw, "labels"), _strings(raw, "annotations")
    try:
        return ThresholdRule(rule_name, expr, reader, step, lookback, for_ms, labels, annotations)
    except StackLangError as exc:
        raise RuleError("expr", str(exc)) from None


class RuleBook:
    """File rules and stored rules; :meth:`rules` is what the engine evaluates."""

    def __init__(
        self, store: Any, reader: SeriesReader, default_step_ms: int, file: Path | None = None
    ) -> None:
        self._store = store
        self._reader = reader
        self._step_ms = default_step_ms
        self._lock = threading.Lock()
        self.file_rules: dict[str, ThresholdRule] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        if file is not None:
            self._load_file(file)
        self.stored: dict[str, ThresholdRule] = {}
        for document in store.documents(KIND):
            try:
                raw = json.loads(document.body)
                self.stored[document.name] = read_rule(raw, reader, default_step_ms, document.name)
            except (ValueError, TypeError) as exc:  # one bad stored rule must not stop the server
                _log.error("alert rule %s cannot be read (%s); left out", document.name, exc)
                continue
            self.sources[document.name] = raw

    def _load_file(self, file: Path) -> None:
        loaded = yaml.safe_load(file.read_text())
        rules = loaded.get("rules") if isinstance(loaded, Mapping) else None
        if not isinstance(rules, list):
            raise RuleError(f"{file}", "expected {rules: [...]}")
        for n, raw in enumerate(rules):
            try:
                rule = read_rule(raw, self._reader, self._step_ms)
            except RuleError as exc:
                raise RuleError(f"{file}: rules[{n}].{exc.field}", exc.reason) from None
            if rule.name in self.file_rules:
                raise RuleError(f"{file}: rules[{n}].name", f"{rule.name!r} is defined twice")
            self.file_rules[rule.name] = rule
            self.sources[rule.name] = dict(raw)

    def rules(self) -> list[ThresholdRule]:
        with self._lock:
            return [*self.file_rules.values(), *self.stored.values()]

    def put(self, name: str, raw: object, now_ms: int) -> tuple[ThresholdRule, bool]:
        """Keep a rule from the API; answers it and whether it is new. A file's rule is refused."""
        if name in self.file_rules:
            raise RuleError("name", f"{name!r} comes from the rules file; change it there")
        rule = read_rule(raw, self._reader, self._step_ms, name)
        assert isinstance(raw, Mapping)
        with self._lock:
            created = name not in self.stored
            self._store.put_document(KIND, name, json.dumps({**raw, "name": name}), now_ms)
            self.stored[name] = rule
            self.sources[name] = {**raw, "name": name}
        return rule, created

    def delete(self, name: str) -> bool:
        if name in self.file_rules:
            raise RuleError("name", f"{name!r} comes from the rules file; change it there")
        with self._lock:
            self.stored.pop(name, None)
            self.sources.pop(name, None)
            return bool(self._store.delete_document(KIND, name))
