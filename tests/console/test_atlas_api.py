"""The Atlas-compatible API on a real server: publish the spec's data sets, read them back through graph."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from tests.stacklang.support import DOCS_DATASET as DOCS
from tests.stacklang.support import TUTORIAL_DATASET as TUTORIAL
from tests.support.server import RunningServer

STEP = 60_000
NAN = math.nan
WINDOW: list[tuple[dict[str, str], list[float]]] = [
    ({"name": "window"}, [0, 1, -1, NAN, 0, 1, 1, 1, 1, 0]),
]


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    running = RunningServer(tmp_path_factory.mktemp("atlas"), step_ms=STEP)
    base = int(time.time() * 1000) // STEP * STEP - 30 * STEP  # recent: inside retention
    for dataset, offset in ((DOCS, 0), (TUTORIAL, 10 * STEP), (WINDOW, 15 * STEP)):
        metrics = [
            {
                "tags": tags,
                "timestamp": base + offset + (i + 1) * STEP,
                "value": "NaN" if math.isnan(v) else v,
            }
            for tags, values in dataset
            for i, v in enumerate(values)
        ]
        answer = httpx.post(f"{running.url}/api/v1/publish", json={"metrics": metrics})
        assert answer.status_code == 200, answer.text
    yield running, base
    running.stop()


def _graph(atlas, q: str, intervals: int = 3, offset: int = 0, **params) -> dict:
    running, base = atlas
    start = base + offset
    query = {"q": q, "s": str(start), "e": str(start + intervals * STEP), "step": "1m", **params}
    answer = httpx.get(f"{running.url}/api/v1/graph", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _columns(body: dict) -> list[list[float]]:
    """Per series, its values (NaN for "NaN")."""
    return [[float(row[i]) for row in body["values"]] for i in range(len(body["legend"]))]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("name,ssCpuUser,:eq", [[10, 11, 8]]),
        ("name,ssCpuUser,:eq,:sum", [[10, 11, 8]]),
        ("name,ssCpuUser,:eq,:count", [[3, 3, 2]]),
        ("name,ssCpuUser,:eq,:max", [[8, 7, 6]]),
        ("name,ssCpuUser,:eq,:min", [[1, 2, 2]]),
        ("name,ssCpu,:re,(,name,),:by", [[9, 11, 13], [10, 11, 8]]),
    ],
    ids=["a query alone sums", "sum", "count", "max", "min", "group by name"],
)
def test_the_docs_vectors_through_publish_and_graph(atlas, q, expected):
    body = _graph(atlas, q)
    assert _columns(body) == expected
    assert body["step"] == STEP and len(body["values"]) == 3


def test_graph_json_names_the_series_and_its_tags(atlas):
    body = _graph(atlas, "name,ssCpu,:re,(,name,),:by")
    assert body["legend"] == ["(name=ssCpuSystem)", "(name=ssCpuUser)"]
    assert body["metrics"] == [{"name": "ssCpuSystem"}, {"name": "ssCpuUser"}]
    assert body["start"] == atlas[1] + STEP  # the first row is the end of the first step
    assert body["notices"] == []


def test_the_tutorial_vectors(atlas):
    body = _graph(atlas, "app,www,:eq,name,cpuUsage,:eq,:and,:sum", intervals=2, offset=10 * STEP)
    assert _columns(body) == [[53, 68]]
    grouped = _graph(atlas, "name,cpuUsage,:eq,:max,(,app,),:by", intervals=2, offset=10 * STEP)
    assert dict(zip(grouped["legend"], _columns(grouped), strict=True)) == {
        "(app=db)": [57, 62],
        "(app=www)": [33, 37],
    }


def test_the_window_vector(atlas):
    body = _graph(atlas, "name,window,:eq,3,:rolling-count", intervals=10, offset=15 * STEP)
    assert _columns(body) == [[0, 1, 2, 2, 1, 1, 2, 3, 3, 2]]


def test_stack_words_order_the_lines_of_a_graph(atlas):
    # a,b,:dup leaves [b, b, a] top first: the graph lists lines bottom first, so a, b, b.
    body = _graph(atlas, "name,numRequests,:eq,name,ssCpuSystem,:eq,:dup")
    assert _columns(body) == [[1, 2, 4], [9, 11, 13], [9, 11, 13]]
    swapped = _graph(atlas, "name,numRequests,:eq,name,ssCpuSystem,:eq,:swap")
    assert _columns(swapped) == [[9, 11, 13], [1, 2, 4]]


def test_nan_is_written_as_a_string_in_json(atlas):
    body = _graph(atlas, "name,ssCpuUser,:eq,nf.node,i-0123,:eq,:and")
    assert [row[0] for row in body["values"]] == [1.0, 2.0, "NaN"]


def test_csv_has_a_header_and_iso_timestamps(atlas):
    running, base = atlas
    answer = httpx.get(
        f"{running.url}/api/v1/graph",
        params={"q": "name,numRequests,:eq", "s": str(base), "e": str(base + 3 * STEP), "format": "csv"},
    )
    assert answer.headers["content-type"].startswith("text/csv")
    header, *rows = answer.text.strip().split("\n")
    assert header == '"timestamp","name=numRequests"'
    assert [row.split(",")[1] for row in rows] == ["1.000000", "2.000000", "4.000000"]
    assert rows[0].split(",")[0].endswith("Z")


def test_tags_and_tag_values(atlas):
    running, _ = atlas
    keys = httpx.get(f"{running.url}/api/v1/tags").json()
    assert {"name", "nf.app", "nf.node", "app", "node"} <= set(keys)
    apps = httpx.get(f"{running.url}/api/v1/tags/nf.app").json()
    assert apps == ["alerttest", "api", "nccp"]
    restricted = httpx.get(f"{running.url}/api/v1/tags/nf.app", params={"q": "name,ssCpuSystem,:eq"}).json()
    assert restricted == ["alerttest", "nccp"]


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"q": "name,a,:eq,:frobnicate"}, "q", "unknown word ':frobnicate'"),
        ({"q": "name,a,:eq,)"}, "q", "unmatched closing parenthesis"),
        ({"q": "(,name,a,:eq"}, "q", "unmatched opening parenthesis"),
        ({"q": "name,a,:eq", "s": "yesterday"}, "s", "unknown time reference"),
        ({"q": "name,a,:eq", "e": "2026-13-45"}, "e", "ISO 8601"),
        ({"q": "name,a,:eq", "step": "7s"}, "step", "multiple of the store's step"),
        ({"q": "name,a,:eq", "step": "fortnight"}, "step", "not a duration"),
        ({"q": "name,a,:eq", "tz": "Mars/Base"}, "tz", "unknown time zone"),
        ({"q": "name,a,:eq", "format": "png"}, "format", "not supported"),
        ({"q": "name,a,:eq", "s": "e-10000d", "step": "1m"}, "step", "over the limit"),
    ],
)
def test_bad_graph_requests_are_400_naming_the_parameter(atlas, params, field, reason):
    running, _ = atlas
    answer = httpx.get(f"{running.url}/api/v1/graph", params=params)
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["field"] == field and reason in error["reason"], error


def test_publish_answers_like_atlas_for_partial_and_total_failure(atlas):
    running, base = atlas
    good = {"tags": {"name": "fine"}, "timestamp": base + STEP, "value": 1}
    bad = {"tags": {"name": "x"}, "timestamp": base + STEP, "value": 1}
    partial = httpx.post(f"{running.url}/api/v1/publish", json={"metrics": [good, bad]})
    assert partial.status_code == 202
    assert partial.json()["type"] == "partial" and partial.json()["errorCount"] == 1
    failed = httpx.post(f"{running.url}/api/v1/publish", json={"metrics": [bad]})
    assert failed.status_code == 400 and failed.json()["type"] == "error"
    malformed = httpx.post(
        f"{running.url}/api/v1/publish", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["errors"][0]["field"] == "body"
