"""Parse the Prometheus text exposition format 0.0.4 (and OpenMetrics text) into samples, fast.

A scraper calls :meth:`PromTextParser.parse` once per scrape; one parser per target, on
the target's scrape thread (not thread-safe). Successive scrapes of a target repeat the
same series, so the parser remembers each series' text (``name{labels}`` as written) with
its parsed name and labels: in the steady state a line costs one ``rpartition``, one dict
lookup and one ``float()`` (none at all when the value text is unchanged: the previous
sample is reused, samples being immutable). Anything else (a new series, timestamps,
exemplars, odd spacing) takes slower paths; the last of them is a strict regex parse,
which names the line and the reason when it fails.

The scrape path calls :meth:`PromTextParser.parse_columns` instead: the same parse, answered
as columns (series keys and values) with no Sample per line, so that nothing a scrape
allocates outlives it for the cyclic garbage collector to scan again and again.

OpenMetrics is recognised by its final ``# EOF`` line: its timestamps are then seconds
(converted to milliseconds), ``unknown`` types read as ``untyped``, ``# UNIT`` lines and
exemplars (after `` # ``) are ignored. Label names must be legacy names and the metric
name must precede the braces (no quoted UTF-8 names).
"""

from __future__ import annotations

import re
from typing import NamedTuple

Labels = tuple[tuple[str, str], ...]

# A scraped target with label churn (a request id in a label) must not grow the cache forever.
DEFAULT_MAX_CACHED_SERIES = 200_000

TYPES = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "summary": "summary",
    "untyped": "untyped",
    # OpenMetrics spellings and types; "unknown" is OpenMetrics' name for untyped.
    "unknown": "untyped",
    "info": "info",
    "stateset": "stateset",
    "gaugehistogram": "gaugehistogram",
}

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_NAME_RE = re.compile(_NAME)
# series text, value, optional timestamp, optional exemplar (ignored, not validated).
_SAMPLE_RE = re.compile(
    rf"(?P<series>(?P<name>{_NAME})[ \t]*(?:\{{(?P<labels>(?:[^\"}}]|\"(?:[^\"\\]|\\.)*\")*)\}})?)"
    r"[ \t]+(?P<value>[^ \t#]\S*)(?:[ \t]+(?P<ts>[^ \t#]\S*))?(?:[ \t]+#(?:[ \t].*)?)?[ \t]*"
)
_LABEL_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(,?)')
_ESCAPE_RE = re.compile(r'\\[\\n"]')
_ESCAPES = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}


class Sample(NamedTuple):
    """One sample line: ``labels`` sorted by key and unescaped; ``timestamp_ms`` only if exposed."""

    name: str
    labels: Labels
    value: float
    timestamp_ms: int | None


class ParsedScrape(NamedTuple):
    """One exposition: ``types`` maps family names (from ``# TYPE``) to their type."""

    types: dict[str, str]
    samples: list[Sample]


SeriesKey = tuple[str, Labels]


class ParsedColumns(NamedTuple):
    """One exposition as columns for the scrape path: ``series[i]`` is ``(name, labels)``, ``values[i]``.

    Sample timestamps are validated but left out (the normaliser ignores them). The
    series keys are the parser's own tuples, the same object scrape after scrape, so in
    the steady state a scrape allocates no object per sample but the float: nothing that
    outlives a scrape for the garbage collector to scan (a ``Sample`` per line, kept
    across scrapes, made the cyclic collector's full passes the biggest cost of a scrape).
    """

    types: dict[str, str]
    series: list[SeriesKey]
    values: list[float]


class PromTextError(ValueError):
    """The exposition is not valid text format; ``line`` is 1-based."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


# Returned by the comment parser for "# EOF"; compared by identity.
_EOF = Sample("# EOF", (), 0.0, None)


def _unescape(match: re.Match[str]) -> str:
    return _ESCAPES[match.group(0)]


def parse_labels(body: str) -> Labels:
    """Parse the text between the braces; raises ValueError naming what is wrong."""
    pairs: dict[str, str] = {}
    position, end = 0, len(body)
    while position < end:
        match = _LABEL_RE.match(body, position)
        if match is None:
            if body[position:].strip(" \t"):
                raise ValueError(f"invalid label at {body[position:]!r}")
            break
        key, value, comma = match.groups()
        if key in pairs:
            raise ValueError(f"duplicate label {key!r}")
        # Only the three escapes the format defines; anything else stays literal (as Prometheus does).
        pairs[key] = _ESCAPE_RE.sub(_unescape, value) if "\\" in value else value
        position = match.end()
        if not comma and position < end:
            raise ValueError(f"expected ',' at {body[position:]!r}")
    return tuple(sorted(pairs.items()))


def _parse_value(text: str) -> float:
    # float() also takes "1_000", which no Prometheus parser does.
    if "_" in text:
        raise ValueError(text)
    return float(text)


class _Known:
    """A series seen before: its parsed name and labels, its last value (as text and as a float).

    ``sample`` is the Sample made of that value, built by :meth:`PromTextParser.parse` only
    (None until then, and again whenever :meth:`PromTextParser.parse_columns` moves the value).
    """

    __slots__ = ("key", "labels", "name", "sample", "value", "value_text")

    def __init__(self, name: str, labels: Labels) -> None:
        self.name = name
        self.labels = labels
        self.key: SeriesKey = (name, labels)
        self.value_text = " "  # never equal to a value token, which has no spaces
        self.value = 0.0
        self.sample: Sample | None = None


def _is_metric_name(text: str) -> bool:
    # The same as _NAME_RE.fullmatch, several times faster: an ASCII identifier where ':' is allowed.
    return text.isascii() and text.replace(":", "_").isidentifier()


def _simple_series(text: str) -> _Known | None:
    """Parse ``name{k="v",…}`` written the common way (no escapes, no spaces around ``=``); else None."""
    if "\\" in text:
        return None
    brace = text.find("{")
    if brace < 0:
        return _Known(text, ()) if _is_metric_name(text) else None
    name, body = text[:brace], text[brace + 1 : -1]
    if text[-1] != "}" or not _is_metric_name(name):
        return None
    if body.endswith(",") and len(body) > 1:
        body = body[:-1]
    if not body:
        return _Known(name, ())
    if body[-1] != '"':
        return None
    pairs = {}
    # Without backslashes a value cannot hold a quote, so every '",' ends a value.
    for term in body[:-1].split('",'):
        key, equals, value = term.partition('="')
        if not equals or '"' in value or not (key.isidentifier() and key.isascii()) or key in pairs:
            return None
        pairs[key] = value
    return _Known(name, tuple(sorted(pairs.items())))


class PromTextParser:
    """Reusable across scrapes of the same target: caches parsed label sets."""

    def __init__(self, max_cached_series: int = DEFAULT_MAX_CACHED_SERIES) -> None:
        self._max_cached_series = max_cached_series
        # series text as written ("name{labels}") -> what it parsed to
        self._known: dict[str, _Known] = {}

    def parse(self, text: str) -> ParsedScrape:
        """Parse one exposition; raises :class:`PromTextError` on the first invalid line."""
        known = self._known
        if len(known) > self._max_cached_series:
            known.clear()
        openmetrics = text[-32:].rstrip().endswith("# EOF")
        types: dict[str, str] = {}
        samples: list[Sample] = []
        append = samples.append
        # tuple.__new__ skips the NamedTuple's Python-level __new__: half the cost of a sample.
        new = tuple.__new__
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            head, _, value = line.rpartition(" ")
            series = known.get(head)
            if series is not None:
                if value == series.value_text:
                    # Unchanged since the last scrape (often most series): samples are immutable, share it.
                    fresh = series.sample
                    if fresh is None:  # the value was last read by parse_columns
                        fresh = series.sample = new(Sample, (series.name, series.labels, series.value, None))
                    append(fresh)
                    continue
                if "_" not in value:
                    try:
                        number_value = float(value)
                    except ValueError:
                        pass  # the slow path names the error
                    else:
                        fresh = new(Sample, (series.name, series.labels, number_value, None))
                        series.value_text, series.value, series.sample = value, number_value, fresh
                        append(fresh)
                        continue
            sample = self._slow_line(line, head, value, number, types, openmetrics)
            if sample is _EOF:
                _check_nothing_after(lines, number)
                break
            if sample is not None:
                append(sample)
        return ParsedScrape(types, samples)

    def parse_columns(self, text: str) -> ParsedColumns:
        """Parse like :meth:`parse` (the same checks and errors), answering columns rather than Samples."""
        known = self._known
        if len(known) > self._max_cached_series:
            known.clear()
        openmetrics = text[-32:].rstrip().endswith("# EOF")
        types: dict[str, str] = {}
        keys: list[SeriesKey] = []
        values: list[float] = []
        add_key, add_value = keys.append, values.append
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            head, _, value = line.rpartition(" ")
            series = known.get(head)
            if series is not None:
                if value == series.value_text:
                    add_key(series.key)
                    add_value(series.value)
                    continue
                if "_" not in value:
                    try:
                        number_value = float(value)
                    except ValueError:
                        pass  # the slow path names the error
                    else:
                        series.value_text, series.value, series.sample = value, number_value, None
                        add_key(series.key)
                        add_value(number_value)
                        continue
            sample = self._slow_line(line, head, value, number, types, openmetrics)
            if sample is _EOF:
                _check_nothing_after(lines, number)
                break
            if sample is not None:
                # A series met for the first time: its cached key, so that later scrapes hand the
                # normaliser the very object its state is filed under (an identity hit, no compare).
                series = known.get(head)
                fresh_key = (
                    series.key
                    if series is not None and series.name is sample[0] and series.labels is sample[1]
                    else (sample[0], sample[1])
                )
                add_key(fresh_key)
                add_value(sample[2])
        return ParsedColumns(types, keys, values)

    def _slow_line(
        self, raw: str, head: str, last: str, number: int, types: dict[str, str], openmetrics: bool
    ) -> Sample | None:
        """Parse what the fast path did not take; None for comments and blanks, ``_EOF`` at the end."""
        line = raw.strip()
        if not line:
            return None
        if line[0] == "#":
            return _comment(line, number, types)
        if len(line) == len(raw) and head not in self._known:
            # First sight of a series written the common way: no regex needed.
            series = _simple_series(head)
            if series is not None:
                try:
                    value = _parse_value(last)
                except ValueError:
                    pass  # the full parse below names the error
                else:
                    self._known[head] = series
                    sample = Sample(series.name, series.labels, value, None)
                    series.value_text, series.value, series.sample = last, value, sample
                    return sample
        # A known series followed by a value and a timestamp.
        series_text, _, value_text = head.rpartition(" ")
        series = self._known.get(series_text)
        if series is not None:
            try:
                return Sample(
                    series.name, series.labels, _parse_value(value_text), _timestamp_ms(last, openmetrics)
                )
            except (ValueError, OverflowError):
                pass  # the full parse below names the error
        return self._full_sample(line, number, openmetrics)

    def _full_sample(self, line: str, number: int, openmetrics: bool) -> Sample:
        match = _SAMPLE_RE.fullmatch(line)
        if match is None:
            raise PromTextError(number, f"not a comment or a sample: {line[:120]!r}")
        series_text = match["series"]
        series = self._known.get(series_text)
        if series is None:
            try:
                labels = parse_labels(match["labels"]) if match["labels"] else ()
            except ValueError as error:
                raise PromTextError(number, f"invalid labels: {error}") from None
            series = self._known[series_text] = _Known(match["name"], labels)
        try:
            value = _parse_value(match["value"])
        except ValueError:
            raise PromTextError(number, f"invalid value {match['value']!r}") from None
        timestamp = match["ts"]
        try:
            timestamp_ms = None if timestamp is None else _timestamp_ms(timestamp, openmetrics)
        except (ValueError, OverflowError):
            raise PromTextError(number, f"invalid timestamp {timestamp!r}") from None
        return Sample(series.name, series.labels, value, timestamp_ms)


def _timestamp_ms(text: str, openmetrics: bool) -> int:
    # 0.0.4 timestamps are integer milliseconds; OpenMetrics ones are float seconds.
    if openmetrics:
        return round(_parse_value(text) * 1000)
    if "_" in text:
        raise ValueError(text)
    return int(text)


def _comment(line: str, number: int, types: dict[str, str]) -> Sample | None:
    """Record a ``# TYPE``; ``_EOF`` for ``# EOF``; other comments (HELP, UNIT, free text) are skipped."""
    parts = line.split(None, 3)
    if len(parts) < 2:
        return None
    if parts[1] == "EOF" and parts[0] == "#":
        if len(parts) > 2:
            raise PromTextError(number, "text after # EOF")
        return _EOF
    if parts[1] != "TYPE" or parts[0] != "#":
        return None
    if len(parts) < 4:
        raise PromTextError(number, "# TYPE needs a metric name and a type")
    name, kind = parts[2], parts[3].strip()
    if _NAME_RE.fullmatch(name) is None:
        raise PromTextError(number, f"invalid metric name {name!r} in # TYPE")
    if kind not in TYPES:
        raise PromTextError(number, f"unknown metric type {kind!r}")
    types[name] = TYPES[kind]
    return None


def _check_nothing_after(lines: list[str], eof_number: int) -> None:
    for number in range(eof_number + 1, len(lines) + 1):
        if lines[number - 1].strip():
            raise PromTextError(number, "content after # EOF")
