"""The Elasticsearch fake's search and point-in-time answers, checked with the official client.

The puller's tests are only as good as the fake: these pin the wire behaviour it claims
(Elasticsearch 8): PIT snapshots, sort values and the implicit ``_shard_doc`` tiebreaker,
``search_after``, queries, and the error answers, each with the product header.
"""

from __future__ import annotations

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
