"""What the alerting tests share: a hand-driven clock and a scripted sender."""

from __future__ import annotations

from alerting.delivery import SendResult

T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Scripted:
    """Answers each send with the next scripted result (the last one repeats); keeps what it got."""

    def __init__(self, *results: SendResult, rate_key: str = "pd") -> None:
        self.results = list(results) or [SendResult(202)]
        self.got: list[dict] = []
        self.rate_key = rate_key

    def send(self, payload):
        self.got.append(dict(payload))
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]

    def close(self):
        pass

    def actions(self):
        return [(e["event_action"], e["dedup_key"]) for e in self.got]
