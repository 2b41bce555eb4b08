"""Atlas publish bodies: tag validation (stacklang.md §1), step alignment, combining values in a step."""

from __future__ import annotations

import math

import pytest

from console.api.atlas_publish import PublishBodyError, read_publish, tag_problem

STEP = 60_000


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({"nf.app": "www"}, "tag 'name' is required"),
        ({"name": "x"}, "value of 'name' must be 2 to 255"),
        ({"name": "cpu", "k": "v"}, "tag key 'k' must be 2 to 60"),
        ({"name": "cpu", "a" * 61: "v"}, "must be 2 to 60"),
        ({"name": "cpu", "app": ""}, "value of 'app' must be 1 to 120"),
        ({"name": "cpu", "app": "x" * 121}, "must be 1 to 120"),
        ({"name": "cpu", "app": "www prod"}, "may only use the characters"),
        ({"name": "cpu", "ap p": "www"}, "may only use the characters"),
        ({"name": "cpu", **{f"k{n:02}": "v" for n in range(21)}}, "21 user tags is over the limit of 20"),
        (
            {
                "name": "cpu",
                **{f"k{n:02}": "v" for n in range(20)},
                **{f"nf.x{n:02}": "v" for n in range(10)},
            },
            "31 tags is over the limit of 30",
        ),
    ],
)
def test_tag_sets_that_atlas_refuses(tags, problem):
    assert problem in (tag_problem(tags) or "")


def test_valid_tags_with_atlas_characters_pass():
    assert tag_problem({"name": "ssCpuUser", "nf.app": "alert-test_1", "ver": "1.2^3~x"}) is None


def test_metrics_take_the_common_tags_and_land_at_the_end_of_their_step():
    body = {
        "tags": {"nf.app": "nccp", "name": "overridden"},
        "metrics": [
            {"tags": {"name": "numRequests"}, "timestamp": 120_000, "value": 1},
            {"tags": {"name": "numRequests"}, "timestamp": 120_001, "value": 3},
            {"tags": {"name": "numRequests"}, "timestamp": 150_000, "value": 5},
        ],
    }
    result = read_publish(body, STEP)
    assert result.errors == []
    points = sorted((p.timestamp_ms, p.value) for p in result.points)
    assert points == [(120_000, 1.0), (180_000, 4.0)]  # a rate: averaged within the step
    assert all(dict(p.tags) == {"nf.app": "nccp", "name": "numRequests"} for p in result.points)


@pytest.mark.parametrize(("dstype", "expected"), [("gauge", 2.0), ("sum", 9.0), ("rate", 3.0)])
def test_values_in_one_step_combine_by_atlas_dstype(dstype, expected):
    metrics = [
        {"tags": {"name": "queue", "atlas.dstype": dstype}, "timestamp": t, "value": v}
        for t, v in ((61_000, 3.0), (119_000, 2.0), (90_000, 4.0))
    ]
    [point] = read_publish({"metrics": metrics}, STEP).points
    assert point.value == expected


def test_nan_is_accepted_as_a_string_or_a_literal():
    metrics = [{"tags": {"name": "gap"}, "timestamp": 60_000, "value": "NaN"}]
    [point] = read_publish({"metrics": metrics}, STEP).points
    assert math.isnan(point.value)


def test_bad_metrics_are_listed_and_the_good_ones_kept():
    body = {
        "metrics": [
            {"tags": {"name": "good"}, "timestamp": 60_000, "value": 1},
            {"tags": {"name": "x"}, "timestamp": 60_000, "value": 1},
            {"tags": {"name": "late"}, "timestamp": "soon", "value": 1},
            {"tags": {"name": "text"}, "timestamp": 60_000, "value": "high"},
            "not an object",
        ]
    }
    result = read_publish(body, STEP)
    assert [p.tags["name"] for p in result.points] == ["good"]
    assert [e.split(":")[0] for e in result.errors] == [
        "metrics[1]",
        "metrics[2]",
        "metrics[3]",
        "metrics[4]",
    ]
    assert "timestamp must be epoch milliseconds" in result.errors[1]


@pytest.mark.parametrize(
    ("body", "field"),
    [([], "body"), ({"metrics": {}}, "metrics"), ({}, "metrics"), ({"tags": [], "metrics": []}, "tags")],
)
def test_a_body_of_the_wrong_shape_is_refused_as_a_whole(body, field):
    with pytest.raises(PublishBodyError) as refused:
        read_publish(body, STEP)
    assert refused.value.field == field
