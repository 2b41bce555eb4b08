"""Query words build tag queries; the store selects series with them."""

from __future__ import annotations

import pytest

from stacklang import parse_query
from store.tag_query import Eq, MatchNone

SERIES = [
    {"name": "http.requests", "status": "200", "nf.app": "server"},
    {"name": "http.requests", "status": "400", "nf.app": "server"},
    {"name": "http.requests", "status": "404", "nf.app": "server"},
    {"name": "sys.cpu", "type": "user", "nf.app": "foo"},
]


def _matching(expression: str) -> list[int]:
    query = parse_query(expression)
    return [n for n, tags in enumerate(SERIES) if query.matches(tags)]


@pytest.mark.parametrize(
    ("expression", "matching"),
    [
        pytest.param(":true", [0, 1, 2, 3], id="true matches everything"),
        pytest.param(":false", [], id="false matches nothing"),
        pytest.param("status,:has", [0, 1, 2], id="has needs the key"),
        pytest.param("name,http.requests,:eq", [0, 1, 2], id="eq matches the exact value"),
        pytest.param("status,4,:re", [1, 2], id="re is anchored at the start"),
        pytest.param("status,0,:re", [], id="re does not search inside the value"),
        pytest.param("status,4(?!04),:re", [1], id="re takes Java-style lookaheads"),
        pytest.param("name,HTTP,:reic", [0, 1, 2], id="reic ignores case"),
        pytest.param("name,cpu,:contains", [3], id="contains looks anywhere in the value"),
        pytest.param("name,http,:starts", [0, 1, 2], id="starts is a prefix"),
        pytest.param("status,04,:ends", [2], id="ends is a suffix"),
        pytest.param("status,400,:lt", [0], id="lt compares strings"),
        pytest.param("status,400,:le", [0, 1], id="le includes the value"),
        pytest.param("status,399,:gt", [1, 2], id="gt compares strings"),
        pytest.param("status,400,:ge", [1, 2], id="ge includes the value"),
        pytest.param(
            "status,1000,:gt", [0, 1, 2], id="string comparison is lexical, so 200 is greater than 1000"
        ),
        pytest.param("nf.app,(,foo,bar,),:in", [3], id="in matches any listed value"),
        pytest.param("name,sys.cpu,:eq,nf.app,foo,:eq,:and", [3], id="and needs both"),
        pytest.param("status,200,:eq,type,user,:eq,:or", [0, 3], id="or needs either"),
        pytest.param("name,sys.cpu,:eq,:not", [0, 1, 2], id="not inverts"),
        pytest.param("status,:has,:true,:and", [0, 1, 2], id="true vanishes from an and"),
        pytest.param("status,:has,:false,:or", [0, 1, 2], id="false vanishes from an or"),
    ],
)
def test_query_words_select_series(expression, matching):
    assert _matching(expression) == matching


def test_in_with_one_value_is_eq_and_with_none_is_false():
    assert parse_query("k,(,v,),:in") == Eq("k", "v")
    assert parse_query("k,(,),:in") == MatchNone()


def test_a_query_with_a_literal_comma_is_written_escaped():
    assert parse_query("title,a\\u002cb,:eq") == Eq("title", "a,b")


def test_the_store_selects_series_with_the_new_string_comparisons(docs_store):
    assert docs_store.tag_values("nf.app", parse_query("nf.app,b,:lt")) == ["alerttest", "api"]
    assert docs_store.tag_values("name", parse_query("name,Cpu,:contains")) == ["ssCpuSystem", "ssCpuUser"]
    assert docs_store.tag_keys(parse_query("nf.node,0abc,:ends")) == ["name", "nf.app", "nf.node"]
    assert docs_store.tag_values("name", parse_query(":false")) == []
