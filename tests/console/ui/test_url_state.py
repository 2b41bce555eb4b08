"""Page state in the query string: decode with fallbacks, encode without defaults, links, round trips."""

from __future__ import annotations

import random
import string
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from console.ui.url_state import (
    COMMON,
    Schema,
    bool_field,
    decode,
    encode,
    enum_field,
    float_field,
    int_field,
    link,
    list_field,
    str_field,
    time_window,
    unknown,
)

# A traces-like page: one field of each kind, then the controls every page shares.
TRACES = Schema.of(
    str_field("service"),
    enum_field("status", "any", ("any", "ok", "error")),
    int_field("limit", 100, minimum=1, maximum=1000),
    float_field("min_ms", 0.0, minimum=0),
    bool_field("critical"),
    list_field("tag"),
    list_field("level", ("warn", "error")),
    COMMON,
)
DEFAULTS: dict[str, Any] = {
    "service": "",
    "status": "any",
    "limit": 100,
    "min_ms": 0.0,
    "critical": False,
    "tag": [],
    "level": ["warn", "error"],
    "from": "now-1h",
    "to": "now",
    "refresh": "off",
}
NOW = 1_795_515_462_123  # 2026-11-24T10:17:42.123Z
ODD_TEXT = "<script>alert(1)</script> & # ? = a+b 100% é 日本 /x"


def test_a_page_opened_without_a_query_string_has_its_defaults() -> None:
    assert decode(TRACES, {}) == (DEFAULTS, [])
    assert TRACES.defaults() == DEFAULTS


@pytest.mark.parametrize(
    ("params", "changes"),
    [
        pytest.param({"service": "playback"}, {"service": "playback"}, id="a text is taken as it is"),
        pytest.param({"service": ODD_TEXT}, {"service": ODD_TEXT}, id="markup in a text stays data"),
        pytest.param({"status": "error"}, {"status": "error"}, id="an allowed enum value is taken"),
        pytest.param({"limit": "250"}, {"limit": 250}, id="a whole number is read"),
        pytest.param({"limit": "1"}, {"limit": 1}, id="the lower bound is allowed"),
        pytest.param({"limit": "1000"}, {"limit": 1000}, id="the upper bound is allowed"),
        pytest.param(
            {"limit": ["5", "7"]}, {"limit": 7}, id="a repeated scalar takes the last as Streamlit does"
        ),
        pytest.param({"min_ms": "2.5"}, {"min_ms": 2.5}, id="a decimal number is read"),
        pytest.param({"min_ms": "1e3"}, {"min_ms": 1000.0}, id="an exponent is read"),
        pytest.param({"critical": "true"}, {"critical": True}, id="true is read"),
        pytest.param({"critical": "0"}, {"critical": False}, id="zero is false"),
        pytest.param(
            {"tag": ["http.status=500", "region=eu"]},
            {"tag": ["http.status=500", "region=eu"]},
            id="a list keeps its order",
        ),
        pytest.param({"tag": "region=eu"}, {"tag": ["region=eu"]}, id="a single value is a list of one"),
        pytest.param({"level": ""}, {"level": []}, id="an empty value is an empty list"),
        pytest.param({"level": ["error", ""]}, {"level": ["error"]}, id="empty list items are dropped"),
        pytest.param(
            {"from": "now-6h", "to": "now-1h"}, {"from": "now-6h", "to": "now-1h"}, id="a time range is read"
        ),
        pytest.param(
            {"from": "now-1d/d", "to": "now-1d/d"},
            {"from": "now-1d/d", "to": "now-1d/d"},
            id="a rounded range",
        ),
        pytest.param(
            {"refresh": "1m", "status": "error"},
            {"refresh": "1m", "status": "error"},
            id="refresh and status",
        ),
    ],
)
def test_valid_values_are_decoded(params: dict[str, Any], changes: dict[str, Any]) -> None:
    assert decode(TRACES, params) == ({**DEFAULTS, **changes}, [])


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        pytest.param({"limit": "0"}, "limit", "0 is below the minimum 1", id="a number under its bound"),
        pytest.param(
            {"limit": "1001"}, "limit", "1001 is above the maximum 1000", id="a number over its bound"
        ),
        pytest.param({"limit": "ten"}, "limit", "'ten' is not a whole number", id="a word for a number"),
        pytest.param(
            {"limit": "1.5"}, "limit", "'1.5' is not a whole number", id="a decimal for a whole number"
        ),
        pytest.param(
            {"limit": "١٢"}, "limit", "'١٢' is not a whole number", id="non-ASCII digits are refused"
        ),
        pytest.param(
            {"limit": "1_000"}, "limit", "'1_000' is not a whole number", id="Python digit groups are refused"
        ),
        pytest.param({"min_ms": "nan"}, "min_ms", "'nan' is not a number", id="not a number is refused"),
        pytest.param({"min_ms": "inf"}, "min_ms", "'inf' is not a number", id="infinity is refused"),
        pytest.param(
            {"min_ms": "-1"}, "min_ms", "-1 is below the minimum 0", id="a negative duration is refused"
        ),
        pytest.param(
            {"critical": "maybe"}, "critical", "'maybe' is not true or false", id="a word for a switch"
        ),
        pytest.param(
            {"status": "ERROR"}, "status", "'ERROR' is not one of any, ok, error", id="enums are exact"
        ),
        pytest.param(
            {"refresh": "2s"}, "refresh", "'2s' is not one of off, 5s", id="an unknown refresh interval"
        ),
        pytest.param(
            {"refresh": "2s"}, "refresh", "'2s' is not one of off, 5s, 10s", id="an unknown refresh"
        ),
        pytest.param({"from": "yesterday"}, "from", "'yesterday' is not a time", id="an unreadable from"),
        pytest.param({"to": "2026-11-24T10:00:00"}, "to", "has no time zone", id="a to without a zone"),
        pytest.param(
            {"service": "x" * 1001}, "service", "length 1001 is above the maximum 1000", id="an overlong text"
        ),
        pytest.param(
            {"tag": [f"t{i}" for i in range(51)]},
            "tag",
            "51 items is above the maximum 50",
            id="too many items",
        ),
    ],
)
def test_bad_values_fall_back_to_the_default_and_are_reported(
    params: dict[str, Any], field: str, reason: str
) -> None:
    state, problems = decode(TRACES, params)
    assert state == DEFAULTS
    assert [f for f, _ in problems] == [field]
    assert reason in problems[0][1]
    assert problems[0][1].endswith("; using the default")


def test_each_bad_field_is_reported_and_good_ones_kept() -> None:
    state, problems = decode(TRACES, {"limit": "0", "refresh": "5m", "status": "bad"})
    assert state == {**DEFAULTS, "refresh": "5m"}
    assert [f for f, _ in problems] == ["status", "limit"]


def test_unknown_parameters_are_kept_aside_not_reported() -> None:
    params = {"trace_id": "abc", "limit": "5", "other": ["a", "b"]}
    assert decode(TRACES, params) == ({**DEFAULTS, "limit": 5}, [])
    assert unknown(TRACES, params) == {"trace_id": "abc", "other": ["a", "b"]}


def test_encode_leaves_defaults_out_and_follows_schema_order() -> None:
    assert encode(TRACES, DEFAULTS) == {}
    assert encode(TRACES, {}) == {}
    state = {
        **DEFAULTS,
        "from": "now-6h",
        "tag": ["a", "b"],
        "limit": 50,
        "service": "playback",
        "min_ms": 2.5,
    }
    encoded = encode(TRACES, state)
    assert encoded == {
        "service": "playback",
        "limit": "50",
        "min_ms": "2.5",
        "tag": ["a", "b"],
        "from": "now-6h",
    }
    assert list(encoded) == ["service", "limit", "min_ms", "tag", "from"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"critical": True}, {"critical": "true"}, id="a switch is written true"),
        pytest.param(
            {"level": []}, {"level": ""}, id="an empty list differing from its default is written empty"
        ),
        pytest.param(
            {"min_ms": 3}, {"min_ms": "3.0"}, id="a whole number in a float field is written as a float"
        ),
        pytest.param({"service": ""}, {}, id="a text equal to its default is left out"),
    ],
)
def test_encode_writes_each_kind(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    assert encode(TRACES, {**DEFAULTS, **changes}) == expected


def test_encode_appends_kept_aside_parameters_without_overriding() -> None:
    encoded = encode(TRACES, {"limit": 5}, extra={"trace_id": "abc", "limit": "9"})
    assert encoded == {"limit": "5", "trace_id": "abc"}


@pytest.mark.parametrize(
    ("state", "message"),
    [
        pytest.param({"limti": 5}, "not in the schema", id="a misspelt key is a programming error"),
        pytest.param({"limit": 0}, "limit: 0 is below the minimum 1", id="an out of bounds value"),
        pytest.param({"limit": True}, "limit: is not a whole number", id="a bool is not a number"),
        pytest.param({"refresh": "2s"}, "refresh: '2s' is not one of off, 5s", id="an unknown enum value"),
        pytest.param({"tag": ["a", ""]}, "tag: is not a list of non-empty texts", id="an empty list item"),
        pytest.param({"from": "soon"}, "from: 'soon' is not a time", id="an unreadable time"),
    ],
)
def test_encode_refuses_invalid_states(state: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode(TRACES, state)


def test_schema_refuses_duplicate_names_and_bad_defaults() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Schema.of(str_field("from"), COMMON)
    with pytest.raises(ValueError, match="default of 'limit'"):
        Schema.of(int_field("limit", 0, minimum=1))


def _random_state(rng: random.Random) -> dict[str, Any]:
    alphabet = string.printable + "éü日本<>&#?=+%/\u00a0"

    def text(min_len: int = 0) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(min_len, 12)))

    state = dict(DEFAULTS)
    choices: dict[str, Any] = {
        "service": lambda: text(),
        "status": lambda: rng.choice(["any", "ok", "error"]),
        "limit": lambda: rng.randint(1, 1000),
        "min_ms": lambda: rng.choice([0.0, rng.uniform(0, 1e6), 1e-7, 12.0]),
        "critical": lambda: rng.random() < 0.5,
        "tag": lambda: [text(1) for _ in range(rng.randint(0, 4))],
        "level": lambda: [text(1) for _ in range(rng.randint(0, 3))],
        "from": lambda: rng.choice(
            ["now-1h", "now-6h", "now/d", "now-1d/d", "2026-11-24T10:00:00Z", "1795514400000"]
        ),
        "to": lambda: rng.choice(["now", "now+5m", "now-1d/d", "2026-11-24T11:00:00+01:00"]),
        "refresh": lambda: rng.choice(["off", "5s", "1m", "15m"]),
    }
    for name, make in choices.items():
        if rng.random() < 0.6:
            state[name] = make()
    return state


@pytest.mark.parametrize("seed", range(200))
def test_random_valid_states_survive_encode_then_decode(seed: int) -> None:
    state = _random_state(random.Random(seed))
    assert decode(TRACES, encode(TRACES, state)) == (state, [])


@pytest.mark.parametrize("seed", range(50))
def test_random_valid_states_survive_a_link_read_back_as_streamlit_does(seed: int) -> None:
    state = _random_state(random.Random(1000 + seed))
    url = link("/traces", state, TRACES)
    # Streamlit parses the query string with keep_blank_values=True (an empty list is "level=").
    params = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert decode(TRACES, params) == (state, [])


@pytest.mark.parametrize(
    ("path", "state", "expected"),
    [
        pytest.param(
            "/traces",
            {"service": "playback", "from": "now-6h"},
            "/traces?service=playback&from=now-6h",
            id="a jump",
        ),
        pytest.param("logs", {}, "/logs", id="defaults only give a bare path"),
        pytest.param("/logs", {"from": "now/d"}, "/logs?from=now/d", id="slashes in a time stay readable"),
        pytest.param(
            "/logs", {"to": "now+5m"}, "/logs?to=now%2B5m", id="a plus is encoded so it is not a space"
        ),
        pytest.param(
            "/logs",
            {"from": "2026-11-24T10:00:00Z"},
            "/logs?from=2026-11-24T10:00:00Z",
            id="colons stay readable",
        ),
        pytest.param("/logs", {"tag": ["a b", "c"]}, "/logs?tag=a%20b&tag=c", id="a list repeats its key"),
        pytest.param("/logs", {"level": []}, "/logs?level=", id="an empty list is an empty value"),
        pytest.param("/service map", {}, "/service%20map", id="the path is encoded too"),
    ],
)
def test_link(path: str, state: dict[str, Any], expected: str) -> None:
    assert link(path, state, TRACES) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("<script>alert(1)</script>", id="markup"),
        pytest.param("a&limit=5", id="an ampersand cannot add a parameter"),
        pytest.param("x#frag", id="a hash cannot start a fragment"),
        pytest.param("what?", id="a question mark"),
        pytest.param("k=v", id="an equals sign"),
        pytest.param("two words", id="spaces"),
        pytest.param("1+1", id="a plus"),
        pytest.param("100%", id="a percent sign"),
        pytest.param("café 日本 🚀", id="non-ASCII text"),
    ],
)
def test_user_text_survives_a_link_as_data(value: str) -> None:
    url = link("/logs", {"service": value, "tag": [value, "b"]}, TRACES)
    query = urlsplit(url).query
    assert urlsplit(url).fragment == ""
    assert all(c not in query for c in "<> #?") and query.isascii()
    assert parse_qs(query) == {"service": [value], "tag": [value, "b"]}


def test_time_window_resolves_the_range_or_falls_back_with_a_problem() -> None:
    assert time_window(DEFAULTS, NOW) == ((NOW - 3_600_000, NOW), [])
    assert time_window({**DEFAULTS, "from": "now", "to": "now-1h"}, NOW)[0] == (NOW - 3_600_000, NOW)
    (_, problems) = time_window({**DEFAULTS, "from": "now", "to": "now-1h"}, NOW)
    assert [f for f, _ in problems] == ["from"]
    assert "must be before to" in problems[0][1]
