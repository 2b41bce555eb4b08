"""Bad input gets a 4xx naming the field and the reason; never a 500."""

from __future__ import annotations

import httpx
import pytest

PLAY = {"title_id": "80100000", "device": "smart_tv", "drm_system": "widevine"}

CASES = [
    # (case, cluster, method, path, request kwargs, status, field)
    (
        "malformed JSON in a play request is a 400 naming the body",
        "playback-v1",
        "POST",
        "/play",
        {"content": b'{"title_id": ', "headers": {"content-type": "application/json"}},
        400,
        "body",
    ),
    (
        "a play body that is not JSON at all is a 400",
        "playback-v1",
        "POST",
        "/play",
        {"content": b"title_id=1"},
        400,
        "body",
    ),
    (
        "a JSON array instead of an object is a 400",
        "playback-v1",
        "POST",
        "/play",
        {"json": [PLAY]},
        400,
        "body",
    ),
    (
        "an unknown DRM system is refused by playback",
        "playback-v1",
        "POST",
        "/play",
        {"json": {**PLAY, "drm_system": "clearkey"}},
        422,
        "drm_system",
    ),
    (
        "an unknown title cannot be played",
        "playback-v1",
        "POST",
        "/play",
        {"json": {**PLAY, "title_id": "99999999"}},
        404,
        "title_id",
    ),
    (
        "an unknown device cannot play",
        "playback-v1",
        "POST",
        "/play",
        {"json": {**PLAY, "device": "toaster"}},
        422,
        "device",
    ),
    (
        "a missing field is named",
        "playback-v1",
        "POST",
        "/play",
        {"json": {"title_id": "80100000", "device": "smart_tv"}},
        422,
        "drm_system",
    ),
    (
        "a device asking for a DRM system it lacks is denied, naming drm_system",
        "playback-v1",
        "POST",
        "/play",
        {"json": {**PLAY, "device": "iphone"}},
        403,
        "drm_system",
    ),
    (
        "an unknown DRM system is refused by the license server",
        "drm-v1",
        "POST",
        "/license",
        {"json": {"system": "clearkey", "title_id": "80100000", "device": "xbox"}},
        422,
        "system",
    ),
    (
        "a license for an unknown title is refused",
        "drm-v1",
        "POST",
        "/license",
        {"json": {"system": "playready", "title_id": "nope", "device": "xbox"}},
        404,
        "title_id",
    ),
    (
        "malformed JSON in a license request is a 400",
        "drm-v1",
        "POST",
        "/license",
        {"content": b"{", "headers": {"content-type": "application/json"}},
        400,
        "body",
    ),
    ("the manifest of an unknown title is a 404", "cdn-v1", "GET", "/manifest/12345", {}, 404, "title_id"),
    (
        "a segment of an unknown rendition is a 404",
        "cdn-v1",
        "GET",
        "/segment/80100000/9999p-1/0",
        {},
        404,
        "rendition",
    ),
    ("a negative segment number is refused", "cdn-v1", "GET", "/segment/80100000/240p-240/-1", {}, 422, "n"),
    (
        "a segment past the end of the title is a 404",
        "cdn-v1",
        "GET",
        "/segment/80100000/240p-240/100000",
        {},
        404,
        "n",
    ),
    (
        "an encode of an unknown title is a 404",
        "encoding-v1",
        "POST",
        "/jobs",
        {"json": {"title_id": "nope"}},
        404,
        "title_id",
    ),
    (
        "a complexity above one is refused",
        "encoding-v1",
        "POST",
        "/jobs",
        {"json": {"title_id": "80100000", "complexity": 7}},
        422,
        "complexity",
    ),
    ("an unknown job is a 404", "encoding-v1", "GET", "/jobs/0000", {}, 404, "job_id"),
    (
        "a heartbeat for an unknown session is a 404",
        "playback-v1",
        "POST",
        "/sessions/none/heartbeat",
        {"json": {"position_s": 4}},
        404,
        "session_id",
    ),
    (
        "an absurd rebuffer count is refused",
        "playback-v1",
        "POST",
        "/sessions/none/heartbeat",
        {"json": {"position_s": 4, "rebuffers": -2}},
        422,
        "rebuffers",
    ),
    (
        "an unknown genre is refused when browsing",
        "playback-v1",
        "GET",
        "/titles?genre=polka",
        {},
        422,
        "genre",
    ),
]


@pytest.mark.parametrize(
    ("case", "cluster", "method", "path", "kwargs", "status", "field"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_gets_a_4xx_naming_the_field(fleet, case, cluster, method, path, kwargs, status, field):
    answer = httpx.request(method, f"{fleet.url(cluster)}{path}", **kwargs)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert field in [e["field"] for e in body["errors"]]
    assert all(e["reason"] for e in body["errors"])
    assert body["detail"].startswith(f"{field}:") or f"{field}:" in body["detail"]
