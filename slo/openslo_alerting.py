"""Reading OpenSLO's alerting kinds: ``AlertPolicy`` and ``AlertCondition``, by reference or inline.

OpenSLO v1 lets an SLO's ``alertPolicies`` hold ``{alertPolicyRef: name}`` or a whole
``AlertPolicy`` document, and a policy's ``conditions`` hold ``{conditionRef: name}`` or a
whole ``AlertCondition``. Inline documents become catalog entries like standalone ones
(their names must then be unique as well); problems are recorded at their path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slo.model import AlertCondition, AlertNotificationTarget, AlertPolicy
from slo.problems import Checker, join, shown

__all__ = ["read_alert_condition", "read_alert_policy", "read_notification_target", "read_policy_refs"]


def read_alert_condition(
    check: Checker, name: str, spec: Mapping[str, Any], path: str
) -> AlertCondition | None:
    """An :class:`AlertCondition` from ``spec`` (at ``path``); only ``kind: burnrate`` exists in v1."""
    severity = check.string(spec, "severity", path)
    where = join(path, "condition")
    condition = check.mapping(spec.get("condition"), where)
    if condition is None:
        return None
    before = len(check.problems)
    if condition.get("kind") != "burnrate":
        check.fail(join(where, "kind"), f"expected 'burnrate', got {shown(condition.get('kind'))}")
    threshold = check.number(condition, "threshold", where)
    if threshold is not None and threshold <= 0:
        check.fail(join(where, "threshold"), f"{threshold} is not above 0")
    lookback = check.duration(condition, "lookbackWindow", where)
    after = check.duration(condition, "alertAfter", where, required=False)
    if len(check.problems) > before or severity is None or threshold is None or lookback is None:
        return None
    return AlertCondition(name, severity, threshold, lookback, after)


def read_notification_target(
    check: Checker, name: str, spec: Mapping[str, Any], path: str
) -> AlertNotificationTarget | None:
    """An :class:`AlertNotificationTarget`: the channel kind (``target``) and a description."""
    target = check.string(spec, "target", path)
    description = spec.get("description")
    return (
        None
        if target is None
        else AlertNotificationTarget(name, target, description if isinstance(description, str) else None)
    )


def _inline_name(check: Checker, item: Mapping[str, Any], path: str) -> str | None:
    meta = check.mapping(item.get("metadata"), join(path, "metadata"))
    return None if meta is None else check.string(meta, "name", join(path, "metadata"))


def _refs_or_inline(
    check: Checker, value: object, path: str, ref_key: str, kind: str, *, required: bool, bare: bool = False
) -> tuple[tuple[str, ...], list[tuple[str, Mapping[str, Any], str]]]:
    """Names referred to, and inline documents of ``kind`` as (name, spec, spec path).

    ``bare`` also accepts a plain name (Watchfloor's shorthand for an SLO's policies).
    """
    names: list[str] = []
    inline: list[tuple[str, Mapping[str, Any], str]] = []
    for i, item in enumerate(check.items(value, path, required=required) or []):
        at = f"{path}[{i}]"
        if bare and isinstance(item, str) and item:
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get(ref_key), str):
            names.append(item[ref_key])
        elif isinstance(item, dict) and item.get("kind") == kind:
            name, spec = _inline_name(check, item, at), check.mapping(item.get("spec"), join(at, "spec"))
            if name is not None and spec is not None:
                names.append(name)
                inline.append((name, spec, join(at, "spec")))
        else:
            check.fail(at, f"expected {{{ref_key}: name}} or an inline {kind}")
    return tuple(names), inline


def read_alert_policy(
    check: Checker, name: str, spec: Mapping[str, Any], path: str, found: list[object]
) -> AlertPolicy | None:
    """An :class:`AlertPolicy`; inline conditions are appended to ``found``."""
    conditions, inline = _refs_or_inline(
        check,
        spec.get("conditions"),
        join(path, "conditions"),
        "conditionRef",
        "AlertCondition",
        required=True,
    )
    for condition_name, condition_spec, at in inline:
        condition = read_alert_condition(check, condition_name, condition_spec, at)
        if condition is not None:
            found.append(condition)
        else:  # its own problems are reported; an "unknown condition" on top would mislead
            conditions = tuple(c for c in conditions if c != condition_name)
    targets, inline_targets = _refs_or_inline(
        check,
        spec.get("notificationTargets"),
        join(path, "notificationTargets"),
        "targetRef",
        "AlertNotificationTarget",
        required=False,
    )
    for target_name, target_spec, at in inline_targets:
        target = read_notification_target(check, target_name, target_spec, at)
        if target is not None:
            found.append(target)
    return AlertPolicy(name, conditions, targets) if conditions else None


def read_policy_refs(check: Checker, value: object, found: list[object]) -> tuple[str, ...]:
    """An SLO's ``alertPolicies``: names, ``{alertPolicyRef}`` or inline policies (into ``found``)."""
    names, inline = _refs_or_inline(
        check, value, "spec.alertPolicies", "alertPolicyRef", "AlertPolicy", required=False, bare=True
    )
    for policy_name, policy_spec, at in inline:
        policy = read_alert_policy(check, policy_name, policy_spec, at, found)
        if policy is not None:
            found.append(policy)
    return names
