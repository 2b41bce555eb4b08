"""Split an expression into tokens that remember where they start.

Atlas syntax (stacklang.md §2): tokens are separated by commas and trimmed of whitespace;
``/* … */`` comments (which nest) are removed first; ``(`` and ``)`` alone are list
brackets; a token starting with ``:`` is a word; ``\\uXXXX`` escapes let a literal contain
``,`` ``:`` ``(`` ``)`` or leading and trailing whitespace. Escapes are decoded only in
literals, after the word check, so ``\\u003afoo`` is the string ``:foo``, not a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stacklang.errors import StackLangError

TokenKind = Literal["word", "literal", "open", "close"]
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Characters that cannot appear raw anywhere in a literal; whitespace only at its edges.
_ALWAYS_ESCAPED = {",", ":"}


@dataclass(frozen=True)
class Token:
    text: str  # as written, trimmed, comments removed
    position: int  # offset of its first character in the expression
    kind: TokenKind

    @property
    def value(self) -> str:
        """A literal's string (escapes decoded); a word's name without the colon."""
        if self.kind == "word":
            return self.text[1:]
        return unescape(self.text) if self.kind == "literal" else self.text


def unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def escape(value: str) -> str:
    """The literal token that reads back as ``value`` (the inverse of :func:`unescape`)."""
    if value in ("(", ")"):
        return f"\\u{ord(value):04x}"
    stripped = value.strip()
    lead = len(value) - len(value.lstrip())
    tail = len(value) - len(value.rstrip()) if stripped else 0
    out = []
    for n, char in enumerate(value):
        edge = n < lead or n >= len(value) - tail
        special = char in _ALWAYS_ESCAPED or (char.isspace() and (edge or char != " "))
        # A backslash that would read as the start of an escape is itself escaped.
        special = special or (char == "\\" and _ESCAPE.match(value, n) is not None)
        special = special or (char == "/" and value.startswith("/*", n))
        out.append(f"\\u{ord(char):04x}" if special else char)
    return "".join(out)


def _strip_comments(expression: str) -> list[tuple[str, int]]:
    """The characters outside comments, each with its offset."""
    kept: list[tuple[str, int]] = []
    depth, opened, i, n = 0, 0, 0, len(expression)
    while i < n:
        pair = expression[i : i + 2]
        if pair == "/*":
            if depth == 0:
                opened = i
            depth += 1
            i += 2
        elif pair == "*/" and depth > 0:
            depth -= 1
            i += 2
        else:
            if depth == 0:
                kept.append((expression[i], i))
            i += 1
    if depth:
        raise StackLangError(f"unclosed comment at position {opened}", opened)
    return kept


def tokenize(expression: str) -> list[Token]:
    """Tokens in order; raises :class:`StackLangError` for an unclosed comment."""
    tokens: list[Token] = []
    piece: list[tuple[str, int]] = []
    for char, offset in [*_strip_comments(expression), (",", len(expression))]:
        if char != ",":
            piece.append((char, offset))
            continue
        text = "".join(c for c, _ in piece)
        lead = len(text) - len(text.lstrip())
        text = text.strip()
        if text:
            position = piece[lead][1]
            kind: TokenKind = "literal"
            if text == "(":
                kind = "open"
            elif text == ")":
                kind = "close"
            elif text.startswith(":"):
                kind = "word"
            tokens.append(Token(text, position, kind))
        piece = []
    return tokens
