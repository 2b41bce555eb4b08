"""What the receivers share about request bodies: a capped read, and text UTF-8 can hold.

:func:`read_capped` reads a request body as it streams in and stops as soon as it passes
the limit, so an oversized body (chunked, or with a lying ``Content-Length``) is refused
after ``limit + 1`` bytes rather than after it was buffered whole.

:func:`scrub_surrogates` replaces lone UTF-16 surrogates, which JSON's ``\\ud800`` escapes
decode to and UTF-8 cannot encode, with U+FFFD: such a string would otherwise fail the
store's commit (and every answer that shows it).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyTooLarge(Exception):
    """The request body is over the limit; the receiver answers 413 in its protocol's form."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is over {limit} bytes")
        self.limit = limit


async def read_capped(request: Request, limit: int) -> bytes:
    """The body of ``request``; raises BodyTooLarge once more than ``limit`` bytes are declared or read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def may_hold_surrogates(text: str | bytes) -> bool:
    """Whether JSON ``text`` has a ``\\uD800``–``\\uDFFF`` escape (a cheap test before a full scrub).

    Paired escapes (an emoji written ``\\ud83d\\ude00``) pass it too; they decode to one code
    point, so :func:`scrub_surrogates` leaves them be.
    """
    if isinstance(text, bytes):
        return b"\\ud" in text or b"\\uD" in text
    return "\\ud" in text or "\\uD" in text


def scrub_surrogates(value: Any) -> Any:
    """A decoded JSON value with each lone surrogate in its strings and keys replaced by U+FFFD.

    Raises RecursionError for values nested deeper than the interpreter's limit allows.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_SURROGATE.sub("\ufffd", k): scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_surrogates(v) for v in value]
    return value
