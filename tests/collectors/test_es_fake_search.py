"""The Elasticsearch fake's search and point-in-time answers, checked with the official client.

The puller's and the logs backend's tests are only as good as the fake: these pin the wire
behaviour it claims (Elasticsearch 8): PIT snapshots, sort values and the implicit
``_shard_doc`` tiebreaker, ``search_after``, queries (case-insensitive terms and phrases
included), aggregations (``date_histogram`` offsets and bounds, ``terms``, ``filter``),
``ignore_unavailable``/``allow_no_indices``, and the error answers, each with the product header.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError

NANOS_SORT = [{"@timestamp": {"order": "asc", "format": "strict_date_optional_time_nanos"}}]


@pytest.fixture
def client(es_fake) -> Iterator[Elasticsearch]:
    _, url = es_fake
    # No retries: a fault a test switches on must reach it unchanged.
    es = Elasticsearch(url, max_retries=0)
    yield es
    es.close()


def _fill(fake) -> None:
    fake.add_document("logs-a", {"@timestamp": "2026-05-01T10:00:00.123456Z", "message": "a1"}, "a1")
    fake.add_document("logs-b", {"@timestamp": "2026-05-01T10:00:00.123999Z", "message": "b1"}, "b1")
    fake.add_document("logs-a", {"@timestamp": 1777629601000, "message": "a2", "tag": "x"}, "a2")
    fake.add_document("logs-a", {"message": "no time"}, "a3")


def _ids(answer: Any) -> list[str]:
    return [hit["_id"] for hit in answer["hits"]["hits"]]


def _pit(pit_id: str) -> dict[str, str]:
    return {"id": pit_id, "keep_alive": "1m"}


def test_a_pit_search_answers_like_elasticsearch(es_fake, client):
    fake, _ = es_fake
    _fill(fake)
    opened = client.open_point_in_time(index="logs-*", keep_alive="1m")
    assert opened["_shards"] == {"total": 2, "successful": 2, "skipped": 0, "failed": 0}

    answer = client.search(pit=_pit(opened["id"]), size=2, sort=[{"@timestamp": "asc"}])

    assert list(answer.body) == ["pit_id", "took", "timed_out", "_shards", "hits"]
    assert answer["pit_id"] != opened["id"]  # a fresh id each time: clients must use the newest
    assert answer["hits"]["total"] == {"value": 4, "relation": "eq"}
    assert answer["hits"]["max_score"] is None
    first, second = answer["hits"]["hits"]
    # Same millisecond: a date field ties them; the implicit _shard_doc orders them.
    assert first == {
        "_index": "logs-a",
        "_id": "a1",
        "_score": None,
        "_source": {"@timestamp": "2026-05-01T10:00:00.123456Z", "message": "a1"},
        "sort": [1777629600123, first["sort"][1]],
    }
    assert second["sort"][0] == 1777629600123 and second["sort"][1] > first["sort"][1]
    rest = client.search(
        pit=_pit(answer["pit_id"]), size=5, sort=[{"@timestamp": "asc"}], search_after=second["sort"]
    )
    assert _ids(rest) == ["a2", "a3"]
    assert rest["hits"]["hits"][1]["sort"][0] == 2**63 - 1  # a missing value sorts last
    assert client.close_point_in_time(id=rest["pit_id"]).body == {"succeeded": True, "num_freed": 1}
    assert fake.open_pits() == 0


def test_a_pit_is_a_snapshot(es_fake, client):
    fake, _ = es_fake
    _fill(fake)
    pit_id = client.open_point_in_time(index="logs-a", keep_alive="1m")["id"]
    fake.add_document("logs-a", {"@timestamp": "2026-05-01T10:00:05Z"}, "later")

    assert "later" not in _ids(client.search(pit=_pit(pit_id), size=10))
    assert "later" in _ids(client.search(index="logs-a", size=10))


def test_sort_values_follow_the_format_and_the_mapping(es_fake, client):
    fake, _ = es_fake
    fake.map_date_nanos("logs-n")
    fake.add_document("logs-n", {"@timestamp": "2026-05-01T10:00:00.123456789Z"}, "n1")
    pit_id = client.open_point_in_time(index="logs-n", keep_alive="1m")["id"]

    raw = client.search(pit=_pit(pit_id), sort=["@timestamp"])["hits"]["hits"][0]["sort"]
    text = client.search(pit=_pit(pit_id), sort=NANOS_SORT)["hits"]["hits"][0]["sort"]

    assert raw[0] == 1777629600123456789  # date_nanos sorts as epoch nanoseconds
    assert text[0] == "2026-05-01T10:00:00.123456789Z"


def test_range_term_and_bool_queries(es_fake, client):
    fake, _ = es_fake
    _fill(fake)

    def ids(query: dict[str, Any]) -> list[str]:
        return sorted(_ids(client.search(index="logs-*", query=query, size=10)))

    since = {"gte": "2026-05-01T10:00:00.123999999Z", "format": "strict_date_optional_time_nanos"}
    assert ids({"range": {"@timestamp": since}}) == ["a1", "a2", "b1"]  # resolved to the millisecond
    assert ids({"range": {"@timestamp": {"gt": 1777629600123}}}) == ["a2"]
    assert ids({"range": {"@timestamp": {"lt": "2026-05-01T10:00:01Z"}}}) == ["a1", "b1"]
    assert ids({"term": {"tag": "x"}}) == ["a2"]
    assert ids({"term": {"_index": {"value": "logs-b"}}}) == ["b1"]
    assert ids(
        {"bool": {"filter": [{"exists": {"field": "@timestamp"}}], "must_not": {"ids": {"values": ["a1"]}}}}
    ) == [
        "a2",
        "b1",
    ]
    assert ids({"bool": {"must": [{"match_all": {}}, {"term": {"message": "a1"}}]}}) == ["a1"]


def test_pit_errors_answer_like_elasticsearch(es_fake, client):
    fake, _ = es_fake
    _fill(fake)
    pit_id = client.open_point_in_time(index="logs-a", keep_alive="1m")["id"]

    with pytest.raises(BadRequestError) as with_index:
        client.search(index="logs-a", pit=_pit(pit_id))
    assert "cannot be used with point in time" in with_index.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as short_after:
        client.search(pit=_pit(pit_id), sort=["@timestamp"], search_after=[1777629600123])
    assert (
        short_after.value.body["error"]["root_cause"][0]["reason"]
        == "search_after has 1 value(s) but sort has 2."
    )
    fake.expire_pits()
    with pytest.raises(NotFoundError) as expired:
        client.search(pit=_pit(pit_id))
    assert expired.value.body["error"]["root_cause"][0]["type"] == "search_context_missing_exception"
    with pytest.raises(NotFoundError) as unknown_close:
        client.close_point_in_time(id=pit_id)
    assert unknown_close.value.body == {"succeeded": True, "num_freed": 0}
    with pytest.raises(NotFoundError) as missing:
        client.open_point_in_time(index="logs-a,nope", keep_alive="1m")
    assert missing.value.body["error"]["type"] == "index_not_found_exception"
    assert missing.value.body["error"]["index"] == "nope"
    # A pattern that matches nothing is not an error.
    assert client.open_point_in_time(index="nope-*", keep_alive="1m")["_shards"]["total"] == 0


def test_faults_and_the_product_header(es_fake, client):
    fake, url = es_fake
    _fill(fake)
    fake.fail_next_searches(1, status=503, after=1)

    assert _ids(client.search(index="logs-b")) == ["b1"]
    with pytest.raises(ApiError) as failed:
        client.search(index="logs-b")
    assert failed.value.meta.status == 503
    assert _ids(client.search(index="logs-b")) == ["b1"]
    for answer in (
        httpx.post(f"{url}/logs-a/_pit?keep_alive=1m"),
        httpx.post(f"{url}/missing/_pit?keep_alive=1m"),
        httpx.get(f"{url}/no/such/endpoint"),
        httpx.get(f"{url}/_pit"),
    ):
        assert answer.headers["x-elastic-product"] == "Elasticsearch", answer.url
    assert httpx.get(f"{url}/_pit").json()["status"] == 405
    with pytest.raises(BadRequestError) as by_id:
        client.search(index="logs-a", sort=["_id"])
    assert (
        "Fielddata access on the _id field is disallowed"
        in by_id.value.body["error"]["root_cause"][0]["reason"]
    )


# --- what the logs backend needs: aggregations, case-insensitive terms, phrases, index options -------

T = 1777629600000  # 2026-05-01T10:00:00Z in epoch ms, a multiple of 10 s


def _at(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _buckets(answer: Any, name: str = "h") -> list[tuple[int, int]]:
    return [(b["key"] - T, b["doc_count"]) for b in answer["aggregations"][name]["buckets"]]


def _histogram(client: Elasticsearch, **options: Any) -> Any:
    spec = {"field": "@timestamp", "fixed_interval": "10s", **options}
    return client.search(index="logs-*", size=0, aggs={"h": {"date_histogram": spec}})


def _fill_steps(fake) -> None:
    for n, offset in enumerate([0, 1, 9_999, 10_000, 35_000]):
        fake.add_document("logs-a", {"@timestamp": _at(T + offset), "log.level": "info"}, f"s{n}")


def test_a_date_histogram_rounds_down_by_interval_and_offset(es_fake, client):
    fake, _ = es_fake
    _fill_steps(fake)

    plain = _histogram(client)
    shifted = _histogram(client, offset="+1ms")

    assert plain["hits"]["hits"] == [] and plain["hits"]["total"] == {"value": 5, "relation": "eq"}
    # [key, key + 10 s) with the empty buckets between the first and last filled.
    assert _buckets(plain) == [(0, 3), (10_000, 1), (20_000, 0), (30_000, 1)]
    first = plain["aggregations"]["h"]["buckets"][0]
    assert first == {"key_as_string": "2026-05-01T10:00:00.000Z", "key": T, "doc_count": 3}
    # A 1 ms offset makes the buckets (key - 1, key - 1 + 10 s] over whole milliseconds.
    assert _buckets(shifted) == [(-9_999, 1), (1, 3), (10_001, 0), (20_001, 0), (30_001, 1)]
    assert _buckets(_histogram(client, offset=1, min_doc_count=1)) == [(-9_999, 1), (1, 3), (30_001, 1)]


def test_histogram_bounds_are_rounded_without_the_offset(es_fake, client):
    fake, _ = es_fake
    _fill_steps(fake)
    fake.add_document("logs-a", {"@timestamp": _at(T + 30_000)}, "on-the-bound")

    extended = _histogram(client, offset="+1ms", extended_bounds={"min": T - 20_000, "max": T + 50_000})
    hard = _histogram(client, offset="+1ms", hard_bounds={"min": T, "max": _at(T + 30_000)})
    nothing = client.search(
        index="logs-*",
        size=0,
        query={"match_none": {}},
        aggs={
            "h": {
                "date_histogram": {
                    "field": "@timestamp",
                    "fixed_interval": "10s",
                    "extended_bounds": {"min": T, "max": T + 20_000},
                }
            }
        },
    )

    assert _buckets(extended) == [
        (-19_999, 0), (-9_999, 1), (1, 3), (10_001, 0), (20_001, 1), (30_001, 1), (40_001, 0), (50_001, 0)
    ]  # fmt: skip
    assert _buckets(hard) == [(1, 3), (10_001, 0), (20_001, 1)]  # keys >= min and < max
    assert _buckets(nothing) == [(0, 0), (10_000, 0), (20_000, 0)]
    with pytest.raises(BadRequestError) as outside:
        _histogram(
            client, hard_bounds={"min": T, "max": T + 10_000}, extended_bounds={"min": T, "max": T + 60_000}
        )
    assert (
        "Extended bounds have to be inside hard bounds"
        in outside.value.body["error"]["root_cause"][0]["reason"]
    )


def test_a_date_nanos_histogram_sees_milliseconds(es_fake, client):
    fake, _ = es_fake
    fake.map_date_nanos("logs-n")
    fake.add_document("logs-n", {"@timestamp": "2026-05-01T10:00:00.000000001Z"}, "n1")
    fake.add_document("logs-n", {"@timestamp": "2026-05-01T10:00:00.000999999Z"}, "n2")

    answer = _histogram(client, offset="+1ms")
    after = {"gt": "2026-05-01T10:00:00.000000000Z", "format": "strict_date_optional_time_nanos"}
    exact = client.search(index="logs-n", query={"range": {"@timestamp": after}})

    assert _buckets(answer) == [(-9_999, 2)]  # truncated to 10:00:00.000, so in (T - 10 s, T]
    assert len(exact["hits"]["hits"]) == 2  # while a query sees the nanoseconds


def test_terms_and_filter_aggregations_nest(es_fake, client):
    fake, _ = es_fake
    levels = ["info", "info", "warn", "error", "info", None, "warn"]
    for n, level in enumerate(levels):
        source: dict[str, Any] = {"@timestamp": _at(T + n * 5_000), "message": f"m{n}"}
        if level:
            source["log"] = {"level": level}
        fake.add_document("logs-a", source, f"t{n}")
    terms = {"terms": {"field": "log.level", "size": 2, "missing": ""}}

    answer = client.search(
        index="logs-*",
        size=1,
        aggs={
            "levels": terms,
            "steps": {
                "date_histogram": {"field": "@timestamp", "fixed_interval": "10s"},
                "aggs": {"levels": terms},
            },
            "late": {
                "filter": {"range": {"@timestamp": {"gte": _at(T + 20_000)}}},
                "aggs": {"levels": terms},
            },
        },
    )

    aggs = answer["aggregations"]
    assert len(answer["hits"]["hits"]) == 1  # aggregations count every match, whatever the size
    assert aggs["levels"] == {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": 2,  # error and the missing ""
        "buckets": [{"key": "info", "doc_count": 3}, {"key": "warn", "doc_count": 2}],
    }
    first_step = aggs["steps"]["buckets"][0]["levels"]["buckets"]
    assert first_step == [{"key": "info", "doc_count": 2}]
    assert aggs["late"]["doc_count"] == 3
    assert aggs["late"]["levels"]["buckets"] == [
        {"key": "", "doc_count": 1},
        {"key": "info", "doc_count": 1},
    ]
    with pytest.raises(BadRequestError) as unknown:
        client.search(index="logs-*", aggs={"x": {"nonsense": {}}})
    assert unknown.value.body["error"]["reason"] == "Unknown aggregation type [nonsense]"
    with pytest.raises(BadRequestError):
        client.search(
            index="logs-*", aggs={"x": {"date_histogram": {"field": "@timestamp", "calendar_interval": "1d"}}}
        )


def test_aggregations_run_in_a_point_in_time(es_fake, client):
    fake, _ = es_fake
    _fill_steps(fake)
    pit_id = client.open_point_in_time(index="logs-*", keep_alive="1m")["id"]
    fake.add_document("logs-a", {"@timestamp": _at(T)}, "later")

    answer = client.search(pit=_pit(pit_id), size=0, aggs={"n": {"filter": {"match_all": {}}}})

    assert answer["aggregations"] == {"n": {"doc_count": 5}}


def test_case_insensitive_terms_and_phrases(es_fake, client):
    fake, _ = es_fake
    messages = {
        "p1": "Connection: refused!",
        "p2": "connection was refused",
        "p3": "Timeout calling foo.bar after 3.5s",
        "p4": "cache miss for user:42",
    }
    for doc_id, message in messages.items():
        fake.add_document(
            "logs-a", {"message": message, "log.level": "ERROR" if doc_id == "p1" else "error"}, doc_id
        )

    def ids(query: dict[str, Any]) -> list[str]:
        return sorted(_ids(client.search(index="logs-*", query=query, size=10)))

    assert ids({"term": {"log.level": "error"}}) == ["p2", "p3", "p4"]
    assert ids({"term": {"log.level": {"value": "error", "case_insensitive": True}}}) == [
        "p1",
        "p2",
        "p3",
        "p4",
    ]
    assert ids({"match_phrase": {"message": "CONNECTION refused"}}) == ["p1"]  # punctuation ignored
    assert ids({"match_phrase": {"message": {"query": "time"}}}) == []  # whole words only
    assert ids({"match_phrase": {"message": "foo"}}) == []  # "foo.bar" is one token
    assert ids({"match_phrase": {"message": "foo.bar after 3.5s"}}) == ["p3"]
    assert ids({"match_phrase": {"message": "user 42"}}) == ["p4"]  # a colon splits a letter from a digit
    assert ids({"match_phrase": {"message": "->"}}) == []  # no token: zero_terms_query none


def test_missing_indices_follow_ignore_unavailable_and_allow_no_indices(es_fake, client):
    fake, _ = es_fake
    _fill(fake)

    with pytest.raises(NotFoundError):
        client.search(index="missing")
    assert _ids(client.search(index="missing", ignore_unavailable=True)) == []
    assert sorted(_ids(client.search(index="missing,logs-b", ignore_unavailable=True))) == ["b1"]
    assert _ids(client.search(index="nope-*")) == []
    with pytest.raises(NotFoundError) as refused:
        client.search(index="nope-*", allow_no_indices=False)
    assert refused.value.body["error"]["reason"] == "no such index [nope-*]"
    opened = client.open_point_in_time(index="logs-a,missing", keep_alive="1m", ignore_unavailable=True)
    assert opened["_shards"]["total"] == 1


def test_epoch_millis_are_read_exactly(es_fake, client):
    fake, _ = es_fake
    fake.add_document("logs-a", {"@timestamp": 1777630093241}, "e1")

    hit = client.search(index="logs-a", sort=NANOS_SORT)["hits"]["hits"][0]

    assert hit["sort"] == ["2026-05-01T10:08:13.241Z"]
