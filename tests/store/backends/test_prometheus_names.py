"""Prometheus series as the normaliser would have tagged them, and Atlas queries as engine queries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.backends.prometheus_names import AtlasSeries, engine_query, tag_key
from store.backends.prometheus_names import atlas_series as maybe_atlas_series
from store.tag_query import And, Eq, In, Not, Or, Regex, TagQuery

PROMETHEUS_TYPES = {
    "http_requests_total": "counter",  # prometheus_client declares counters with the suffix
    "http_server_duration_seconds": "histogram",
    "payload_bytes": "summary",
    "queue_count": "gauge",
}


@pytest.mark.parametrize(
    ("labels", "kind", "name", "statistic"),
    [
        ({"__name__": "http_requests_total", "code": "200"}, "rate", "http_requests", "count"),
        (
            {"__name__": "http_server_duration_seconds_bucket", "le": "0.1"},
            "rate",
            "http_server_duration_seconds",
            "percentile",
        ),
        ({"__name__": "http_server_duration_seconds_count"}, "rate", "http_server_duration_seconds", "count"),
        (
            {"__name__": "http_server_duration_seconds_sum"},
            "rate",
            "http_server_duration_seconds",
            "totalTime",
        ),
        ({"__name__": "payload_bytes_sum"}, "rate", "payload_bytes", "totalAmount"),
        ({"__name__": "payload_bytes", "quantile": "0.99"}, "gauge", "payload_bytes", "percentile"),
        ({"__name__": "queue_count"}, "gauge", "queue_count", "gauge"),
        ({"__name__": "up"}, "gauge", "up", "gauge"),
    ],
)
def test_declared_types_name_series_as_the_normaliser_does(labels, kind, name, statistic):
    found = atlas_series(labels, PROMETHEUS_TYPES)
    assert found is not None
    assert (found.kind, found.tags["name"], found.tags["statistic"]) == (kind, name, statistic)
    assert {k: v for k, v in found.tags.items() if k not in ("name", "statistic")} == {
        k: v for k, v in labels.items() if k != "__name__"
    }


def test_without_metadata_suffixes_decide_and_a_counter_named_gauge_is_read_as_a_rate():
    no_types: dict[str, str] = {}
    assert atlas_series({"__name__": "queue_count"}, no_types).kind == "rate"  # documented limit
    assert atlas_series({"__name__": "x_bucket", "le": "1"}, no_types).tags["statistic"] == "percentile"
    assert atlas_series({"__name__": "x_bucket"}, no_types).kind == "gauge"  # no le: not a histogram
    assert atlas_series({"__name__": "s", "quantile": "0.5"}, no_types).tags["statistic"] == "percentile"
    assert maybe_atlas_series({"__name__": "x_created"}, no_types) is None


def test_created_samples_of_a_declared_family_are_not_series():
    assert (
        maybe_atlas_series({"__name__": "http_requests_created"}, {"http_requests_total": "counter"}) is None
    )
    assert atlas_series({"__name__": "build_created"}, {"build_created": "gauge"}).kind == "gauge"


def test_nf_labels_become_atlas_common_tags():
    found = atlas_series({"__name__": "up", "nf_app": "drm", "nf_cluster": "drm-v1", "job": "fleet"}, {})
    assert found.tags == {
        "nf.app": "drm",
        "nf.cluster": "drm-v1",
        "job": "fleet",
        "name": "up",
        "statistic": "gauge",
    }
    assert tag_key("nf_") == "nf_"


def atlas_series(labels: dict[str, str], types: dict[str, str]) -> AtlasSeries:
    found = maybe_atlas_series(labels, types)
    assert found is not None
    return found


NAMES = [
    "http_requests_total",
    "http_requests_count",
    "http_requests",
    "payload_bytes_sum",
    "up",
    "queue_count",
]
LABELS = st.fixed_dictionaries(
    {"__name__": st.sampled_from(NAMES)},
    optional={"nf_app": st.sampled_from(["drm", "cdn"]), "le": st.sampled_from(["0.1", "+Inf"])},
)
ATOMS = st.one_of(
    st.builds(Eq, st.just("name"), st.sampled_from(["http_requests", "payload_bytes", "up", "queue_count"])),
    st.builds(Eq, st.just("statistic"), st.sampled_from(["count", "gauge", "totalAmount", "percentile"])),
    st.builds(Eq, st.just("nf.app"), st.sampled_from(["drm", "cdn"])),
    st.builds(In, st.just("name"), st.tuples(st.sampled_from(["http_requests", "up"]))),
    st.builds(Regex, st.just("name"), st.sampled_from(["http", "up$", "pay.*bytes$", "queue"])),
)
QUERIES: st.SearchStrategy[TagQuery] = st.recursive(
    ATOMS,
    lambda inner: st.one_of(st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)),
    max_leaves=6,
)


@given(labels=LABELS, query=QUERIES)
def test_the_engine_query_selects_every_series_the_atlas_query_matches(labels, query):
    atlas = maybe_atlas_series(labels, {})
    if atlas is None or not query.matches(atlas.tags):
        return
    # The engine sees Prometheus names and labels, with nf_* as Atlas keys (selectors rename them back).
    engine_tags = {tag_key(k) if k != "__name__" else "name": v for k, v in labels.items()}
    assert engine_query(query).matches(engine_tags), (labels, query, engine_query(query))
