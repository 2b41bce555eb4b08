"""SLO statuses for the server: the registry's definitions evaluated by the engine.

With a :class:`~slo.recorded_status.RecordedRules`, the list takes the SLOs whose exported
rules the Prometheus engine evaluates from those rules (one instant query instead of a
period of raw data); if reading them fails, those SLOs go to the engine like the rest.
One SLO's detail (:meth:`SLOService.evaluate`) is always the engine's: rules have no burn-down.

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
from slo.model import SLO
from slo.recorded_status import RecordedRules
from slo.registry import Definition, SLORegistry
from slo.status import SLOStatus
from store.interfaces import BackendError

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
    """Evaluate one or every SLO now; ``recorded`` (optional) answers the list from recording rules."""

    def __init__(
        self, registry: SLORegistry, engine: SLOEngine, recorded: RecordedRules | None = None
    ) -> None:
        self.registry = registry
        self.engine = engine
        self.recorded = recorded

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

        The valid ones are evaluated together, reading the store once per range; those the
        recording rules cover are read from them instead.
        """
        definitions = self.registry.definitions()
        if service is not None:
            definitions = [d for d in definitions if d.slo is not None and d.slo.service == service]
        valid = [d for d in definitions if d.slo is not None]
        found = [self.evaluate(d, now_ms) for d in definitions if d.slo is None]
        recorded = self._recorded([d.slo for d in valid if d.slo is not None], now_ms)
        found += [SLOResult(d, recorded[d.name]) for d in valid if d.name in recorded]
        valid = [d for d in valid if d.name not in recorded]
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

    def _recorded(self, slos: list[SLO], now_ms: int | None) -> dict[str, SLOStatus]:
        """Statuses from the recording rules; none when there are none or they cannot be read."""
        if self.recorded is None or not slos:
            return {}
        try:
            return self.recorded.statuses(slos, now_ms)
        except BackendError as exc:  # the engine still answers for every SLO
            _log.warning("reading SLO recording rules failed, evaluating over the store: %s", exc)
            return {}

    def forget(self, name: str) -> None:
        self.engine.forget(name)


def _order(result: SLOResult) -> tuple[int, float, str]:
    remaining = result.budget_remaining
    return (
        (1, 0.0, result.definition.name) if math.isnan(remaining) else (0, remaining, result.definition.name)
    )
