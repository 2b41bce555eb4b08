"""A page's state: in the URL for links, in ``st.session_state`` for widgets, kept in step.

Every field of a page's schema (and the shared ``COMMON`` ones) lives in
``st.session_state[key]``; widgets bound to a field use that key and nothing else (no
``value=``/``index=``), so the session state is the widget's value. On each run
:func:`open_page` decides where the state comes from:

* the query string differs from what this session last wrote → somebody arrived by a link
  (or edited the URL): the URL is the state — its page fields (defaults for the missing
  ones) when it names any, and the shared fields when it names any;
* otherwise the widgets are the state (a person changed one).

A page reached from the sidebar has an empty query string (Streamlit clears it on a page
switch), so its fields come back from this session's last visit and the shared ones (the
time range, refresh) follow the person from page to page. The state is then written back to
the query string with defaults left out, so the address bar can always be shared.
Streamlit forgets a widget's key when the widget is not drawn in a run, so each state is
also kept under a key no widget uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from console.ui.url_state import COMMON, Problem, Schema, decode, encode, unknown

_WRITTEN = "wf._written"


def _query() -> dict[str, str | list[str]]:
    params = st.query_params
    return {k: (vs[0] if len(vs) == 1 else vs) for k in params for vs in [params.get_all(k)]}


def _canonical(params: Mapping[str, str | list[str]] | None) -> list[tuple[str, str]]:
    """Order-free form of query parameters: ``{"a": ["x"]}`` and ``{"a": "x"}`` are the same URL."""
    return sorted((k, v) for k, vs in (params or {}).items() for v in ([vs] if isinstance(vs, str) else vs))


@dataclass
class PageState:
    """The state of one page for one run; ``values`` holds page and shared fields alike."""

    page: str
    schema: Schema
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    def key(self, name: str) -> str:
        """The session-state key of a field, for the widget bound to it."""
        scope = "common" if name in _COMMON_NAMES else self.page
        return f"wf.{scope}.{name}"

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def update(self, **changes: Any) -> None:
        """Change fields (e.g. a clicked row) and write the URL; call before the bound widget is drawn,
        or follow with ``st.rerun()``."""
        self.values.update(changes)
        for name, value in changes.items():
            st.session_state[self.key(name)] = value
        _save(self)

    def link_state(self, **changes: Any) -> dict[str, Any]:
        """This page's state with ``changes``, for ``url_state.link`` or ``st.page_link``."""
        return {**self.values, **changes}


_COMMON_NAMES = frozenset(f.name for f in COMMON.fields)


def _page_names(schema: Schema) -> list[str]:
    return [f.name for f in schema.fields if f.name not in _COMMON_NAMES]


def _save(state: PageState) -> None:
    page_only = {k: v for k, v in state.values.items() if k not in _COMMON_NAMES}
    st.session_state[f"wf.saved.{state.page}"] = page_only
    st.session_state["wf.saved.common"] = {k: state.values[k] for k in _COMMON_NAMES}
    params = encode(state.schema, state.values)
    st.query_params.from_dict(params)
    st.session_state[_WRITTEN] = params


def open_page(page: str, page_schema: Schema) -> PageState:
    """The state of ``page`` for this run (see the module docstring); writes the URL back."""
    schema = Schema.of(page_schema, COMMON)
    query = _query()
    from_url, problems = decode(schema, query)
    state = schema.defaults()
    state.update(st.session_state.get("wf.saved.common", {}))
    state.update(st.session_state.get(f"wf.saved.{page}", {}))
    arrived_by_link = _canonical(query) != _canonical(st.session_state.get(_WRITTEN))
    names_page = any(n in query for n in _page_names(schema))
    names_common = any(n in query for n in _COMMON_NAMES)
    result = PageState(page, schema, state, problems if arrived_by_link else [])
    for f in schema.fields:
        key = result.key(f.name)
        common = f.name in _COMMON_NAMES
        if arrived_by_link and (names_common if common else names_page):
            state[f.name] = from_url[f.name]
        elif key in st.session_state and _valid(schema, f.name, st.session_state[key]):
            state[f.name] = st.session_state[key]
        st.session_state[key] = state[f.name]
    stray = unknown(schema, query)
    if stray and arrived_by_link:
        result.problems.append((", ".join(sorted(stray)), "not a setting of this page; ignored"))
    _save(result)
    return result


def _valid(schema: Schema, name: str, value: Any) -> bool:
    try:
        encode(schema, {name: value})
    except ValueError:
        return False
    return True
