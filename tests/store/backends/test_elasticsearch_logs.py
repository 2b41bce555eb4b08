"""The Elasticsearch logs backend answers as the DuckDB store does, on the same ECS documents.

The same documents (services, levels in every case, trace ids, labels, nested and dotted
keys, hundreds sharing one timestamp, some exactly on step boundaries, a ``date_nanos``
index with documents a nanosecond either side of a boundary) go into a DuckDB store and,
through ``_bulk``, into the Elasticsearch fake on loopback; every search, paging walk and
count is asked of both and must agree. The documented differences have tests of their
own. The comparisons run against a real cluster too when ``WATCHFLOOR_TEST_ES_URL`` is set.
"""

from __future__ import annotations

import json
import os
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from collectors.bulk_intake import DocumentError, ecs_get, log_record
from collectors.es_checkpoint import format_iso_ns
from collectors.es_puller import hit_record
from sample_services.serving import ServerThread
from store.backends.elasticsearch_logs import ElasticsearchLogReader, LogBackendError, document_seq
from store.backends.elasticsearch_queries import hit_record as es_hit_record
from store.duckdb_store import DuckDBStore
from store.interfaces import BackendError, LogSearch
from store.model import LogRecord
from tests.fakes.elasticsearch import FakeElasticsearch

# Read at import: the autouse fixture clears WATCHFLOOR_* variables before each test runs.
REAL_ES_URL = os.environ.get("WATCHFLOOR_TEST_ES_URL")
REAL_ES_API_KEY = os.environ.get("WATCHFLOOR_TEST_ES_API_KEY")

T0_MS = 1_777_629_600_000  # 2026-05-01T10:00:00Z, a multiple of every step below
MS = 1_000_000
TIE_MS = T0_MS + 125_000  # 160 documents share this millisecond
BOUNDARY_TIE_MS = T0_MS + 180_000  # 40 share this one, exactly on a step boundary
NANOS_TIE_NS = (T0_MS + 240_000) * MS + 123_456  # 30 share this nanosecond
BEFORE_ALL = ((T0_MS - 3_600_000) * MS, -1)  # a cursor older than every document

MESSAGES = [
    "GET /api/orders completed in 12 ms",
    "POST /api/orders failed: payment declined",
    "Timeout calling catalog after 3s",
    "connection refused by upstream playback",
    "cache miss for key user:42",
    "Payment declined: card expired",
    "retrying request 3 of 5",
    "heartbeat",
]
TRACES = [
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "0af7651916cd43dd8448eb211c80319c",
    "aaaabbbbccccdddd0000111122223333",
]


# --- the documents -------------------------------------------------------------------------------


def _put(document: dict[str, Any], path: str, value: Any, dotted: bool) -> None:
    """Set an ECS field dotted (``"log.level": …``) or nested (``{"log": {"level": …}}``)."""
    if dotted:
        document[path] = value
        return
    head, _, rest = path.partition(".")
    document.setdefault(head, {})[rest] = value


def _iso_ms(ms: int, zone_hours: int = 0) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC) + timedelta(hours=zone_hours)
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if zone_hours == 0 else text[:-6] + f"+{zone_hours:02d}:00"


def _source(rng: random.Random, doc_id: str, timestamp: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"@timestamp": timestamp, "event": {"id": doc_id}}
    service = rng.choice(["checkout", "catalog", "playback", None])
    if service is not None:
        _put(document, "service.name", service, rng.random() < 0.5)
    level = rng.choice(["INFO", "info", "WARN", "warn", "ERROR", "error", "debug", None, ""])
    if level is not None:
        _put(document, "log.level", level, rng.random() < 0.5)
    if rng.random() < 0.6:
        trace = rng.choice(TRACES)
        _put(document, "trace.id", trace.upper() if rng.random() < 0.4 else trace, rng.random() < 0.5)
        _put(document, "span.id", f"{rng.getrandbits(64):016X}", rng.random() < 0.5)
    if rng.random() < 0.9:
        document["message"] = rng.choice(MESSAGES)
    if rng.random() < 0.8:
        labels: dict[str, Any] = {"nf_cluster": rng.choice(["playback-v1", "playback-v2-canary"])}
        if rng.random() < 0.5:
            labels["region"] = rng.choice(["eu", "us"])
        if rng.random() < 0.3:
            labels["team.name"] = "core"  # a dot inside a label's key
        if rng.random() < 0.3:
            labels["http_status"] = rng.choice([200, 500])
        document["labels"] = labels  # nested: the store reads labels only so (see the differences)
    if rng.random() < 0.3:
        document["http"] = {
            "request": {"method": rng.choice(["GET", "POST"])},
            "response": {"status_code": 200},
        }
    return document


def documents() -> list[tuple[str, str, dict[str, Any]]]:
    """(index, _id, source) of every document; the same every run."""
    rng = random.Random(20260501)
    found: list[tuple[str, str, dict[str, Any]]] = []

    def add(index: str, timestamp: Any) -> None:
        doc_id = f"d{len(found):04d}"
        found.append((index, doc_id, _source(rng, doc_id, timestamp)))

    for n in range(260):
        roll = rng.random()
        if roll < 0.25:
            ms = T0_MS + rng.randrange(0, 61) * 10_000  # on a 10 s boundary
        elif roll < 0.45:
            ms = T0_MS + rng.randrange(0, 61) * 10_000 + rng.choice([-1, 1])
        else:
            ms = T0_MS + rng.randrange(-30_000, 600_000)
        spelled: Any = _iso_ms(ms)
        if n % 9 == 0:
            spelled = ms  # epoch milliseconds
        elif n % 7 == 0:
            spelled = _iso_ms(ms, zone_hours=2)
        add(rng.choice(["logs-app-a", "logs-app-b"]), spelled)
    for n in range(160):
        add("logs-app-a" if n % 2 else "logs-app-b", _iso_ms(TIE_MS))
    for _ in range(40):
        add("logs-app-b", _iso_ms(BOUNDARY_TIE_MS))
    for _ in range(90):
        boundary_ns = (T0_MS + rng.randrange(0, 61) * 10_000) * MS
        ns = boundary_ns + rng.choice([0, 1, -1, 500_000, 999_999, rng.randrange(-(10**10), 10**10)])
        add("logs-app-nanos", format_iso_ns(ns))
    for _ in range(30):
        add("logs-app-nanos", format_iso_ns(NANOS_TIE_NS))
    return found


def fill_duckdb(docs: list[tuple[str, str, dict[str, Any]]]) -> DuckDBStore:
    """The documents as the puller stores them, inserted in the order of the seq Elasticsearch's
    records carry: the store's seq (insertion order) then orders ties as the backend does."""
    store = DuckDBStore(":memory:")
    ordered = sorted(docs, key=lambda d: document_seq(d[0], d[1]))
    store.write_logs([hit_record({"_index": index, "_id": i, "_source": s}) for index, i, s in ordered])
    return store


def bulk(client: Elasticsearch, docs: list[tuple[str, str, dict[str, Any]]]) -> None:
    operations: list[dict[str, Any]] = []
    for index, doc_id, source in docs:
        operations += [{"create": {"_index": index, "_id": doc_id}}, source]
    answer = client.bulk(operations=operations, refresh=True)
    assert not answer["errors"], [i for i in answer["items"] if "error" in i["create"]][:3]


# --- comparing ------------------------------------------------------------------------------------


def view(records: list[LogRecord]) -> list[tuple[Any, ...]]:
    """What two backends must agree on: everything but seq, which each assigns its own way."""
    return [
        (r.timestamp_ns, r.level, r.message, r.service, r.trace_id, r.span_id, dict(r.document), r.index)
        for r in records
    ]


def key_of(record: LogRecord) -> tuple[str, str]:
    return record.index, str(ecs_get(dict(record.document), "event.id"))


@dataclass
class World:
    """The two backends over the same documents, and each one's cursor for a document."""

    reader: ElasticsearchLogReader
    store: DuckDBStore
    url: str
    pattern: str
    api_key: str | None = None

    def another_reader(self, **options: Any) -> ElasticsearchLogReader:
        return ElasticsearchLogReader(self.url, index=self.pattern, api_key=self.api_key, **options)

    def everything(self) -> list[LogRecord]:
        return self.store.search_logs(LogSearch(limit=100_000))

    def cursors(self, position: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(store cursor, backend cursor) of the record at ``position`` in the newest-first order."""
        record = self.everything()[position]
        return (record.timestamp_ns, record.seq), (record.timestamp_ns, document_seq(*key_of(record)))


@dataclass(frozen=True)
class Case:
    name: str
    search: LogSearch
    before_at: int | None = None  # a cursor at this position of the newest-first order
    after_at: int | None = None


CASES = [
    Case("everything comes newest first", LogSearch(limit=100_000)),
    Case("a limit cuts inside 160 documents of one millisecond", LogSearch(end_ns=TIE_MS * MS, limit=20)),
    Case("a limit of one", LogSearch(limit=1)),
    Case("a limit of zero reads nothing", LogSearch(limit=0)),
    Case("one service", LogSearch(service="checkout", limit=1000)),
    Case("the empty service means documents without one", LogSearch(service="", limit=1000)),
    Case("a level matches every case of it", LogSearch(level="error", limit=1000)),
    Case("a level with capitals matches nothing, as the store's", LogSearch(level="ERROR", limit=1000)),
    Case("the empty level means documents without one", LogSearch(level="", limit=1000)),
    Case("any of several levels", LogSearch(levels=("warn", "error"), limit=1000)),
    Case("a level and levels must both hold", LogSearch(level="warn", levels=("warn", "info"), limit=1000)),
    Case("a trace id matches whatever case it was shipped in", LogSearch(trace_id=TRACES[0], limit=1000)),
    Case("a trace id asked in capitals matches nothing", LogSearch(trace_id=TRACES[0].upper(), limit=1000)),
    Case("a word of the message in any case", LogSearch(text="timeout", limit=1000)),
    Case("words of the message in sequence", LogSearch(text="Payment Declined", limit=1000)),
    Case("a phrase that is also a substring", LogSearch(text="connection refused", limit=1000)),
    Case("a label", LogSearch(labels=(("nf_cluster", "playback-v2-canary"),), limit=1000)),
    Case(
        "every label must hold",
        LogSearch(labels=(("nf_cluster", "playback-v1"), ("region", "eu")), limit=1000),
    ),
    Case("a label whose key holds a dot", LogSearch(labels=(("team.name", "core"),), limit=1000)),
    Case("a label holding a number", LogSearch(labels=(("http_status", "500"),), limit=1000)),
    Case("a start bound is inclusive", LogSearch(start_ns=BOUNDARY_TIE_MS * MS, limit=100_000)),
    Case("an end bound is inclusive", LogSearch(end_ns=BOUNDARY_TIE_MS * MS, limit=100_000)),
    Case(
        "a start a nanosecond after a millisecond excludes it",
        LogSearch(start_ns=TIE_MS * MS + 1, end_ns=(TIE_MS + 60_000) * MS, limit=100_000),
    ),
    Case(
        "an end a nanosecond before a millisecond excludes it",
        LogSearch(start_ns=(TIE_MS - 60_000) * MS, end_ns=TIE_MS * MS - 1, limit=100_000),
    ),
    Case(
        "nanosecond bounds around a date_nanos tie",
        LogSearch(start_ns=NANOS_TIE_NS, end_ns=NANOS_TIE_NS, limit=100_000),
    ),
    # The 160 documents of TIE_MS sit at positions 352-511, the 41 at BOUNDARY_TIE_MS at
    # 278-318, the 30 of NANOS_TIE_NS at 218-247 (checked below).
    Case("before a cursor inside a tie", LogSearch(limit=25), before_at=400),
    Case("after a cursor inside a tie comes oldest first", LogSearch(limit=25), after_at=420),
    Case("before a cursor inside a date_nanos tie", LogSearch(limit=10), before_at=230),
    Case("between cursors inside two ties", LogSearch(limit=1000), before_at=300, after_at=450),
    Case(
        "filters, bounds and a cursor together",
        LogSearch(
            service="catalog",
            levels=("info", "warn", ""),
            labels=(("nf_cluster", "playback-v1"),),
            start_ns=(T0_MS + 60_000) * MS,
            end_ns=(T0_MS + 400_000) * MS,
            limit=7,
        ),
        before_at=230,
    ),
    Case("text and a trace id together", LogSearch(text="orders", trace_id=TRACES[1], limit=1000)),
]

WALKS = [
    LogSearch(),
    LogSearch(service="checkout"),
    LogSearch(levels=("warn", "error")),
    LogSearch(labels=(("nf_cluster", "playback-v2-canary"),)),
    LogSearch(start_ns=(TIE_MS - 5_000) * MS, end_ns=(BOUNDARY_TIE_MS + 5_000) * MS),
]

COUNTS = [
    ("ten minutes by the minute", LogSearch(), T0_MS - 30_000, T0_MS + 600_000, 60_000),
    ("an unaligned range by 10 s", LogSearch(), T0_MS - 12_345, T0_MS + 600_001, 10_000),
    ("ties and boundaries by the second", LogSearch(), T0_MS + 115_000, T0_MS + 190_000, 1_000),
    ("date_nanos boundaries by 7 ms", LogSearch(), T0_MS + 239_950, T0_MS + 240_050, 7),
    ("by the millisecond", LogSearch(), T0_MS + 9_995, T0_MS + 10_005, 1),
    ("one step wider than the range", LogSearch(), T0_MS + 100, T0_MS + 500_000, 3_600_000),
    ("an empty range", LogSearch(), T0_MS + 10_000, T0_MS, 1_000),
    ("a service", LogSearch(service="playback"), T0_MS - 60_000, T0_MS + 660_000, 30_000),
    ("a level", LogSearch(level="error"), T0_MS - 60_000, T0_MS + 660_000, 20_000),
    ("levels", LogSearch(levels=("warn", "")), T0_MS - 60_000, T0_MS + 660_000, 20_000),
    ("a phrase", LogSearch(text="payment declined"), T0_MS - 60_000, T0_MS + 660_000, 10_000),
    ("a label", LogSearch(labels=(("nf_cluster", "playback-v1"),)), T0_MS, T0_MS + 600_000, 10_000),
    ("a trace", LogSearch(trace_id=TRACES[2]), T0_MS, T0_MS + 600_000, 10_000),
    (
        "bounds, cursors and limit are ignored",
        LogSearch(start_ns=TIE_MS * MS, end_ns=TIE_MS * MS, limit=1, before=(0, 0)),
        T0_MS,
        T0_MS + 600_000,
        60_000,
    ),
]


class Comparisons:
    """Every comparison, given a ``world`` fixture (the fake's or a real cluster's)."""

    @pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
    def test_a_search_answers_as_the_store(self, world: World, case: Case) -> None:
        duck, es = case.search, case.search
        if case.before_at is not None:
            duck_cursor, es_cursor = world.cursors(case.before_at)
            duck, es = replace(duck, before=duck_cursor), replace(es, before=es_cursor)
        if case.after_at is not None:
            duck_cursor, es_cursor = world.cursors(case.after_at)
            duck, es = replace(duck, after=duck_cursor), replace(es, after=es_cursor)

        expected = world.store.search_logs(duck)
        answer = world.reader.search_logs(es)

        assert view(answer) == view(expected)
        assert [r.seq for r in answer] == [document_seq(*key_of(r)) for r in answer]

    def test_the_cases_are_not_trivial(self, world: World) -> None:
        everything = world.everything()
        ties = {TIE_MS * MS: (352, 511), BOUNDARY_TIE_MS * MS: (278, 318), NANOS_TIE_NS: (218, 247)}
        for timestamp, (first, last) in ties.items():
            at = [n for n, r in enumerate(everything) if r.timestamp_ns == timestamp]
            assert (at[0], at[-1]) == (first, last)
        sizes = {c.name: len(world.store.search_logs(c.search)) for c in CASES if c.before_at is None}
        assert sizes["everything comes newest first"] == 580
        empty = {name for name, size in sizes.items() if size == 0}
        assert empty == {
            "a limit of zero reads nothing",
            "a level with capitals matches nothing, as the store's",
            "a trace id asked in capitals matches nothing",
        }

    @pytest.mark.parametrize("page", [7, 100])
    @pytest.mark.parametrize("base", WALKS, ids=["all", "service", "levels", "label", "bounds"])
    def test_paging_backwards_and_forwards_gives_every_record_once_in_order(
        self, world: World, base: LogSearch, page: int
    ) -> None:
        everything = view(world.store.search_logs(replace(base, limit=100_000)))

        def walk(read: Callable[[LogSearch], list[LogRecord]], back: bool) -> list[LogRecord]:
            seen: list[LogRecord] = []
            cursor = None if back else BEFORE_ALL
            while len(seen) <= len(everything):  # more would be a page read twice: stop, and fail
                search = (
                    replace(base, limit=page, before=cursor)
                    if back
                    else replace(base, limit=page, after=cursor)
                )
                records = read(search)
                if not records:
                    return seen
                assert len(records) <= page
                seen += records
                cursor = (records[-1].timestamp_ns, records[-1].seq)
            return seen

        for back in (True, False):
            ours = walk(world.reader.search_logs, back)
            theirs = walk(world.store.search_logs, back)
            expected = everything if back else everything[::-1]
            assert view(ours) == view(theirs) == expected
            assert len({key_of(r) for r in ours}) == len(ours)

    @pytest.mark.parametrize(("name", "search", "start", "end", "step"), COUNTS, ids=[c[0] for c in COUNTS])
    def test_counts_per_step_equal_the_store(
        self, world: World, name: str, search: LogSearch, start: int, end: int, step: int
    ) -> None:
        assert world.reader.log_counts(search, start, end, step) == world.store.log_counts(
            search, start, end, step
        )
        assert world.reader.log_counts_by_level(search, start, end, step) == world.store.log_counts_by_level(
            search, start, end, step
        )

    def test_counts_read_in_small_windows_equal_the_store(self, world: World) -> None:
        with world.another_reader(steps_per_request=3) as narrow:
            for _, search, start, end, step in COUNTS:
                assert narrow.log_counts(search, start, end, step) == world.store.log_counts(
                    search, start, end, step
                )
                assert narrow.log_counts_by_level(
                    search, start, end, step
                ) == world.store.log_counts_by_level(search, start, end, step)

    def test_the_counts_are_not_trivial(self, world: World) -> None:
        by_level = world.store.log_counts_by_level(LogSearch(), T0_MS - 60_000, T0_MS + 660_000, 10_000)
        assert set(by_level) == {"", "debug", "error", "info", "warn"}
        # Documents within a millisecond after a boundary: counted in the next step by the store.
        nanos = world.store.log_counts(LogSearch(), T0_MS + 9_995, T0_MS + 10_005, 1)
        assert sum(nanos) > 0


def _serve() -> Iterator[tuple[FakeElasticsearch, str]]:
    fake = FakeElasticsearch()
    server = ServerThread()
    url = server.start(fake.app)
    yield fake, url
    server.stop()


@pytest.fixture(scope="module")
def fake_world() -> Iterator[tuple[World, FakeElasticsearch]]:
    docs = documents()
    serving = _serve()
    fake, url = next(serving)
    fake.map_date_nanos("logs-app-nanos")
    with Elasticsearch(url) as client:
        bulk(client, docs)
    store = fill_duckdb(docs)
    reader = ElasticsearchLogReader(url, index="logs-app-*")
    yield World(reader, store, url, "logs-app-*"), fake
    reader.close()
    store.close()
    next(serving, None)


class TestAgainstTheFake(Comparisons):
    @pytest.fixture
    def world(self, fake_world: tuple[World, FakeElasticsearch]) -> World:
        return fake_world[0]


def test_a_long_read_pages_through_a_point_in_time_and_closes_it(fake_world):
    world, fake = fake_world
    searches = len(fake.searches)
    search = LogSearch(end_ns=TIE_MS * MS, limit=30)
    with world.another_reader(page_size=40) as reader:
        answer = reader.search_logs(search)

    assert view(answer) == view(world.store.search_logs(search))
    first, *in_pit = fake.searches[searches:]
    assert first.pit_id is None and first.index == "logs-app-*"  # one try without: the tie unsettles it
    assert len(in_pit) >= 4  # 160 tied documents in pages of 40
    assert all(s.pit_id is not None and s.newest_pit for s in in_pit)
    assert all(s.body["size"] == 40 for s in in_pit)
    assert fake.open_pits() == 0


def test_a_short_read_is_one_request_without_a_point_in_time(fake_world):
    world, fake = fake_world
    searches, opened = len(fake.searches), fake.pits.opened

    answer = world.reader.search_logs(LogSearch(service="checkout", limit=5))

    assert len(answer) == 5
    assert len(fake.searches) == searches + 1 and fake.pits.opened == opened
    assert fake.searches[-1].body["size"] == 8  # half again the limit, to read past a short tie


# --- where it differs from the store, as documented ------------------------------------------------


class Pair:
    """A fresh fake and store holding the same documents; ``both`` asks each the same search."""

    def __init__(self, fake: FakeElasticsearch, url: str) -> None:
        self.fake, self.url = fake, url
        self.store = DuckDBStore(":memory:")
        self.reader = ElasticsearchLogReader(url, index="logs-*")

    def load(self, *docs: tuple[str, str, dict[str, Any]]) -> None:
        with Elasticsearch(self.url) as client:
            bulk(client, list(docs))
        self.store.write_logs([hit_record({"_index": x, "_id": i, "_source": s}) for x, i, s in docs])

    def both(self, search: LogSearch) -> tuple[list[LogRecord], list[LogRecord]]:
        return self.reader.search_logs(search), self.store.search_logs(search)


@pytest.fixture
def pair(es_fake) -> Iterator[Pair]:
    made = Pair(*es_fake)
    yield made
    made.reader.close()
    made.store.close()


def _doc(doc_id: str, message: str, **fields: Any) -> tuple[str, str, dict[str, Any]]:
    return "logs-x", doc_id, {"@timestamp": "2026-05-01T10:00:00.000Z", "message": message, **fields}


def _messages(records: list[LogRecord]) -> list[str]:
    return sorted(r.message for r in records)


def test_text_is_a_phrase_of_words_not_a_substring(pair):
    pair.load(_doc("1", "Timeout calling catalog"), _doc("2", "GET /api/orders"), _doc("3", "a -> b"))

    ours, theirs = pair.both(LogSearch(text="time"))  # part of a word
    assert (_messages(ours), _messages(theirs)) == ([], ["Timeout calling catalog"])
    ours, theirs = pair.both(LogSearch(text="api orders"))  # punctuation between the words
    assert (_messages(ours), _messages(theirs)) == (["GET /api/orders"], [])
    ours, theirs = pair.both(LogSearch(text="->"))  # no word at all
    assert (_messages(ours), _messages(theirs)) == ([], ["a -> b"])
    ours, theirs = pair.both(LogSearch(text="CALLING catalog"))
    assert _messages(ours) == _messages(theirs) == ["Timeout calling catalog"]


def test_a_dotted_label_key_matches_here_and_not_in_the_store(pair):
    pair.load(_doc("1", "dotted", **{"labels.team": "core"}), _doc("2", "nested", labels={"team": "core"}))

    ours, theirs = pair.both(LogSearch(labels=(("team", "core"),)))

    assert (_messages(ours), _messages(theirs)) == (["dotted", "nested"], ["nested"])


def test_a_date_field_keeps_milliseconds_while_the_source_keeps_its_text(pair):
    pair.load(("logs-x", "1", {"@timestamp": "2026-05-01T10:00:00.123456Z", "message": "m"}))

    (ours,), (theirs,) = pair.both(LogSearch())

    assert (ours.timestamp_ns, theirs.timestamp_ns) == (1_777_629_600_123_000_000, 1_777_629_600_123_456_000)
    assert ours.document == theirs.document == {"@timestamp": "2026-05-01T10:00:00.123456Z", "message": "m"}


def test_seq_is_a_hash_of_index_and_id_and_orders_ties(pair):
    pair.load(*(_doc(str(n), f"m{n}") for n in range(20)))

    ours, _ = pair.both(LogSearch())

    assert [r.seq for r in ours] == sorted((document_seq("logs-x", str(n)) for n in range(20)), reverse=True)
    assert all(0 <= r.seq < 2**63 for r in ours)
    assert document_seq("logs-x", "1") != document_seq("logs-y", "1")


def test_a_document_the_intake_would_refuse_is_read_with_its_fields(pair):
    source = {"@timestamp": "2026-05-01T10:00:00", "log": {"level": "WARN"}, "message": "no zone"}
    pair.fake.add_document("logs-x", source, "1")
    with pytest.raises(DocumentError, match="time zone"):
        log_record(json.dumps(source), "logs-x")

    (record,) = pair.reader.search_logs(LogSearch())

    assert (record.timestamp_ns, record.level, record.message) == (
        1_777_629_600_000_000_000,
        "warn",
        "no zone",
    )
    assert record.document == source


def test_a_hit_without_its_source_cannot_be_converted():
    with pytest.raises(DocumentError, match="no _source"):
        es_hit_record({"_index": "logs-x", "_id": "1", "sort": ["2026-05-01T10:00:00.000Z"]}, 0)


# --- errors and settings ------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_cluster_fails_naming_the_pattern_and_the_reason_but_no_credential():
    port = _closed_port()
    url = f"http://watcher:s3cret-pw@127.0.0.1:{port}"
    with ElasticsearchLogReader(url, index="logs-*", api_key="c2VjcmV0LWtleQ==", timeout_s=2) as reader:
        calls = [
            lambda: reader.search_logs(LogSearch()),
            lambda: reader.log_counts(LogSearch(), T0_MS, T0_MS + 60_000, 10_000),
            lambda: reader.log_counts_by_level(LogSearch(), T0_MS, T0_MS + 60_000, 10_000),
        ]
        for call in calls:
            with pytest.raises(LogBackendError) as raised:
                call()
            message = str(raised.value)
            assert (
                "'logs-*'" in message and f"ConnectionError talking to http://***@127.0.0.1:{port}" in message
            )
            assert "Connection refused" in message
            assert not any(secret in message for secret in ("s3cret-pw", "watcher", "c2VjcmV0LWtleQ=="))
            assert raised.value.index == "logs-*" and not raised.value.client_error
            assert isinstance(raised.value, BackendError)


def test_an_error_answer_fails_naming_the_pattern_the_status_and_the_cause(es_fake):
    fake, url = es_fake
    fake.add_document("logs-a", {"@timestamp": "2026-05-01T10:00:00Z", "message": "m"})
    with ElasticsearchLogReader(url, index="logs-*") as reader:
        fake.fail_next_searches(1, status=500)
        with pytest.raises(LogBackendError) as failed:
            reader.search_logs(LogSearch())
        fake.unavailable = True
        with pytest.raises(LogBackendError) as unavailable:
            reader.log_counts(LogSearch(), T0_MS, T0_MS + 60_000, 10_000)

    assert str(failed.value) == (
        f"searching 'logs-*' on {url} failed: HTTP 500 search_phase_execution_exception / "
        "illegal_state_exception: injected failure"
    )
    assert str(unavailable.value) == (
        f"counting 'logs-*' on {url} failed: HTTP 503 cluster_block_exception: "
        "blocked by: [SERVICE_UNAVAILABLE]"
    )


def test_a_failure_inside_a_point_in_time_still_closes_it(es_fake):
    fake, url = es_fake
    for n in range(30):
        fake.add_document("logs-a", {"@timestamp": "2026-05-01T10:00:00Z", "message": f"m{n}"})
    fake.fail_next_searches(1, status=500, after=2)  # the first try and one page in the PIT pass

    with ElasticsearchLogReader(url, index="logs-*", page_size=10) as reader:
        with pytest.raises(LogBackendError, match="injected failure"):
            reader.search_logs(LogSearch(limit=5))
        assert fake.pits.opened == 1 and fake.open_pits() == 0
        assert len(reader.search_logs(LogSearch(limit=5))) == 5  # and works again after


@pytest.mark.parametrize("index", ["nothing-*", "missing-index", "missing-index,nothing-*"])
def test_an_index_or_pattern_that_does_not_exist_reads_as_empty(es_fake, index):
    fake, url = es_fake
    fake.add_document("logs-a", {"@timestamp": _iso_ms(T0_MS + 1), "message": "m"})
    with ElasticsearchLogReader(url, index=index) as reader:
        assert reader.search_logs(LogSearch()) == []
        assert reader.log_counts(LogSearch(), T0_MS, T0_MS + 30_000, 10_000) == [0, 0, 0]
        assert reader.log_counts_by_level(LogSearch(), T0_MS, T0_MS + 30_000, 10_000) == {}
    with ElasticsearchLogReader(url, index=f"{index},logs-a") as reader:
        assert [r.message for r in reader.search_logs(LogSearch())] == ["m"]


def test_more_levels_in_a_step_than_asked_for_fail_rather_than_count_short(es_fake):
    _, url = es_fake
    with Elasticsearch(url) as client:
        bulk(
            client,
            [
                ("logs-a", str(n), {"@timestamp": _iso_ms(T0_MS + 1), "log.level": f"l{n}"})
                for n in range(501)
            ],
        )
    with ElasticsearchLogReader(url) as reader:
        assert reader.log_counts(LogSearch(), T0_MS, T0_MS + 1000, 1000) == [501]
        with pytest.raises(LogBackendError, match=r"more than 500 distinct log\.level values"):
            reader.log_counts_by_level(LogSearch(), T0_MS, T0_MS + 1000, 1000)


def test_the_credentials_are_sent_but_never_shown(es_fake):
    fake, url = es_fake
    with ElasticsearchLogReader(url, api_key="c2VjcmV0LWtleQ==") as reader:
        reader.search_logs(LogSearch())
        assert fake.searches[-1].authorization == "ApiKey c2VjcmV0LWtleQ=="
        assert repr(reader) == f"ElasticsearchLogReader({url!r}, index='logs-*')"
        assert "c2VjcmV0LWtleQ==" not in repr(reader) + str(vars(reader).keys())
    with_password = url.replace("http://", "http://watcher:s3cret-pw@")
    with ElasticsearchLogReader(with_password, index="logs-a") as reader:
        reader.search_logs(LogSearch())
        assert (fake.searches[-1].authorization or "").startswith("Basic ")
        shown = url.replace("http://", "http://***@")
        assert repr(reader) == f"ElasticsearchLogReader({shown!r}, index='logs-a')"


def test_bad_arguments_are_refused_before_anything_is_asked(es_fake):
    fake, url = es_fake
    refused: list[dict[str, Any]] = [{"page_size": 0}, {"page_size": 10_001}, {"steps_per_request": 0}]
    for options in refused:
        with pytest.raises(ValueError):
            ElasticsearchLogReader(url, **options)
    with ElasticsearchLogReader(url) as reader:
        with pytest.raises(ValueError, match="limit"):
            reader.search_logs(LogSearch(limit=-1))
        with pytest.raises(ValueError, match="step_ms"):
            reader.log_counts(LogSearch(), T0_MS, T0_MS + 1000, 0)
        assert reader.log_counts(LogSearch(), T0_MS + 1000, T0_MS, 1000) == []
        assert reader.log_counts_by_level(LogSearch(), T0_MS + 1000, T0_MS, 1000) == {}
    assert fake.searches == []


# --- a real cluster ------------------------------------------------------------------------------------


def _ecs_mappings(timestamp_type: str) -> dict[str, Any]:
    """Fields as ECS maps them: keywords, ``message`` as match_only_text, labels keywords."""
    return {
        # By value type: a template without one would also map "labels.team" of a dotted
        # label key ("team.name") as a keyword, and that is an object.
        "dynamic_templates": [
            {
                "labels": {
                    "path_match": "labels.*",
                    "match_mapping_type": "string",
                    "mapping": {"type": "keyword"},
                }
            },
            {
                "numbers": {
                    "path_match": "labels.*",
                    "match_mapping_type": "long",
                    "mapping": {"type": "keyword"},
                }
            },
            {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}},
        ],
        "properties": {
            "@timestamp": {"type": timestamp_type},
            "message": {"type": "match_only_text"},
            "log": {"properties": {"level": {"type": "keyword"}}},
            "service": {"properties": {"name": {"type": "keyword"}}},
            "trace": {"properties": {"id": {"type": "keyword"}}},
        },
    }


@pytest.mark.skipif(REAL_ES_URL is None, reason="set WATCHFLOOR_TEST_ES_URL to test against a real cluster")
class TestAgainstARealCluster(Comparisons):
    """The same comparisons against a real cluster: what the fake claims, Elasticsearch does."""

    @pytest.fixture(scope="class")
    def world(self) -> Iterator[World]:
        url = REAL_ES_URL or ""
        client = Elasticsearch(url, api_key=REAL_ES_API_KEY)
        prefix = f"watchfloor-logs-test-{uuid.uuid4().hex[:8]}"
        names = {"logs-app-a": "date", "logs-app-b": "date", "logs-app-nanos": "date_nanos"}
        renamed = {name: f"{prefix}-{name.removeprefix('logs-app-')}" for name in names}
        try:
            for name, kind in names.items():
                client.indices.create(index=renamed[name], mappings=_ecs_mappings(kind))
            docs = [(renamed[index], doc_id, source) for index, doc_id, source in documents()]
            bulk(client, docs)
            store = fill_duckdb(docs)
            reader = ElasticsearchLogReader(url, index=f"{prefix}-*", api_key=REAL_ES_API_KEY)
            yield World(reader, store, url, f"{prefix}-*", REAL_ES_API_KEY)
            reader.close()
            store.close()
        finally:
            for name in renamed.values():  # by name: wildcard deletes are refused by default
                client.indices.delete(index=name, ignore_unavailable=True)
            client.close()
