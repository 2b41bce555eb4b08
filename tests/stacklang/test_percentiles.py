"""Percentiles from cumulative ``le`` bucket rates, as Prometheus's histogram_quantile estimates them."""

from __future__ import annotations

import numpy as np
import pytest

from stacklang.percentiles import percentile_tag, quantiles
from tests.stacklang.support import NAN, expect, open_store, run, values

LE = ("0.1", "0.5", "1", "+Inf")


def _buckets(node: str, per_bucket: list[float]) -> list[tuple[dict[str, str], list[float]]]:
    """Cumulative rates for one step (then a step with no data), one series per ``le``."""
    cumulative = np.cumsum(per_bucket)
    return [
        ({"name": "req", "statistic": "percentile", "nf.node": node, "le": le}, [float(c), NAN])
        for le, c in zip(LE, cumulative, strict=True)
    ]


@pytest.fixture
def histograms(tmp_path):
    dataset = [
        *_buckets("a", [10, 10, 0, 0]),
        *_buckets("b", [0, 10, 10, 0]),
        *_buckets("c", [0, 0, 0, 5]),
        ({"name": "req", "statistic": "count", "nf.node": "a"}, [20, NAN]),  # no le: not a bucket
    ]
    store = open_store(tmp_path / "h.duckdb", dataset)
    yield store
    store.close()


def test_percentiles_over_all_matching_buckets(histograms):
    found = run(histograms, "name,req,:eq,nf.node,c,:eq,:not,:and,(,50,90,99,100,),:percentiles", 2)
    assert [dict(s.tags) for s in found] == [
        {"name": "req", "percentile": p} for p in (" 50.0", " 90.0", " 99.0", "100.0")
    ]
    assert [values(s) for s in found] == [
        expect(v) for v in ([0.3, NAN], [0.8, NAN], [0.98, NAN], [1.0, NAN])
    ]
    assert found[0].label == "percentile((name=req) and (not(nf.node=c)),  50.0)"


def test_percentiles_grouped_by_a_key(histograms):
    found = run(histograms, "name,req,:eq,(,nf.node,),:by,(,90,50,),:percentiles", 2)
    assert [(s.tags["nf.node"], s.tags["percentile"], values(s)[0]) for s in found] == [
        ("a", " 50.0", 0.1),
        ("a", " 90.0", 0.42),
        ("b", " 50.0", 0.5),
        ("b", " 90.0", 0.9),
        ("c", " 50.0", 1.0),  # in the +Inf bucket: the highest finite bound
        ("c", " 90.0", 1.0),
    ]
    assert found[0].label == "percentile((nf.node=a),  50.0)"


def test_median_is_the_50th_percentile(histograms):
    [median] = run(histograms, "name,req,:eq,nf.node,a,:eq,:and,:median", 2)
    assert values(median) == expect([0.1, NAN])


def test_percentiles_of_nothing_are_no_series(histograms):
    assert run(histograms, "name,nothing,:eq,(,50,),:percentiles", 2) == []


@pytest.mark.parametrize(
    ("bounds", "cumulative", "expected"),
    [
        pytest.param([1, 2, float("inf")], [[0], [0], [0]], [NAN], id="no observations give NaN"),
        pytest.param([1, 2], [[5], [10]], [NAN], id="no +Inf bucket gives NaN"),
        pytest.param(
            [1, 2, float("inf")], [[4], [3], [10]], [2.0], id="non-monotonic buckets are made monotonic"
        ),
        pytest.param([1, 2, float("inf")], [[NAN], [4], [4]], [1.5], id="a missing bucket counts as empty"),
    ],
)
def test_quantile_edge_cases(bounds, cumulative, expected):
    found = quantiles(bounds, np.asarray(cumulative, dtype=np.float64), [50.0])
    assert np.allclose(found[0], expected, equal_nan=True)


def test_percentile_tags_line_up_the_decimal_point():
    assert [percentile_tag(p) for p in (5.0, 50.0, 99.9, 100.0)] == ["  5.0", " 50.0", " 99.9", "100.0"]
