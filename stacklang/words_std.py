"""Stack words (Atlas's StandardVocabulary): reorder, drop, build and run lists, variables.

As in Atlas, ``:rot`` and ``:-rot`` rotate the whole stack (bottom to top and back), and
``:each`` applies its function to the list's items from the last to the first.
"""

from __future__ import annotations

from typing import Any

from stacklang.errors import WordError
from stacklang.extract import INT, LIST, STRING, Item
from stacklang.interpreter import Context, Overload, Word
from stacklang.tokens import Token


def _need(context: Context, count: int) -> list[Item]:
    if len(context.stack) < count:
        have = len(context.stack)
        items = "item" if count == 1 else "items"
        raise WordError(f"needs {count} {items} on the stack, there {'is' if have == 1 else 'are'} {have}")
    return context.stack


def _dup(context: Context, token: Token) -> None:
    stack = _need(context, 1)
    stack.append(stack[-1])


def _swap(context: Context, token: Token) -> None:
    stack = _need(context, 2)
    stack[-1], stack[-2] = stack[-2], stack[-1]


def _drop(context: Context, token: Token) -> None:
    _need(context, 1).pop()


def _over(context: Context, token: Token) -> None:
    stack = _need(context, 2)
    stack.append(stack[-2])


def _rot(context: Context, token: Token) -> None:
    stack = _need(context, 1)
    stack.append(stack.pop(0))


def _reverse_rot(context: Context, token: Token) -> None:
    stack = _need(context, 1)
    stack.insert(0, stack.pop())


def _clear(context: Context, token: Token) -> None:
    context.stack.clear()


def _to_list(context: Context, token: Token) -> None:
    values = tuple(item.value for item in context.stack)
    context.stack[:] = [Item(values, token.position)]


def _depth(context: Context, token: Token) -> None:
    context.stack.append(Item(str(len(context.stack)), token.position))


def _pop_list(context: Context, what: str) -> tuple[Any, ...]:
    item = _need(context, 1).pop()
    if not isinstance(item.value, tuple):
        raise WordError(f"expects a List as {what}, got {type(item.value).__name__}")
    return item.value


def _call(context: Context, token: Token) -> None:
    program = _pop_list(context, "the program")
    context.interpreter.execute(program, context, token.position)


def _each(context: Context, token: Token) -> None:
    function = _pop_list(context, "the function")
    items = _pop_list(context, "the items")
    for value in reversed(items):
        context.stack.append(Item(value, token.position))
        context.interpreter.execute(function, context, token.position)


def _map(context: Context, token: Token) -> None:
    function = _pop_list(context, "the function")
    items = _pop_list(context, "the items")
    mapped = []
    for value in items:
        context.stack.append(Item(value, token.position))
        context.interpreter.execute(function, context, token.position)
        mapped.append(_need(context, 1).pop().value)
    context.stack.append(Item(tuple(mapped), token.position))


def _set(context: Context, token: Token) -> None:
    stack = _need(context, 2)
    value, key = stack.pop(), stack.pop()
    if not isinstance(key.value, str):
        raise WordError(f"expects a String variable name, got {type(key.value).__name__}")
    context.variables[key.value] = value


def _get(context: Context, token: Token) -> None:
    key = _need(context, 1)[-1]
    if not isinstance(key.value, str):
        raise WordError(f"expects a String variable name, got {type(key.value).__name__}")
    if key.value not in context.variables:
        raise WordError(f"variable {key.value!r} is not set")
    context.stack[-1] = Item(context.variables[key.value].value, token.position)


def _format(pattern: str, args: tuple[Any, ...]) -> list[Any]:
    """Java's ``String.format`` for the common conversions (%s, %d, %f, %x, %%)."""
    values: list[Any] = list(args)
    for attempt in range(2):
        try:
            return [pattern % tuple(values)]
        except (TypeError, ValueError) as error:
            if attempt:
                raise WordError(f"cannot format {pattern!r} with {len(args)} arguments: {error}") from None
            values = [_number(v) for v in values]
    raise AssertionError("unreachable")


def _number(value: Any) -> Any:
    if isinstance(value, str):
        for convert in (int, float):
            try:
                return convert(value)
            except ValueError:
                pass
    return value


def _raw_pick(context: Context, token: Token) -> None:
    n = _pop_count(context)
    stack = _need(context, n + 1)
    stack.append(Item(stack[-1 - n].value, token.position))


def _raw_roll(context: Context, token: Token) -> None:
    n = _pop_count(context)
    stack = _need(context, n + 1)
    stack.append(stack.pop(-1 - n))


def _raw_ndrop(context: Context, token: Token) -> None:
    n = _pop_count(context)
    del context.stack[max(0, len(context.stack) - n) :]


def _raw_nlist(context: Context, token: Token) -> None:
    n = min(_pop_count(context), len(context.stack))
    values = tuple(item.value for item in context.stack[len(context.stack) - n :])
    del context.stack[len(context.stack) - n :]
    context.stack.append(Item(values, token.position))


def _pop_count(context: Context) -> int:
    item = _need(context, 1)[-1]
    count = INT.read(item)
    if not isinstance(count, int) or count < 0:
        raise WordError(f"expects a count (a non-negative Int) on top, got {item.value!r}")
    context.stack.pop()
    return count


WORDS: list[Word] = [
    Word("dup", raw=_dup),
    Word("swap", raw=_swap),
    Word("drop", raw=_drop),
    Word("over", raw=_over),
    Word("rot", raw=_rot),
    Word("-rot", raw=_reverse_rot),
    Word("clear", raw=_clear),
    Word("list", raw=_to_list),
    Word("depth", raw=_depth),
    Word("call", raw=_call),
    Word("each", raw=_each),
    Word("map", raw=_map),
    Word("set", raw=_set),
    Word("get", raw=_get),
    Word("pick", raw=_raw_pick),
    Word("roll", raw=_raw_roll),
    Word("ndrop", raw=_raw_ndrop),
    Word("nlist", raw=_raw_nlist),
    Word("format", overloads=(Overload((STRING, LIST), _format),)),
    Word("nip", body=":swap,:drop"),
    Word("tuck", body=":swap,:over"),
    Word("2over", body=":over,:over"),
    Word("sset", body=":swap,:set"),
    Word("fcall", body=":get,:call"),
]
