"""Shared OpenSLO documents and helpers for the validation tests, and event arrays for the budgeting ones."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import yaml

from slo.openslo import load_catalog
from slo.problems import ValidationError

SOURCE = {"metricSource": {"type": "atlas", "spec": {"query": "name,starts,:eq,:sum"}}}
SLI_SPEC = {"ratioMetric": {"counter": True, "good": copy.deepcopy(SOURCE), "total": copy.deepcopy(SOURCE)}}
SLO_DOC: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "avail"},
    "spec": {
        "service": "playback",
        "indicator": {"metadata": {"name": "ok"}, "spec": SLI_SPEC},
        "timeWindow": [{"duration": "30d", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"target": 0.999}],
    },
}
SLI_DOC = {"apiVersion": "openslo/v1", "kind": "SLI", "metadata": {"name": "ok"}, "spec": SLI_SPEC}
MISSING = object()


def with_field(doc, path, value):
    """A copy of ``doc`` with the dotted ``path`` set to ``value`` (removed when MISSING)."""
    doc = copy.deepcopy(doc)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for part in parents:
        node = node[part]
    if value is MISSING:
        del node[last]
    else:
        node[last] = value
    return doc


def problems_of(*docs):
    with pytest.raises(ValidationError) as caught:
        load_catalog(yaml.safe_dump_all(docs))
    return caught.value.problems


# Per-step event counts for the budgeting tests: a month of 1-minute steps.
NAN = math.nan
DAY_STEPS = 1440
MONTH_STEPS = 30 * DAY_STEPS


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def constant(value: float, steps: int = MONTH_STEPS) -> np.ndarray:
    return np.full(steps, value, dtype=np.float64)


def with_outage(start: int, minutes: int) -> np.ndarray:
    """30 days of 100 good events a minute, all failing for ``minutes`` from step ``start``."""
    good = constant(100.0)
    good[start : start + minutes] = 0.0
    return good
