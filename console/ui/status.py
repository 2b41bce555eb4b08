"""The console's status page (Streamlit): ingest figures, scrape targets, recent errors and slow spans.

Run by ``watchfloor console`` / ``watchfloor up``; reads the server named by
``WATCHFLOOR_SERVER_URL``. Text that came from services (log messages, span names, errors)
is only ever shown inside tables, never as Markdown or HTML.
"""

from __future__ import annotations

import os

import streamlit as st

from console.ui.status_data import fetch_status, log_rows, span_rows, target_rows

SERVER_URL = os.environ.get("WATCHFLOOR_SERVER_URL", "http://127.0.0.1:7070")
REFRESH_S = 5

st.set_page_config(page_title="Watchfloor", layout="wide")
st.title("Watchfloor")
st.caption("Ingest status. The full console arrives page by page; this page refreshes every 5 s.")


@st.fragment(run_every=REFRESH_S)
def status_panel() -> None:
    status = fetch_status(SERVER_URL)
    st.text(f"server {status.url}")
    if status.error is not None:
        st.error("The server cannot be reached.")
        st.code(status.error, language=None)
        return
    columns = st.columns(len(status.ingest) + 3)
    for column, (caption, value) in zip(columns, status.ingest.items(), strict=False):
        column.metric(caption, f"{value:,.0f}")
    up = sum(1 for t in status.targets if t["health"] == "up")
    columns[-3].metric("targets up", f"{up} / {len(status.targets)}")
    columns[-2].metric("write queue", f"{status.queue_depth:,.0f}")
    columns[-1].metric("refused (queue full)", f"{status.refused:,.0f}")

    st.subheader("Scrape targets")
    st.dataframe(target_rows(status), hide_index=True)
    st.subheader("Error logs, last 15 minutes")
    st.dataframe(log_rows(status), hide_index=True)
    st.subheader("Slowest spans, last 15 minutes")
    st.dataframe(span_rows(status), hide_index=True)


status_panel()
