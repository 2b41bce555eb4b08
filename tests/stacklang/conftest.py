"""Fixtures: the spec's datasets in real DuckDB stores, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from store.duckdb_store import DuckDBStore
from tests.stacklang.support import DOCS_DATASET, TUTORIAL_DATASET, open_store


@pytest.fixture
def docs_store(tmp_path) -> Iterator[DuckDBStore]:
    store = open_store(tmp_path / "docs.duckdb", DOCS_DATASET)
    yield store
    store.close()


@pytest.fixture
def tutorial_store(tmp_path) -> Iterator[DuckDBStore]:
    store = open_store(tmp_path / "tutorial.duckdb", TUTORIAL_DATASET)
    yield store
    store.close()
