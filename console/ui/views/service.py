"""Placeholder until the page is built (issue 9)."""

from __future__ import annotations

from console.ui.frame import start
from console.ui.pages import SERVICE

controls = start(SERVICE)
