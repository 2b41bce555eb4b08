"""Showing text that came from outside (services, alerts, users) as exactly that text.

Streamlit renders Markdown in ``st.warning``, ``st.caption``, labels and the like, and
never HTML unless asked. Text from services goes into ``st.text``, ``st.code`` or
dataframes, which show it literally; when such text must sit inside a Markdown-rendering
element (an error's reason quoting a bad value, a page title naming a service), it goes
through :func:`plain` first, which backslash-escapes every ASCII punctuation character —
CommonMark shows any escaped punctuation literally, so nothing in it can become markup.
"""

from __future__ import annotations

import string

# CommonMark: "Any ASCII punctuation character may be backslash-escaped". Newlines become
# spaces so a value cannot open a block (heading, list, code fence) on a line of its own.
_ESCAPES = {ord(c): "\\" + c for c in string.punctuation} | {ord("\n"): " ", ord("\r"): " "}


def plain(text: object) -> str:
    """``text`` escaped so Streamlit's Markdown shows it character for character."""
    return str(text).translate(_ESCAPES)


def problem_lines(problems: list[tuple[str, str]]) -> str:
    """``field: reason`` per problem, escaped, one per line (Markdown line breaks)."""
    return "  \n".join(f"{plain(field)}: {plain(reason)}" for field, reason in problems)
