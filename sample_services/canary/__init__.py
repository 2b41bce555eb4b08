"""The sample fleet's canary config (Kayenta JSON): DRM's canary judged against its baseline."""

from __future__ import annotations

from pathlib import Path

DRM_CANARY_CONFIG = Path(__file__).parent / "drm.json"
