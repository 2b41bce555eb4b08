"""Properties: a normalised expression parses back to the same tree; whatever parses, evaluates.

Expressions are generated from a grammar of the vocabulary: queries of every kind with
awkward values (commas, colons, brackets, spaces, comment starts — all needing escapes),
aggregates, group-bys, offsets, percentiles, math, stateful words, filters and styles.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stacklang import StackLangError, parse
from stacklang.literals import format_number
from stacklang.printer import to_text
from stacklang.tokens import escape
from tests.stacklang.support import DOCS_DATASET, open_store, run

KEYS = st.sampled_from(["name", "nf.app", "nf.node"])
TEXT = st.text(alphabet="abcXY019-_., :()/*\\u\t", min_size=1, max_size=8).map(escape)
PATTERN = st.from_regex(r"[a-z][a-z0-9.]{0,4}", fullmatch=True)
NUMBER = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(format_number),
)
COUNT = st.integers(1, 6).map(str)


def _key_list(keys: list[str]) -> str:
    return "(," + "".join(f"{k}," for k in keys) + ")"


GROUP_KEYS = st.lists(KEYS, min_size=1, max_size=2, unique=True).map(_key_list)

LEAF_QUERY = st.one_of(
    st.builds(
        lambda k, v, w: f"{k},{v},:{w}", KEYS, TEXT, st.sampled_from(["eq", "contains", "starts", "ends"])
    ),
    st.builds(lambda k, v, w: f"{k},{v},:{w}", KEYS, TEXT, st.sampled_from(["lt", "le", "gt", "ge"])),
    st.builds(lambda k, p, w: f"{k},{p},:{w}", KEYS, PATTERN, st.sampled_from(["re", "reic"])),
    st.builds(lambda k: f"{k},:has", KEYS),
    st.builds(lambda k, vs: f"{k},(,{''.join(v + ',' for v in vs)}),:in", KEYS, st.lists(TEXT, max_size=3)),
    st.sampled_from([":true", ":false"]),
)
QUERY = st.recursive(
    LEAF_QUERY,
    lambda q: st.one_of(
        st.builds(lambda a, b, w: f"{a},{b},:{w}", q, q, st.sampled_from(["and", "or"])),
        st.builds(lambda a: f"{a},:not", q),
    ),
    max_leaves=4,
)
OFFSET = st.sampled_from(["", ",1h,:offset", ",90s,:offset", ",PT2M,:offset", ",1w,:offset"])
PERCENTILES = st.lists(st.sampled_from(["50", "90", "99.9", "0", "100"]), min_size=1, max_size=3)

DATA = st.one_of(
    QUERY,
    st.builds(lambda q, f, o: f"{q},:{f}{o}", QUERY, st.sampled_from(["sum", "count", "min", "max"]), OFFSET),
    st.builds(
        lambda q, f, k, o: f"{q},:{f},{k},:by{o}", QUERY, st.sampled_from(["sum", "max"]), GROUP_KEYS, OFFSET
    ),
    st.builds(
        lambda q, w, o: f"{q},:{w}{o}", QUERY, st.sampled_from(["avg", "dist-avg", "dist-max"]), OFFSET
    ),
    st.builds(lambda q, k: f"{q},{k},:by,:avg", QUERY, GROUP_KEYS),
    st.builds(
        lambda q, k, ps, o: f"{q},{k},:by,(,{''.join(p + ',' for p in ps)}),:percentiles{o}",
        QUERY,
        GROUP_KEYS,
        PERCENTILES,
        OFFSET,
    ),
    NUMBER.map(lambda n: f"{n},:const"),
)


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    op = st.sampled_from(
        ["add", "sub", "mul", "div", "pow", "gt", "ge", "lt", "le", "and", "or", "fadd", "fdiv"]
    )
    return st.one_of(
        st.builds(lambda t, w: f"{t},:{w}", inner, st.sampled_from(["abs", "neg", "sqrt", "per-step"])),
        st.builds(
            lambda t, n, w: f"{t},{n},:{w}", inner, NUMBER, st.sampled_from(["clamp-min", "clamp-max"])
        ),
        st.builds(lambda a, b, w: f"{a},{b},:{w}", inner, inner, op),
        st.builds(lambda t, w: f"{t},:{w}", inner, st.sampled_from(["sum", "count", "min", "max", "avg"])),
        st.builds(lambda t, k: f"{t},{k},:by", inner, GROUP_KEYS),
        st.builds(
            lambda t, n, w: f"{t},{n},:{w}",
            inner,
            COUNT,
            st.sampled_from(["rolling-count", "rolling-sum", "rolling-min", "rolling-max", "delay"]),
        ),
        st.builds(lambda t, n: f"{t},{n},1,:rolling-mean", inner, COUNT),
        st.builds(lambda t, w: f"{t},:{w}", inner, st.sampled_from(["integral", "derivative"])),
        st.builds(lambda t, w: f"{t},5,0.1,0.5,:{w}", inner, st.sampled_from(["des", "sdes"])),
        st.builds(
            lambda t, s: f"{t},{s},:stat", inner, st.sampled_from(["avg", "max", "min", "last", "total"])
        ),
        st.builds(
            lambda t, s, n: f"{t},:stat-{s},{n},:gt,:filter", inner, st.sampled_from(["max", "avg"]), NUMBER
        ),
        st.builds(lambda t, s, n: f"{t},{s},{n},:topk", inner, st.sampled_from(["max", "last"]), COUNT),
        st.builds(lambda t, n: f"{t},{n},:bottomk", inner, COUNT),
        st.builds(lambda t, o: f"{t}{o}", inner, OFFSET),
    )


SERIES = st.recursive(DATA, _extend, max_leaves=5)
STYLE = st.lists(
    st.one_of(
        TEXT.map(lambda v: f"{v},:legend"),
        st.sampled_from(
            ["f00,:color", "80ff0000,:color", "40,:alpha", ":area", ":stack", "2,:lw", "1,:axis"]
        ),
    ),
    max_size=3,
)
STYLED = st.builds(lambda t, s: ",".join([t, *s]), SERIES, STYLE)
PROGRAM = st.lists(STYLED, min_size=1, max_size=3).map(",".join)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(PROGRAM)
def test_a_normalised_expression_parses_back_to_the_same_tree(program):
    try:
        tree = parse(program)
    except StackLangError:
        assume(False)  # e.g. a join of incompatible groupings: not an expression
        raise
    printed = to_text(tree)
    assert parse(printed) == tree, printed
    assert to_text(parse(printed)) == printed


@pytest.fixture(scope="module")
def shared_docs_store(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("fuzz") / "docs.duckdb", DOCS_DATASET)
    yield store
    store.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=PROGRAM)
def test_whatever_parses_evaluates_to_series_on_the_time_axis(shared_docs_store, program):
    """No expression of the grammar fails but with a StackLangError, nor warns (warnings are errors)."""
    try:
        found = run(shared_docs_store, program, 3)
    except StackLangError:
        return
    assert all(series.values.shape == (3,) for series in found)
