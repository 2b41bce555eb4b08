"""Tokens keep their positions; malformed expressions fail naming the problem and where it is."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stacklang import StackLangError, parse
from stacklang.parsing import execute
from stacklang.tokens import escape, tokenize, unescape


@pytest.mark.parametrize(
    ("expression", "tokens"),
    [
        pytest.param(
            "a,b,:eq", [("a", 0, "literal"), ("b", 2, "literal"), (":eq", 4, "word")], id="commas split"
        ),
        pytest.param(
            "  a ,\n\tb  ,:eq ",
            [("a", 2, "literal"), ("b", 7, "literal"), (":eq", 11, "word")],
            id="whitespace around a token is trimmed and positions point at its first character",
        ),
        pytest.param(
            "a,/* a comment, with commas */b",
            [("a", 0, "literal"), ("b", 30, "literal")],
            id="comments are removed",
        ),
        pytest.param(
            "a/* outer /* inner */ still */b",
            [("ab", 0, "literal")],
            id="comments nest and join what surrounds them",
        ),
        pytest.param("a*/b", [("a*/b", 0, "literal")], id="a closing delimiter alone is literal"),
        pytest.param(
            "(,a,),)",
            [("(", 0, "open"), ("a", 2, "literal"), (")", 4, "close"), (")", 6, "close")],
            id="brackets",
        ),
        pytest.param(",,  ,", [], id="empty tokens are dropped"),
    ],
)
def test_tokenize(expression, tokens):
    assert [(t.text, t.position, t.kind) for t in tokenize(expression)] == tokens


@pytest.mark.parametrize(
    ("expression", "stack"),
    [
        pytest.param("a\\u002cb", ["a,b"], id="an escaped comma is part of the literal"),
        pytest.param("\\u003aeq", [":eq"], id="an escaped colon makes a literal, not a word"),
        pytest.param("\\u0028,\\u0029", ["(", ")"], id="escaped parentheses are literals"),
        pytest.param("\\u0020a\\u0020", [" a "], id="escaped spaces survive trimming"),
        pytest.param("(,a\\u002cb,)", [("a,b",)], id="escapes are decoded inside lists too"),
        pytest.param("a\\u00zz", ["a\\u00zz"], id="a malformed escape stays as written"),
    ],
)
def test_escapes(expression, stack):
    assert [item.value for item in execute(expression)] == stack


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1))
def test_escape_is_read_back_as_the_same_single_literal(value):
    tokens = tokenize(escape(value))
    assert len(tokens) == 1 and tokens[0].kind == "literal"
    assert tokens[0].value == value == unescape(escape(value))


ERRORS = [
    pytest.param("name,sps,:eq,:x", "unknown word ':x' at position 13", 13, id="an unknown word is named"),
    pytest.param(
        "a,)", "unmatched closing parenthesis at position 2", 2, id="a closing parenthesis without opening"
    ),
    pytest.param(
        "(,a,(,b,)", "unmatched opening parenthesis at position 0", 0, id="the parenthesis left open is named"
    ),
    pytest.param("a,/* never closed", "unclosed comment at position 2", 2, id="an unclosed comment"),
    pytest.param(
        "a,b,:add",
        "':add' at position 4 expects (TimeSeriesExpr, TimeSeriesExpr) or (TimeSeriesExpr, StyleExpr) or "
        "(StyleExpr, TimeSeriesExpr) on the stack, got (String 'a', String 'b')",
        4,
        id="a word given the wrong types says what it expected and got",
    ),
    pytest.param(
        "name,a,:eq,(,x,),:by,name,b,:eq,(,y,),:by,:div",
        "':div' at position 42: cannot join (,x,) with (,y,): both sides of a binary operation must have "
        "the same grouping or one side's keys must be a subset of the other's",
        42,
        id="a join between incompatible groupings",
    ),
    pytest.param(
        ":dup", "':dup' at position 0: needs 1 item on the stack, there are 0", 0, id="a stack too short"
    ),
    pytest.param(
        "name,[,:re",
        "':re' at position 7: invalid regular expression '['",
        7,
        id="an invalid regular expression",
    ),
    pytest.param(
        "name,a,:eq,x,:legend,zz,:color",
        "':color' at position 24: invalid color 'zz'",
        24,
        id="an invalid color",
    ),
    pytest.param(
        "name,a,:eq,(,101,),:percentiles",
        "':percentiles' at position 19: invalid percentile 101.0",
        19,
        id="a percentile over 100",
    ),
    pytest.param("name,a,:eq,0,:rolling-count", "the window must be at least 1", 13, id="an empty window"),
    pytest.param("name,a,:eq,bogus,:stat", "unknown statistic 'bogus'", 17, id="an unknown statistic"),
    pytest.param(
        "a", "String 'a' at position 0 is left on the stack", 0, id="a string left over is not an expression"
    ),
    pytest.param("k,:get", "variable 'k' is not set", 2, id="an unset variable"),
    pytest.param(
        "f,(,f,:get,:call,),:set,f,:get,:call",
        "looping detected at position",
        31,
        id="endless recursion is stopped",
    ),
    pytest.param(
        "name,a,:eq,(,x,),:by,(,y,),:by",
        "':by' at position 27: (,y,) is not a subset of (,x,)",
        27,
        id="a second group-by must regroup by a subset",
    ),
]


@pytest.mark.parametrize(("expression", "message", "position"), ERRORS)
def test_errors_name_the_problem_and_the_position(expression, message, position):
    with pytest.raises(StackLangError) as raised:
        parse(expression)
    assert message in str(raised.value)
    assert raised.value.position == position
