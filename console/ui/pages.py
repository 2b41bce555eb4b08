"""The console's pages: where each script lives, its URL path and the state it keeps in the URL.

One table so any page can build a one-click link to another with that page's state
(``link_params``) and the entry file can build the navigation. The Streamlit scripts are in
``views/``; what they compute without Streamlit is in ``data/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.ui.url_state import (
    COMMON,
    Schema,
    bool_field,
    encode,
    enum_field,
    float_field,
    int_field,
    list_field,
    str_field,
)

_HEX = frozenset("0123456789abcdefABCDEF")


def is_trace_id(text: object) -> bool:
    """32 hex digits (either case): what a ``trace=`` link may carry."""
    return isinstance(text, str) and len(text) == 32 and set(text) <= _HEX


def _trace_id(text: str) -> str | None:
    return "is not a trace id (32 hex digits)" if text and not is_trace_id(text) else None


@dataclass(frozen=True)
class PageSpec:
    """A page: its script under ``console/ui/``, title, URL path, section and URL state."""

    script: str
    title: str
    url_path: str
    section: str
    icon: str
    schema: Schema


OVERVIEW = PageSpec(
    "views/overview.py", "Overview", "overview", "On call", ":material/dashboard:",
    Schema.of(enum_field("by", "cluster", ("cluster", "service"))),
)  # fmt: skip
ALERTS = PageSpec(
    "views/alerts.py", "Alerts and incidents", "alerts", "On call", ":material/notifications_active:",
    Schema.of(
        enum_field("state", "active", ("active", "firing", "pending", "resolved", "all")),
        str_field("alert", max_length=200),
    ),
)  # fmt: skip
SERVICE = PageSpec(
    "views/service.py", "Service", "service", "Investigate", ":material/hub:",
    Schema.of(
        str_field("service", max_length=200), str_field("cluster", max_length=200), bool_field("split")
    ),
)  # fmt: skip
SLOS = PageSpec(
    "views/slos.py", "SLOs", "slos", "Investigate", ":material/speed:",
    Schema.of(str_field("slo", max_length=200)),
)  # fmt: skip
METRICS = PageSpec(
    "views/metrics.py", "Metrics explorer", "metrics", "Investigate", ":material/show_chart:",
    Schema.of(str_field("q", max_length=4000), str_field("step", max_length=16)),
)  # fmt: skip
TRACES = PageSpec(
    "views/traces.py", "Traces", "traces", "Investigate", ":material/account_tree:",
    Schema.of(
        str_field("service", max_length=200),
        str_field("operation", max_length=500),
        list_field("tag", max_items=20),
        float_field("min_ms", 0.0, minimum=0.0),
        float_field("max_ms", 0.0, minimum=0.0),
        enum_field("status", "any", ("any", "ok", "error", "unset")),
        enum_field("sort", "start", ("start", "duration")),
        int_field("limit", 20, minimum=1, maximum=1000),
        str_field("trace", max_length=32, check=_trace_id),
        str_field("compare", max_length=32, check=_trace_id),
        str_field("span", max_length=16),
        enum_field("view", "search", ("search", "graph")),
    ),
)  # fmt: skip
LOGS = PageSpec(
    "views/logs.py", "Logs", "logs", "Investigate", ":material/article:",
    Schema.of(
        str_field("q", max_length=1000),
        str_field("service", max_length=200),
        list_field("level", max_items=10),
        str_field("trace", max_length=32, check=_trace_id),
        str_field("around", max_length=40),
        bool_field("live"),
    ),
)  # fmt: skip
CANARY = PageSpec(
    "views/canary.py", "Canary", "canary", "Release", ":material/compare_arrows:",
    Schema.of(str_field("analysis", max_length=200)),
)  # fmt: skip
STATUS = PageSpec(
    "views/status.py", "Ingest status", "status", "Server", ":material/dns:", Schema.of(),
)  # fmt: skip

PAGES: tuple[PageSpec, ...] = (OVERVIEW, ALERTS, SERVICE, SLOS, METRICS, TRACES, LOGS, CANARY, STATUS)


def link_params(page: PageSpec, **state: Any) -> dict[str, str | list[str]]:
    """Query parameters opening ``page`` with ``state`` (its own fields and from/to/refresh)."""
    return encode(Schema.of(page.schema, COMMON), state)
