"""What the console page tests share: the test window, the API's answers, tables and charts of a run."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pandas as pd


def window(world: Any) -> dict[str, str]:
    """An absolute range around the seeded half hour, so the page and the test ask for the same window."""
    return {"from": str(world.now_ms - 3_600_000), "to": str(world.now_ms + 60_000)}


def api(url: str, path: str, **params: Any) -> Any:
    """The server's JSON answer (raising on a refusal)."""
    answer = httpx.get(f"{url}{path}", params=params)
    answer.raise_for_status()
    return answer.json()


def table(page: Any, column: str) -> pd.DataFrame:
    """The one dataframe of the run with ``column`` (display tables carry no key in AppTest)."""
    found = [d.value for d in page.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in page.dataframe]
    return found[0]


def charts(page: Any) -> dict[str, Any]:
    """Title → the figure JSON of every plotly chart of the run."""
    found = {}
    for chart in page.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        found[spec["layout"]["title"]["text"]] = spec
    return found


def query_of(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))


def none(value: Any) -> Any:
    """A table cell with NaN/NaT as None."""
    return None if pd.isna(value) else value
