"""The console's ingest status page: ingest figures, scrape targets, recent errors and slow spans.

Run by ``watchfloor console`` / ``watchfloor up``; reads the server named by
``WATCHFLOOR_SERVER_URL``. Text that came from services (log messages, span names, errors)
is only ever shown inside tables, never as Markdown or HTML.
"""

from __future__ import annotations

import streamlit as st

from console.ui.frame import start
from console.ui.pages import STATUS
from console.ui.session import server_url
from console.ui.status_data import fetch_status, log_rows, span_rows, target_rows

controls = start(STATUS)
st.caption("What the server takes in: ingest figures, scrape targets, recent errors and slow spans.")


@st.fragment(run_every=controls.refresh_s)
def status_panel() -> None:
    status = fetch_status(server_url())
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
