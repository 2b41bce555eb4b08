"""Stack words, as Atlas's StandardVocabulary suites check them (stacks shown top first)."""

from __future__ import annotations

import pytest

from stacklang.parsing import execute


def _top_first(expression: str) -> list[object]:
    return [item.value for item in reversed(execute(expression))]


@pytest.mark.parametrize(
    ("expression", "stack"),
    [
        pytest.param("a,b,:dup", ["b", "b", "a"], id="dup copies the top"),
        pytest.param("a,b,:swap", ["a", "b"], id="swap exchanges the top two"),
        pytest.param("a,b,:drop", ["a"], id="drop removes the top"),
        pytest.param("a,b,:over", ["a", "b", "a"], id="over copies the second to the top"),
        pytest.param("a,b,c,d,:rot", ["a", "d", "c", "b"], id="rot brings the bottom to the top"),
        pytest.param("a,b,c,d,:-rot", ["c", "b", "a", "d"], id="-rot sends the top to the bottom"),
        pytest.param("a,b,c,:clear", [], id="clear empties the stack"),
        pytest.param("a,b,:list", [("a", "b")], id="list gathers the stack into one list"),
        pytest.param("(,a,:dup,),:call", ["a", "a"], id="call runs a list"),
        pytest.param(
            "(,a%s,b%s,),(,(,.netflix.com,),:format,),:each",
            ["a.netflix.com", "b.netflix.com"],
            id="each applies a function to every item, the last first",
        ),
        pytest.param(
            "(,a%s,b%s,),(,(,.netflix.com,),:format,),:map",
            [("a.netflix.com", "b.netflix.com")],
            id="map builds a new list",
        ),
        pytest.param("foo%s,(,bar,),:format", ["foobar"], id="format fills a pattern"),
        pytest.param("%d-%05.1f,(,7,2.5,),:format", ["7-002.5"], id="format converts numbers"),
        pytest.param("k,v,:set,k,:get", ["v"], id="set and get a variable"),
        pytest.param("v,k,:sset,k,:get", ["v"], id="sset takes the value first"),
        pytest.param(
            "duplicate,(,:dup,),:set,a,duplicate,:fcall", ["a", "a"], id="fcall calls a stored function"
        ),
        pytest.param("a,b,:depth", ["2", "b", "a"], id="depth pushes the stack's size"),
        pytest.param("a,b,c,2,:pick", ["a", "c", "b", "a"], id="pick copies the nth item"),
        pytest.param("a,b,c,2,:roll", ["a", "c", "b"], id="roll moves the nth item to the top"),
        pytest.param("a,b,c,2,:ndrop", ["a"], id="ndrop removes n items"),
        pytest.param("a,b,c,2,:nlist", [("b", "c"), "a"], id="nlist gathers n items"),
        pytest.param("a,b,:nip", ["b"], id="nip drops the second"),
        pytest.param("a,b,:tuck", ["b", "a", "b"], id="tuck copies the top under the second"),
        pytest.param("a,b,:2over", ["b", "a", "b", "a"], id="2over copies the top two"),
    ],
)
def test_stack_words(expression, stack):
    assert _top_first(expression) == stack


def test_words_inside_a_list_are_not_run_until_called():
    [listed] = execute("(,a,:dup,)")
    assert len(listed.value) == 2 and listed.value[0] == "a"
