"""Atlas tag queries as PromQL selectors: exact forms, and no series lost (checked on random label sets)."""

from __future__ import annotations

import json
import random
import re

import pytest

from stacklang import parse_query
from store.backends.promql_selectors import label_name, selectors


@pytest.mark.parametrize(
    ("atlas", "promql"),
    [
        ("name,http_server_requests_total,:eq", ['{__name__="http_server_requests_total"}']),
        ("nf.app,drm,:eq,status,5xx,:eq,:and", ['{nf_app="drm", status="5xx"}']),
        ("nf.cluster,(,drm-v1,drm-v2-canary,),:in", ['{nf_cluster=~"drm-v1|drm-v2-canary"}']),
        ("route,/lic,:re", ['{route=~"(?:/lic).*"}']),
        ("route,/LIC,:reic", ['{route=~"(?i)(?:/LIC).*"}']),
        ("nf.app,:has", ['{nf_app!=""}']),
        ("nf.app,drm,:eq,:not", ['{nf_app!="drm", __name__=~".+"}']),
        ("nf.app,:has,:not", ['{nf_app="", __name__=~".+"}']),
        ("nf.app,drm,:eq,nf.app,cdn,:eq,:or", ['{nf_app="drm"}', '{nf_app="cdn"}']),
        ("status,500,:lt", ['{status!=""}']),
        ("nf.app,drm,:eq,status,500,:eq,:and,:not", ['{__name__=~".+"}']),
    ],
)
def test_queries_become_these_selectors(atlas, promql):
    assert selectors(parse_query(atlas)) == promql


def test_a_query_nothing_can_match_asks_for_nothing():
    assert selectors(parse_query("nf.app,(,),:in")) == []


def test_tag_keys_become_label_names_as_the_exported_rules_name_them():
    assert [label_name(k) for k in ("name", "nf.app", "status_class", "a-b:c", "1x")] == [
        "__name__", "nf_app", "status_class", "a_b_c", "_1x",
    ]  # fmt: skip


def _selected(selector: str, labels: dict[str, str]) -> bool:
    """Prometheus's own rule for one selector: every matcher holds (a missing label is "")."""
    for label, op, quoted in re.findall(r'(\w+)(=~|!~|!=|=)("(?:[^"\\]|\\.)*")', selector):
        value, have = json.loads(quoted), labels.get(label, "")
        held = {
            "=": have == value,
            "!=": have != value,
            "=~": re.fullmatch(value, have) is not None,
            "!~": re.fullmatch(value, have) is None,
        }[op]
        if not held:
            return False
    return True


QUERIES = [
    "nf.app,drm,:eq",
    "nf.app,drm,:eq,nf.cluster,drm-v1,:eq,:and",
    "nf.app,drm,:eq,nf.app,cdn,:eq,:or,status,5xx,:eq,:and",
    "nf.cluster,(,drm-v1,cdn-v1,),:in,:not",
    "nf.cluster,drm,:re",
    "nf.cluster,V1,:reic",
    "status,4,:starts",
    "status,xx,:ends",
    "nf.cluster,-v,:contains",
    "status,5,:ge",
    "nf.app,:has,:not,status,5xx,:eq,:or",
    "nf.app,drm,:eq,status,5xx,:eq,:and,:not",
    "nf.app,drm,:eq,:not,:not",
]


@pytest.mark.parametrize("atlas", QUERIES)
def test_every_series_a_query_matches_is_selected(atlas):
    rng = random.Random(atlas)
    query = parse_query(atlas)
    found = selectors(query)
    for _ in range(400):
        tags = {"name": "http_server_requests"}
        for key, values in (("nf.app", ["drm", "cdn"]), ("nf.cluster", ["drm-v1", "cdn-v1", "x"]),
                            ("status", ["2xx", "4xx", "5xx", "500"])):  # fmt: skip
            if rng.random() < 0.8:
                tags[key] = rng.choice(values)
        labels = {label_name(k): v for k, v in tags.items()}
        if query.matches(tags):
            assert any(_selected(s, labels) for s in found), (tags, found)
