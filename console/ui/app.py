"""The console's entry file: ``streamlit run console/ui/app.py`` (``watchfloor console`` does it).

One ``st.navigation`` over the pages of ``console/ui/pages.py``, grouped by what the
on-call engineer is doing; each page is a script under ``views/``.
"""

from __future__ import annotations

import streamlit as st

from console.ui.pages import OVERVIEW, PAGES

st.set_page_config(page_title="Watchfloor", page_icon=":material/visibility:", layout="wide")

sections: dict[str, list[st.Page]] = {}
for spec in PAGES:
    sections.setdefault(spec.section, []).append(
        st.Page(
            spec.script, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec is OVERVIEW
        )
    )
st.navigation(sections).run()
