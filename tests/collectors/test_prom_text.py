"""The scrape parser reads every type and OpenMetrics, agrees with prometheus_client, names bad lines."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collectors.prom_text import ParsedColumns, ParsedScrape, PromTextError, PromTextParser, Sample

INF = math.inf

PARSES = [
    (
        "a counter is read with its TYPE and its _total sample",
        "# HELP requests_total Requests served.\n"
        "# TYPE requests_total counter\n"
        'requests_total{method="GET",status="200"} 1027\n',
        {"requests_total": "counter"},
        [Sample("requests_total", (("method", "GET"), ("status", "200")), 1027.0, None)],
    ),
    (
        "a gauge without labels is read",
        "# TYPE queue_depth gauge\nqueue_depth 3.5\n",
        {"queue_depth": "gauge"},
        [Sample("queue_depth", (), 3.5, None)],
    ),
    (
        "a sample without a TYPE line is untyped and leaves types empty",
        "some_metric 12\n",
        {},
        [Sample("some_metric", (), 12.0, None)],
    ),
    (
        "a histogram gives its buckets, count and sum with le kept as written",
        "# TYPE rpc_seconds histogram\n"
        'rpc_seconds_bucket{le="0.005"} 1\n'
        'rpc_seconds_bucket{le="0.1"} 4\n'
        'rpc_seconds_bucket{le="+Inf"} 5\n'
        "rpc_seconds_sum 1.25\n"
        "rpc_seconds_count 5\n",
        {"rpc_seconds": "histogram"},
        [
            Sample("rpc_seconds_bucket", (("le", "0.005"),), 1.0, None),
            Sample("rpc_seconds_bucket", (("le", "0.1"),), 4.0, None),
            Sample("rpc_seconds_bucket", (("le", "+Inf"),), 5.0, None),
            Sample("rpc_seconds_sum", (), 1.25, None),
            Sample("rpc_seconds_count", (), 5.0, None),
        ],
    ),
    (
        "a summary gives its quantiles, sum and count",
        "# TYPE payload_bytes summary\n"
        'payload_bytes{quantile="0.5"} 120\n'
        'payload_bytes{quantile="0.99"} 4e3\n'
        "payload_bytes_sum 9001\n"
        "payload_bytes_count 17\n",
        {"payload_bytes": "summary"},
        [
            Sample("payload_bytes", (("quantile", "0.5"),), 120.0, None),
            Sample("payload_bytes", (("quantile", "0.99"),), 4000.0, None),
            Sample("payload_bytes_sum", (), 9001.0, None),
            Sample("payload_bytes_count", (), 17.0, None),
        ],
    ),
    (
        "labels come out sorted by key whatever order they were written in",
        'm{zone="b",app="x",node="i-1"} 1\n',
        {},
        [Sample("m", (("app", "x"), ("node", "i-1"), ("zone", "b")), 1.0, None)],
    ),
    (
        "the three escapes are undone and an unknown escape stays literal",
        'm{path="C:\\\\temp",quote="say \\"hi\\"",text="a\\nb",tab="a\\tb"} 1\n',
        {},
        [
            Sample(
                "m",
                (("path", "C:\\temp"), ("quote", 'say "hi"'), ("tab", "a\\tb"), ("text", "a\nb")),
                1.0,
                None,
            )
        ],
    ),
    (
        "label values may hold spaces, commas, equals signs, braces and a hash",
        'm{a="x y, z",b="}{",c="k=v",d=" # "} 2\n',
        {},
        [Sample("m", (("a", "x y, z"), ("b", "}{"), ("c", "k=v"), ("d", " # ")), 2.0, None)],
    ),
    (
        "an escaped quote followed by a brace does not end the labels",
        'm{a="\\"}",b="2"} 3\n',
        {},
        [Sample("m", (("a", '"}'), ("b", "2")), 3.0, None)],
    ),
    (
        "a trailing comma in the labels and empty braces are accepted",
        'm{a="1",} 1\nn{} 2\n',
        {},
        [Sample("m", (("a", "1"),), 1.0, None), Sample("n", (), 2.0, None)],
    ),
    (
        "spaces around label tokens and tabs between fields are accepted",
        'm { a = "1" , b="2" }\t7\n',
        {},
        [Sample("m", (("a", "1"), ("b", "2")), 7.0, None)],
    ),
    (
        "infinities and exponents are values",
        "a +Inf\nb -Inf\nc 1.5e-3\nd -0\n",
        {},
        [
            Sample("a", (), INF, None),
            Sample("b", (), -INF, None),
            Sample("c", (), 0.0015, None),
            Sample("d", (), -0.0, None),
        ],
    ),
    (
        "a 0.0.4 timestamp is integer milliseconds",
        'm{a="1"} 5 1700000000123\nn 6 -42\n',
        {},
        [Sample("m", (("a", "1"),), 5.0, 1700000000123), Sample("n", (), 6.0, -42)],
    ),
    (
        "comments, HELP lines, blank lines and CRLF line ends are skipped",
        "# a free comment\r\n\r\n# HELP m what it is\r\n   \r\nm 1\r\n\n",
        {},
        [Sample("m", (), 1.0, None)],
    ),
    (
        "OpenMetrics text with UNIT, _created, exemplars and # EOF is read, timestamps in seconds",
        "# TYPE rpc_seconds histogram\n"
        "# UNIT rpc_seconds seconds\n"
        "# HELP rpc_seconds Latency.\n"
        'rpc_seconds_bucket{le="0.1"} 8 # {trace_id="4bf92f3577b34da6"} 0.043 1700000000.5\n'
        'rpc_seconds_bucket{le="+Inf"} 9 # {trace_id="00f067aa0ba902b7"} 1.5\n'
        "rpc_seconds_count 9\n"
        "rpc_seconds_sum 2.5\n"
        "rpc_seconds_created 1700000000.25\n"
        "# TYPE jobs counter\n"
        "jobs_total 3 1700000001.5\n"
        "# TYPE mystery unknown\n"
        "mystery 1\n"
        "# EOF\n",
        {"rpc_seconds": "histogram", "jobs": "counter", "mystery": "untyped"},
        [
            Sample("rpc_seconds_bucket", (("le", "0.1"),), 8.0, None),
            Sample("rpc_seconds_bucket", (("le", "+Inf"),), 9.0, None),
            Sample("rpc_seconds_count", (), 9.0, None),
            Sample("rpc_seconds_sum", (), 2.5, None),
            Sample("rpc_seconds_created", (), 1700000000.25, None),
            Sample("jobs_total", (), 3.0, 1700000001500),
            Sample("mystery", (), 1.0, None),
        ],
    ),
    (
        "names with colons, as recording rules write them, are accepted",
        "job:requests:rate5m 4\n",
        {},
        [Sample("job:requests:rate5m", (), 4.0, None)],
    ),
    ("an empty exposition has no samples", "", {}, []),
]


@pytest.mark.parametrize(
    ("text", "types", "samples"), [case[1:] for case in PARSES], ids=[c[0] for c in PARSES]
)
def test_expositions_parse_to_their_samples(text, types, samples):
    parser = PromTextParser()
    assert parser.parse(text) == ParsedScrape(types, samples)
    # The second scrape takes the cached path and must agree.
    assert parser.parse(text) == ParsedScrape(types, samples)


def test_nan_is_a_value():
    (sample,) = PromTextParser().parse("m NaN\n").samples
    assert sample.name == "m" and math.isnan(sample.value)


GARBAGE = [
    ("a name without a value", "ok 1\nlonely_name\n", 2, "not a comment or a sample"),
    ("a value that is not a number", 'ok 1\nm{a="1"} twelve\n', 2, "invalid value 'twelve'"),
    ("a value with an underscore", "m 1_000\n", 1, "invalid value '1_000'"),
    ("an unquoted label value", "ok 1\nok 2\nm{a=1} 1\n", 3, "invalid labels"),
    ("labels missing a comma", 'm{a="1" b="2"} 1\n', 1, "expected ','"),
    ("a duplicate label", 'm{a="1",a="2"} 1\n', 1, "duplicate label 'a'"),
    ("an unterminated label value", 'm{a="1} 1\n', 1, "not a comment or a sample"),
    ("a label name starting with a digit", 'm{1a="1"} 1\n', 1, "invalid labels"),
    ("a metric name starting with a digit", "1m 1\n", 1, "not a comment or a sample"),
    ("a fractional 0.0.4 timestamp", "m 1 1.5\n", 1, "invalid timestamp '1.5'"),
    ("a third field after the timestamp", "m 1 2 3\n", 1, "not a comment or a sample"),
    ("a TYPE line without a type", "# TYPE m\n", 1, "# TYPE needs a metric name and a type"),
    ("a TYPE line with an unknown type", "# TYPE m countr\n", 1, "unknown metric type 'countr'"),
    ("a sample after # EOF", "m 1\n# EOF\nn 2\n", 3, "content after # EOF"),
    ("a sample missing its value", 'ok 1\nm{a="1"}\n', 2, "not a comment or a sample"),
    ("HTML from a proxy error page", "<html>\n<body>502</body>\n", 1, "not a comment or a sample"),
]


@pytest.mark.parametrize(
    ("text", "line", "reason"), [case[1:] for case in GARBAGE], ids=[c[0] for c in GARBAGE]
)
def test_garbage_raises_an_error_naming_the_line(text, line, reason):
    with pytest.raises(PromTextError) as raised:
        PromTextParser().parse(text)
    assert raised.value.line == line
    assert reason in raised.value.reason
    assert str(raised.value).startswith(f"line {line}: ")
    assert isinstance(raised.value, ValueError)


def test_a_value_that_turns_to_garbage_on_a_later_scrape_is_still_caught():
    parser = PromTextParser()
    parser.parse('m{a="1"} 1\n')
    with pytest.raises(PromTextError, match="line 2: invalid value 'oops'"):
        parser.parse('\nm{a="1"} oops\n')


def _flat(samples) -> list[tuple]:
    return sorted((s.name, tuple(sorted(dict(s.labels).items())), s.value) for s in samples)


def _prometheus_client_samples(text: str) -> list[tuple]:
    return sorted(
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    )


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("http_server_requests", "Requests.", ["method", "uri", "status"], registry=registry)
    inflight = Gauge("http_server_inflight", "In flight.", ["method"], registry=registry)
    latency = Histogram("http_server_requests_seconds", "Latency.", ["method", "uri"], registry=registry)
    sizes = Summary("http_server_response_bytes", "Response size.", ["method"], registry=registry)
    uris = ["/titles/{id}", "/a b,c}", 'quote"d', "back\\slash", "new\nline", "ünïcode ✓"]
    for n, uri in enumerate(uris):
        requests.labels("GET", uri, "200").inc(n * 3 + 1)
        requests.labels("POST", uri, "503").inc(0.5)
        latency.labels("GET", uri).observe(0.001 * (n + 1) ** 3)
    inflight.labels("GET").set(7)
    inflight.labels("PUT").set(-2.25)
    sizes.labels("GET").observe(512)
    return registry


def test_samples_equal_prometheus_client_parser_on_a_real_exposition():
    text = generate_latest(_registry()).decode()
    parser = PromTextParser()
    scrape = parser.parse(text)
    assert _flat(scrape.samples) == _prometheus_client_samples(text)
    assert len(scrape.samples) > 100
    assert scrape.types["http_server_requests_total"] == "counter"
    assert scrape.types["http_server_requests_seconds"] == "histogram"
    assert scrape.types["http_server_response_bytes"] == "summary"
    assert scrape.types["http_server_inflight"] == "gauge"
    # Warm cache, same answer.
    assert _flat(parser.parse(text).samples) == _prometheus_client_samples(text)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=4, unique=True),
    amount=st.floats(min_value=0, max_value=1e12, allow_nan=False),
)
def test_any_label_value_prometheus_client_writes_reads_back_unchanged(values, amount):
    registry = CollectorRegistry()
    counter = Counter("things", "Things.", ["label"], registry=registry)
    for value in values:
        counter.labels(value).inc(amount)
    text = generate_latest(registry).decode()
    parser = PromTextParser()
    got = {s.labels: s.value for s in parser.parse(text).samples if s.name == "things_total"}
    assert got == {(("label", value),): amount for value in values}
    assert _flat(parser.parse(text).samples) == _prometheus_client_samples(text)


def test_a_reused_parser_sees_each_scrapes_values():
    parser = PromTextParser()
    for value in (1.0, 2.0, 2.0, 40.5):
        (sample,) = parser.parse(f'jobs_total{{queue="emails"}} {value}\n').samples
        assert sample == Sample("jobs_total", (("queue", "emails"),), value, None)


def test_a_small_cache_is_cleared_and_parsing_stays_correct():
    parser = PromTextParser(max_cached_series=2)
    text = "".join(f'm{{n="{n}"}} {n}\n' for n in range(10))
    for _ in range(3):
        assert [s.value for s in parser.parse(text).samples] == [float(n) for n in range(10)]


def test_a_known_series_with_a_timestamp_on_a_later_scrape_keeps_it():
    parser = PromTextParser()
    parser.parse('m{a="1"} 1\n')
    assert parser.parse('m{a="1"} 2 1700000000000\n').samples == [
        Sample("m", (("a", "1"),), 2.0, 1700000000000)
    ]


# --- the columnar form the scraper uses --------------------------------------------------------


def _as_columns(scrape: ParsedScrape) -> ParsedColumns:
    return ParsedColumns(
        scrape.types, [(s.name, s.labels) for s in scrape.samples], [s.value for s in scrape.samples]
    )


@pytest.mark.parametrize(
    ("text", "types", "samples"), [case[1:] for case in PARSES], ids=[c[0] for c in PARSES]
)
def test_parse_columns_reads_what_parse_reads(text, types, samples):
    parser = PromTextParser()
    expected = _as_columns(ParsedScrape(types, samples))
    assert parser.parse_columns(text) == expected
    assert parser.parse_columns(text) == expected  # the cached path agrees


@pytest.mark.parametrize(
    ("text", "line", "reason"), [case[1:] for case in GARBAGE], ids=[c[0] for c in GARBAGE]
)
def test_parse_columns_refuses_garbage_as_parse_does(text, line, reason):
    with pytest.raises(PromTextError) as raised:
        PromTextParser().parse_columns(text)
    assert raised.value.line == line
    assert reason in raised.value.reason


def test_parse_and_parse_columns_share_a_parser_without_stale_values():
    parser = PromTextParser()
    key = ("jobs_total", (("queue", "emails"),))
    for value, columnar in [(1.0, False), (2.0, True), (2.0, False), (3.0, False), (3.0, True), (4.0, True)]:
        text = f'jobs_total{{queue="emails"}} {value}\n'
        if columnar:
            assert parser.parse_columns(text) == ParsedColumns({}, [key], [value])
        else:
            assert parser.parse(text).samples == [Sample(*key, value, None)]
    assert parser.parse('jobs_total{queue="emails"} 4.0\n').samples == [Sample(*key, 4.0, None)]


def test_parse_columns_reuses_one_key_object_per_series_across_scrapes():
    parser = PromTextParser()
    text = generate_latest(_registry()).decode()
    first, second = parser.parse_columns(text), parser.parse_columns(text)
    assert _as_columns(parser.parse(text)) == second
    assert all(a is b for a, b in zip(first.series, second.series, strict=True))
