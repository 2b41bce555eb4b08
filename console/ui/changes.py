"""Deploys and canaries drawn on a page: the changes near a trace or log lines, and a changes table.

A canary opens its analysis on the Canary page; a deploy or other annotation opens its
service's page on the hour around it, where the charts show the change against the traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from console.ui.controls import Controls
from console.ui.data.changes import CONTEXT_MS, LOOKBACK_MS, SLACK_MS, ago_text, change_rows, latest_before
from console.ui.frame import fetch, jump, url_of
from console.ui.pages import CANARY, SERVICE, PageSpec
from console.ui.safe import plain

ANALYSES_READ = 100  # the newest analyses looked through (the list is newest first)


def _target(row: Mapping[str, Any]) -> tuple[PageSpec, dict[str, Any]]:
    """Where a change opens: its analysis, or its service around the moment it happened."""
    if row["analysis"]:
        return CANARY, {"analysis": row["analysis"]}
    at = int(row["time_ms"])
    return SERVICE, {"service": row["service"], "from": str(at - CONTEXT_MS), "to": str(at + CONTEXT_MS)}


def read_changes(services: Iterable[str] | None, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """The changes of ``services`` (None: of every service) in the range, newest first; what the
    server cannot say is left out (the read shows why)."""
    # One annotation read for all: the API filters one service at a time.
    annotations = fetch("annotations", start=start_ms, end=end_ms, limit=1000)
    analyses = fetch("canary_analyses", limit=ANALYSES_READ)
    return change_rows(
        (annotations or {}).get("annotations", []),
        (analyses or {}).get("analyses", []),
        services,
        start_ms,
        end_ms,
    )


def changes_near(controls: Controls, services: Sequence[str], at_ms: int) -> None:
    """One link per service to its latest deploy or canary before ``at_ms`` (the last hop of a chase)."""
    rows = read_changes(services, at_ms - LOOKBACK_MS, at_ms + SLACK_MS)
    latest = latest_before(rows, at_ms)
    if not latest:
        names = ", ".join(sorted(set(services)))
        st.caption(plain(f"No deploy or canary of {names} in the 24 hours before."))
        return
    st.caption("The latest change of each service before this:")
    for column, row in zip(st.columns(len(latest)), latest, strict=True):
        page, state = _target(row)
        # Short enough for a column: kind, service, version or verdict, when; the rest on hover.
        label = f"{row['kind']} {row['service']} {row['version']}".strip()
        label += f" · {ago_text(row['time_ms'], at_ms)}"
        with column:
            icon = ":material/compare_arrows:" if row["analysis"] else ":material/rocket_launch:"
            jump(controls, page, label, icon=icon, hint=row["what"], **state)


def changes_table(controls: Controls, rows: Sequence[Mapping[str, Any]], *, key: str) -> None:
    """Changes as a table, each with a link to its analysis or its service around it."""
    if not rows:
        st.caption("No deploys, changes or canary analyses in the range.")
        return
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime([r["time_ms"] for r in rows], unit="ms", utc=True),
            "kind": [r["kind"] for r in rows],
            "service": [r["service"] for r in rows],
            "what": [r["what"] for r in rows],
            "open": [url_of(controls, page, **state) for page, state in map(_target, rows)],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "time": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss"),
            "what": st.column_config.TextColumn("what", width="large"),
            "open": st.column_config.LinkColumn("open", display_text="open"),
        },
        key=key,
    )
