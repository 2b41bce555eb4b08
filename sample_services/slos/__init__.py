"""The sample fleet's SLO definitions (OpenSLO YAML), read by ``watchfloor up``'s server."""

from __future__ import annotations

from pathlib import Path

DEMO_SLO_DIR = Path(__file__).parent
