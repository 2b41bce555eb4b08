"""Input the alerting package refuses: which field, why, and the HTTP status it answers."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """A refused input; ``field`` names it, ``reason`` says why, ``status`` is the answer (400)."""

    def __init__(self, field: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status
