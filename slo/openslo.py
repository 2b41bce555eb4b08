"""Load and validate OpenSLO v1 YAML: one or many documents per text, resolved into a :class:`Catalog`.

``load_catalog(text)`` is what callers use. It reads every document with
``yaml.safe_load_all``, checks each against the rules of slo.md §3, resolves an SLO's
``indicatorRef`` against the SLI documents of the same text (and ``known_slis``) and
raises :class:`~slo.problems.ValidationError` listing every problem, each naming the
document (``kind/name``, or ``document N`` when that is unknown), the field path and
the reason. Nothing is returned unless everything is valid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from slo.model import SLI, SLO, AlertCondition, AlertNotificationTarget, AlertPolicy, DataSource, Service
from slo.openslo_alerting import read_alert_condition, read_alert_policy, read_notification_target
from slo.openslo_sli import read_sli_spec
from slo.openslo_slo import read_slo_spec
from slo.problems import Checker, Problem, ValidationError, load_yaml_documents, shown
from slo.references import KnownNames, check_policy, check_sli, check_slo

__all__ = ["API_VERSION", "KINDS", "Catalog", "load_catalog"]

API_VERSION = "openslo/v1"
KINDS = ("SLO", "SLI", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "Service")
_RFC1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every valid document of a text, by kind, in document order."""

    slos: tuple[SLO, ...] = ()
    slis: tuple[SLI, ...] = ()
    data_sources: tuple[DataSource, ...] = ()
    alert_policies: tuple[AlertPolicy, ...] = ()
    alert_conditions: tuple[AlertCondition, ...] = ()
    notification_targets: tuple[AlertNotificationTarget, ...] = ()
    services: tuple[Service, ...] = field(default=())

    def everything(self) -> Iterator[object]:
        """Every document of every kind."""
        yield from self.slos
        yield from self.slis
        yield from self.data_sources
        yield from self.alert_policies
        yield from self.alert_conditions
        yield from self.notification_targets
        yield from self.services

    def merged(self, other: Catalog) -> Catalog:
        """This catalog with ``other``'s documents after its own."""
        return Catalog(
            slos=self.slos + other.slos,
            slis=self.slis + other.slis,
            data_sources=self.data_sources + other.data_sources,
            alert_policies=self.alert_policies + other.alert_policies,
            alert_conditions=self.alert_conditions + other.alert_conditions,
            notification_targets=self.notification_targets + other.notification_targets,
            services=self.services + other.services,
        )


@dataclass(slots=True)
class _Document:
    kind: str
    name: str
    spec: Mapping[str, Any]
    check: Checker


def _header(index: int, raw: object) -> _Document | None:
    """Check apiVersion, kind and metadata.name; returns the document when its spec can be read."""
    check = Checker(f"document {index + 1}")
    body = check.mapping(raw, "")
    if body is None:
        raise ValidationError(check.problems)
    kind, meta = body.get("kind"), body.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(kind, str) and isinstance(name, str):
        check.document = f"{kind}/{name}"
    if body.get("apiVersion") != API_VERSION:
        check.fail("apiVersion", f"expected {API_VERSION!r}, got {shown(body.get('apiVersion'))}")
    if kind not in KINDS:
        check.fail("kind", f"unknown kind {shown(kind)} (expected one of {', '.join(KINDS)})")
    checked_meta = check.mapping(meta, "metadata")
    checked_name = None if checked_meta is None else check.string(checked_meta, "name", "metadata")
    if checked_name is not None and not _RFC1123_LABEL.fullmatch(checked_name):
        check.fail("metadata.name", f"{name!r} is not an RFC 1123 label (a-z, 0-9, '-', at most 63)")
    spec = check.mapping(body.get("spec"), "spec")
    if check.problems or spec is None:
        raise ValidationError(check.problems)
    return _Document(str(kind), str(name), spec, check)


def _read_other(doc: _Document, found: list[object]) -> object | None:
    """DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget and Service.

    Documents written inline (a policy's conditions) are appended to ``found``.
    """
    check, spec = doc.check, doc.spec
    description = spec.get("description") if isinstance(spec.get("description"), str) else None
    if doc.kind == "DataSource":
        kind = check.string(spec, "type", "spec")
        return None if kind is None else DataSource(doc.name, kind)
    if doc.kind == "AlertNotificationTarget":
        return read_notification_target(check, doc.name, spec, "spec")
    if doc.kind == "AlertPolicy":
        return read_alert_policy(check, doc.name, spec, "spec", found)
    if doc.kind == "AlertCondition":
        return read_alert_condition(check, doc.name, spec, "spec")
    return Service(doc.name, description)


def _known_names(items: list[tuple[_Document, object]], context: Catalog | None) -> KnownNames:
    """Everything a reference may resolve to: this text's valid documents and the context's."""
    known = KnownNames()
    everything = [item for _, item in items] + ([] if context is None else list(context.everything()))
    for item in everything:
        if isinstance(item, SLO):
            known.slos.add(item.name)
            if item.components:
                known.composites.add(item.name)
        elif isinstance(item, AlertPolicy):
            known.policies.add(item.name)
        elif isinstance(item, AlertCondition):
            known.conditions.add(item.name)
        elif isinstance(item, AlertNotificationTarget):
            known.targets.add(item.name)
        elif isinstance(item, DataSource):
            known.data_sources.add(item.name)
    return known


def _check_references(items: list[tuple[_Document, object]], context: Catalog | None) -> None:
    known = _known_names(items, context)
    for doc, item in items:
        if isinstance(item, SLO):
            check_slo(doc.check, item, "indicator" in doc.spec, known)
        elif isinstance(item, SLI):
            check_sli(doc.check, item, "spec", known)
        elif isinstance(item, AlertPolicy):
            check_policy(doc.check, item, known)


def load_catalog(
    text: str, *, known_slis: Mapping[str, SLI] | None = None, context: Catalog | None = None
) -> Catalog:
    """Parse ``text`` (one or many ``---``-separated documents) into a :class:`Catalog`.

    References (``indicatorRef``, ``alertPolicies``, ``conditionRef``, ``targetRef``,
    ``metricSourceRef``, composite components) resolve in the same text, then in
    ``context`` (and ``known_slis``). Raises :class:`ValidationError` for invalid YAML or
    any rule broken, listing every problem.
    """
    raws = load_yaml_documents(text)
    problems: list[Problem] = []
    docs: list[_Document] = []
    for index, raw in enumerate(raws):
        try:
            doc = _header(index, raw)
        except ValidationError as exc:
            problems.extend(exc.problems)
            continue
        if doc is not None:
            docs.append(doc)
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        if (doc.kind, doc.name) in seen:
            doc.check.fail("metadata.name", f"another {doc.kind} is also named {doc.name!r}")
        seen.add((doc.kind, doc.name))
    slis = {} if context is None else {sli.name: sli for sli in context.slis}
    slis.update(known_slis or {})
    items: list[tuple[_Document, object]] = []
    broken = set()
    for doc in docs:  # SLIs first, so that indicatorRef can point forwards
        if doc.kind != "SLI":
            continue
        sli = read_sli_spec(doc.check, doc.spec, "spec", doc.name)
        if sli is None:
            broken.add(doc.name)
        else:
            slis[doc.name] = sli
            items.append((doc, sli))
    for doc in docs:
        inline: list[object] = []
        if doc.kind == "SLO":
            item: object | None = read_slo_spec(
                doc.check, doc.name, doc.spec, slis, frozenset(broken), inline
            )
        elif doc.kind != "SLI":
            item = _read_other(doc, inline)
        else:
            item = None
        for found in (*inline, *([] if item is None else [item])):
            key = (type(found).__name__, getattr(found, "name", ""))
            if found is not item and key in seen:
                doc.check.fail("spec", f"an inline {key[0]} is named {key[1]!r} like another document")
            seen.add(key)
            items.append((doc, found))
    _check_references(items, context)
    for doc in docs:
        problems.extend(doc.check.problems)
    if problems:
        raise ValidationError(problems)
    found = [item for _, item in items]
    return Catalog(
        slos=tuple(x for x in found if isinstance(x, SLO)),
        slis=tuple(x for x in found if isinstance(x, SLI)),
        data_sources=tuple(x for x in found if isinstance(x, DataSource)),
        alert_policies=tuple(x for x in found if isinstance(x, AlertPolicy)),
        alert_conditions=tuple(x for x in found if isinstance(x, AlertCondition)),
        notification_targets=tuple(x for x in found if isinstance(x, AlertNotificationTarget)),
        services=tuple(x for x in found if isinstance(x, Service)),
    )
