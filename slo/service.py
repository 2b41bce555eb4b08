"""SLO statuses for the server: the registry's definitions evaluated by the engine.

A definition whose text no longer validates, or whose SLI cannot be read, still gets an
entry (with the reason) instead of disappearing from the list: an on-call engineer must
see that an SLO is broken, not lose it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from slo.engine import SLOEngine
from slo.indicator_reader import IndicatorError
from slo.registry import Definition, SLORegistry
from slo.status import SLOStatus

__all__ = ["SLOResult", "SLOService"]

_log = logging.getLogger("watchfloor.slo")


@dataclass(frozen=True, slots=True)
class SLOResult:
    """One SLO's status, or why there is none (``error``)."""

    definition: Definition
    status: SLOStatus | None
    error: str | None = None

    @property
    def budget_remaining(self) -> float:
        return math.nan if self.status is None else self.status.budget_remaining


class SLOService:
    """Evaluate one or every SLO now."""

    def __init__(self, registry: SLORegistry, engine: SLOEngine) -> None:
        self.registry = registry
        self.engine = engine

    def evaluate(self, definition: Definition, now_ms: int | None = None) -> SLOResult:
        if definition.slo is None:
            reasons = "; ".join(str(p) for p in definition.problems)
            return SLOResult(definition, None, f"the definition no longer validates: {reasons}")
        try:  # the engine reports any failure of one SLO as an IndicatorError
            status = self.engine.status(definition.slo, self.registry.slo, now_ms)
        except IndicatorError as exc:
            return SLOResult(definition, None, str(exc))
        return SLOResult(definition, status)

    def results(self, now_ms: int | None = None, service: str | None = None) -> list[SLOResult]:
        """Every SLO (of ``service``), the least budget remaining first; those without figures last.

        The valid ones are evaluated together, reading the store once per range.
        """
        definitions = self.registry.definitions()
        if service is not None:
            definitions = [d for d in definitions if d.slo is not None and d.slo.service == service]
        valid = [d for d in definitions if d.slo is not None]
        found = [self.evaluate(d, now_ms) for d in definitions if d.slo is None]
        try:
            statuses = self.engine.statuses(
                [d.slo for d in valid if d.slo is not None], self.registry.slo, now_ms
            )
        except Exception:  # a failed batch read: fall back to one at a time, each with its reason
            _log.exception("evaluating SLOs together failed")
            found += [self.evaluate(d, now_ms) for d in valid]
        else:
            for definition, status in zip(valid, statuses, strict=True):
                if isinstance(status, IndicatorError):
                    found.append(SLOResult(definition, None, str(status)))
                else:
                    found.append(SLOResult(definition, status))
        return sorted(found, key=_order)

    def forget(self, name: str) -> None:
        self.engine.forget(name)


def _order(result: SLOResult) -> tuple[int, float, str]:
    remaining = result.budget_remaining
    return (
        (1, 0.0, result.definition.name) if math.isnan(remaining) else (0, remaining, result.definition.name)
    )
