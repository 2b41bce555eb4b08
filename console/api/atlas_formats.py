"""Atlas graph outputs: ``json``/``std.json`` and ``csv``/``txt``, after Atlas's Json and Csv graph engines.

Rows are step timestamps; row ``i`` holds every series' value for the step ending at
``first + i * step``. JSON writes non-finite values as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (standard JSON, what Atlas's ``std.json`` promises);
``json`` answers the same, since unquoted NaN breaks most parsers. CSV and TXT write
``%f`` numbers and ISO 8601 timestamps with the offset of ``tz``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np

FORMATS = {
    "json": "application/json",
    "std.json": "application/json",
    "csv": "text/csv",
    "txt": "text/plain",
}


class GraphSeries(Protocol):
    @property
    def tags(self) -> Any: ...

    @property
    def label(self) -> str: ...

    @property
    def values(self) -> Any: ...


def _json_number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def graph_json(
    series: Sequence[GraphSeries], first_ms: int, step_ms: int, rows: int, notices: list[str]
) -> str:
    """``{start, step, legend, metrics, values, notices}`` with ``start`` the first row's timestamp."""
    columns = [np.asarray(s.values, dtype=np.float64) for s in series]
    values: list[list[float | str]] = []
    for row in range(rows):
        values.append([_json_number(float(column[row])) for column in columns])
    body: dict[str, Any] = {
        "start": first_ms,
        "step": step_ms,
        "legend": [s.label for s in series],
        "metrics": [dict(sorted(dict(s.tags).items())) for s in series],
        "values": values,
        "notices": notices,
    }
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def _csv_label(label: str) -> str:
    return '"' + label.replace('"', '""') + '"'


def graph_csv(
    series: Sequence[GraphSeries], first_ms: int, step_ms: int, rows: int, tz: ZoneInfo, separator: str
) -> str:
    columns = [np.asarray(s.values, dtype=np.float64) for s in series]
    lines = [separator.join(['"timestamp"', *(_csv_label(s.label) for s in series)])]
    for row in range(rows):
        moment = datetime.fromtimestamp((first_ms + row * step_ms) / 1000, tz)
        stamp = moment.isoformat().replace("+00:00", "Z") if tz.key == "UTC" else moment.isoformat()
        cells = [stamp]
        for column in columns:
            value = float(column[row])
            cells.append(f"{value:f}" if math.isfinite(value) else _json_number(value).__str__())
        lines.append(separator.join(cells))
    return "\n".join(lines) + "\n"
