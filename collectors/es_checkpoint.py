"""Where the Elasticsearch puller stands in an index pattern: a timestamp and the ties taken at it.

The checkpoint is the last ``@timestamp`` pulled, exactly as Elasticsearch printed the sort
value (format ``strict_date_optional_time_nanos``, so no precision is lost), and the
``(_index, _id)`` of every document already taken at exactly that timestamp. Resuming
with ``@timestamp >= timestamp`` and skipping those ids neither loses nor duplicates a
document, even when many share one timestamp, without sorting on ``_id`` (Elasticsearch 8
refuses fielddata on it). Stored as JSON::

    {"timestamp": "2024-05-01T10:00:00.123456789Z", "ties": [["logs-a", "Xy1"], ["logs-b", "Zq2"]]}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

# What Elasticsearch prints for strict_date_optional_time_nanos (it prints UTC as "Z").
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


class CheckpointError(ValueError):
    """A stored checkpoint or a sort value cannot be read."""


def parse_iso_ns(text: str) -> int:
    """Epoch nanoseconds of an ISO 8601 timestamp with up to nine fraction digits."""
    match = _ISO.fullmatch(text)
    if match is None:
        raise CheckpointError(f"not an ISO 8601 timestamp with a zone: {text[:64]!r}")
    whole, fraction, zone = match.groups()
    try:
        seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    except (ValueError, OverflowError) as error:  # month 13, hour 25, a zone past year 1 or 9999
        raise CheckpointError(f"not a valid date: {text[:64]!r} ({error})") from None
    return int(seconds) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def format_iso_ns(ns: int) -> str:
    """An epoch-nanosecond instant as ISO 8601 UTC with all nine fraction digits."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


@dataclass(frozen=True)
class Checkpoint:
    """A stored position; ``timestamp`` None means nothing was pulled yet."""

    timestamp: str | None = None
    ties: frozenset[tuple[str, str]] = frozenset()

    def to_json(self) -> str:
        return json.dumps(
            {"timestamp": self.timestamp, "ties": [list(key) for key in sorted(self.ties)]},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> Checkpoint:
        if text is None:
            return cls()
        try:
            value = json.loads(text)
            timestamp = value["timestamp"]
            ties = frozenset((str(index), str(doc_id)) for index, doc_id in value["ties"])
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"unreadable checkpoint: {error}") from None
        if timestamp is not None:
            parse_iso_ns(str(timestamp))  # refuse now what would fail on every pull later
        return cls(None if timestamp is None else str(timestamp), ties)


class Position:
    """A checkpoint being advanced hit by hit while a page is taken."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.timestamp = checkpoint.timestamp
        self.ns = None if checkpoint.timestamp is None else parse_iso_ns(checkpoint.timestamp)
        self._ties = set(checkpoint.ties)

    def take(self, timestamp: str, key: tuple[str, str]) -> bool:
        """Move to a hit (in ascending order); False if it was taken before."""
        ns = parse_iso_ns(timestamp)
        if self.ns is not None and ns < self.ns:
            return False  # behind the checkpoint: the range query should not even return it
        if ns == self.ns:
            if key in self._ties:
                return False
            self._ties.add(key)
            return True
        self.timestamp, self.ns, self._ties = timestamp, ns, {key}
        return True

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.timestamp, frozenset(self._ties))
