"""A seeded server shared by the console page tests, and the console pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from console.settings import SERVER_URL_ENV
from console.ui.session import TOKEN_ENV, reset
from tests.support.console_seed import TOKEN, World, seed_world

APP = str(Path(__file__).parents[3] / "console" / "ui" / "app.py")


@pytest.fixture(scope="package")
def world(tmp_path_factory) -> Iterator[World]:
    world = seed_world(tmp_path_factory.mktemp("console-world"))
    yield world
    world.stop()


@pytest.fixture
def console(world, monkeypatch):
    """``open(page_script, **query)`` → an AppTest run of that page of the console, against the world."""
    monkeypatch.setenv(SERVER_URL_ENV, world.url)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    reset()

    def open_page(script: str, **query: str | list[str]) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=30)
        app.query_params.update(query)
        app.run()
        if script != "views/overview.py":
            app.switch_page(script)
            app.query_params.update(query)
            app.run()
        return app

    yield open_page
    reset()
