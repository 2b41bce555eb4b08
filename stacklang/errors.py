"""The one error of the stack language: what went wrong and where."""

from __future__ import annotations


class StackLangError(ValueError):
    """A malformed or unevaluable expression; the message names the problem and the position.

    ``position`` is the character offset of the token at fault in the expression text, or
    None when no single token is (an evaluation limit, say).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class WordError(Exception):
    """Raised by a word's implementation; the interpreter adds the word's name and position."""
