"""The stack machine: push literals and lists, execute words, report errors with positions.

A word has overloads (typed parameters read off the top of the stack, deepest first, like
Atlas's words); the first overload whose parameters all accept the top items runs. Other
words act on the whole stack (``:swap``, ``:each``); macros run a fixed program. Words
inside a list are not executed until the list is (``:call``, ``:each``, ``:map``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stacklang.errors import StackLangError, WordError
from stacklang.extract import NO, Item, Param, describe
from stacklang.tokens import Token, tokenize

MAX_DEPTH = 10  # nested :call/:each/:map/macros; Atlas's limit against loops
MAX_STEPS = 100_000  # tokens executed in total


@dataclass(frozen=True)
class Overload:
    params: tuple[Param, ...]  # deepest first, the top of the stack last
    run: Callable[..., list[Any]]  # the parameters' values -> the items to push


@dataclass
class Context:
    interpreter: Interpreter
    stack: list[Item] = field(default_factory=list)  # bottom first
    variables: dict[str, Item] = field(default_factory=dict)
    depth: int = 0
    steps: int = 0


RawWord = Callable[[Context, Token], None]


@dataclass(frozen=True)
class Word:
    name: str
    overloads: tuple[Overload, ...] = ()
    raw: RawWord | None = None
    body: str = ""  # a macro's program

    def signatures(self) -> str:
        return " or ".join("(" + ", ".join(p.name for p in o.params) + ")" for o in self.overloads)


@dataclass(frozen=True)
class ListLiteral:
    items: tuple[Any, ...]  # Tokens and nested ListLiterals
    position: int


Program = Sequence[Token | ListLiteral]


def assemble(tokens: Sequence[Token]) -> list[Token | ListLiteral]:
    """Group ``(`` … ``)`` into list literals; raises on unmatched parentheses."""
    open_at: list[tuple[int, list[Any]]] = []
    current: list[Any] = []
    for token in tokens:
        if token.kind == "open":
            open_at.append((token.position, current))
            current = []
        elif token.kind == "close":
            if not open_at:
                raise StackLangError(
                    f"unmatched closing parenthesis at position {token.position}", token.position
                )
            position, outer = open_at.pop()
            outer.append(ListLiteral(tuple(current), position))
            current = outer
        else:
            current.append(token)
    if open_at:
        position = open_at[-1][0]
        raise StackLangError(f"unmatched opening parenthesis at position {position}", position)
    return current


def _list_value(literal: ListLiteral) -> tuple[Any, ...]:
    """A list on the stack: strings, word tokens (run if the list is executed) and nested lists."""
    return tuple(
        _list_value(i) if isinstance(i, ListLiteral) else i.value if i.kind == "literal" else i
        for i in literal.items
    )


class Interpreter:
    def __init__(self, vocabulary: Sequence[Word]) -> None:
        self.words = {word.name: word for word in vocabulary}
        self._macros: dict[str, list[Token | ListLiteral]] = {}

    def run(self, expression: str) -> Context:
        context = Context(self)
        self.execute(assemble(tokenize(expression)), context, position=None)
        return context

    def execute(self, program: Sequence[Any], context: Context, position: int | None) -> None:
        """Run tokens, list literals, or the items of a list value (``position`` then overrides)."""
        context.depth += 1
        if context.depth > MAX_DEPTH:
            where = 0 if position is None else position
            raise StackLangError(
                f"looping detected at position {where}: calls nest deeper than {MAX_DEPTH}", where
            )
        try:
            for element in program:
                context.steps += 1
                if context.steps > MAX_STEPS:
                    raise StackLangError(f"the expression runs more than {MAX_STEPS} steps")
                at = position if position is not None else getattr(element, "position", 0)
                if isinstance(element, Token) and element.kind == "word":
                    self.execute_word(element, context, at)
                elif isinstance(element, Token):
                    context.stack.append(Item(element.value, at))
                elif isinstance(element, ListLiteral):
                    context.stack.append(Item(_list_value(element), at))
                else:  # an item of a list value being executed
                    context.stack.append(Item(element, at))
        finally:
            context.depth -= 1

    def execute_word(self, token: Token, context: Context, position: int) -> None:
        word = self.words.get(token.value)
        if word is None:
            raise StackLangError(f"unknown word ':{token.value}' at position {position}", position)
        try:
            if word.raw is not None:
                word.raw(context, Token(token.text, position, "word"))
            elif word.body:
                self.execute(self._macro(word), context, position)
            else:
                self._overloaded(word, context, position)
        except WordError as error:
            raise StackLangError(f"':{word.name}' at position {position}: {error}", position) from None

    def _macro(self, word: Word) -> list[Token | ListLiteral]:
        if word.name not in self._macros:
            self._macros[word.name] = assemble(tokenize(word.body))
        return self._macros[word.name]

    def _overloaded(self, word: Word, context: Context, position: int) -> None:
        stack = context.stack
        for overload in word.overloads:
            count = len(overload.params)
            if len(stack) < count:
                continue
            items = stack[len(stack) - count :]
            values = [param.read(item) for param, item in zip(overload.params, items, strict=True)]
            if any(v is NO for v in values):
                continue
            results = overload.run(*values)
            del stack[len(stack) - count :]
            stack.extend(Item(result, position) for result in results)
            return
        deepest = max(len(o.params) for o in word.overloads)
        shown = [describe(item.value) for item in stack[-deepest:]] if deepest else []
        got = f"({', '.join(shown)})" if shown else "an empty stack"
        raise StackLangError(
            f"':{word.name}' at position {position} expects {word.signatures()} on the stack, got {got}",
            position,
        )
