"""Stored canary configs (Kayenta's ``/canaryConfig``), kept in the store's ``documents`` table.

Kayenta's rules: a config needs a name of letters, digits, ``-`` and ``_`` and at least one
application; its id is the body's ``id`` or a new UUID; creating an id that exists, or
updating one that does not, is refused; two configs sharing an application may not share
a name. Every config is validated as the judge would read it before it is kept.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from canary.config import ConfigError, load_canary_config
from canary.scopes import iso
from store.duckdb_documents import DocumentsMixin

__all__ = ["CONFIG_KIND", "ConfigConflict", "ConfigStore"]

CONFIG_KIND = "canary_config"
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class ConfigConflict(ValueError):
    """A create or update Kayenta refuses (it exists, it does not, the name is taken)."""


def _check(raw: object) -> dict[str, Any]:
    """The config as a dict, or ConfigError listing every problem, the judge's and Kayenta's."""
    problems: list[tuple[str, str]] = []
    try:
        load_canary_config(raw)
    except ConfigError as exc:
        if not isinstance(raw, dict):
            raise
        problems += exc.problems
    assert isinstance(raw, dict)
    name = raw.get("name")
    if isinstance(name, str) and name.strip() and not _NAME.fullmatch(name):
        problems.append(("name", "must contain only letters, numbers, dashes (-) and underscores (_)"))
    applications = raw.get("applications")
    if (
        not isinstance(applications, list)
        or not applications
        or not all(isinstance(a, str) and a for a in applications)
    ):
        problems.append(("applications", "a stored config must name at least one application"))
    if problems:
        raise ConfigError(problems)
    return dict(raw)


class ConfigStore:
    """Create, read, update and delete canary configs by id."""

    def __init__(self, store: DocumentsMixin, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()  # check-then-write must not interleave

    def get(self, config_id: str) -> dict[str, Any] | None:
        document = self._store.document(CONFIG_KIND, config_id)
        return None if document is None else dict(json.loads(document.body))

    def list(self, applications: Iterable[str] = ()) -> list[dict[str, Any]]:
        """``{id, name, updatedTimestamp, updatedTimestampIso, applications}`` per config."""
        wanted = set(applications)
        found = []
        for document in self._store.documents(CONFIG_KIND):
            config = json.loads(document.body)
            if wanted and not wanted & set(config.get("applications", [])):
                continue
            found.append(
                {
                    "id": document.name,
                    "name": config.get("name"),
                    "updatedTimestamp": config.get("updatedTimestamp"),
                    "updatedTimestampIso": config.get("updatedTimestampIso"),
                    "applications": config.get("applications", []),
                }
            )
        return found

    def create(self, raw: object) -> str:
        config = _check(raw)
        config_id = config.get("id") or str(uuid.uuid4())
        if not isinstance(config_id, str) or not _ID.fullmatch(config_id):
            raise ConfigError([("id", "expected 1 to 128 letters, digits, '.', '-' or '_'")])
        with self._lock:
            if self._store.document(CONFIG_KIND, config_id) is not None:
                raise ConfigConflict(f"Canary config '{config_id}' already exists.")
            self._name_free(config, config_id)
            now = int(self._clock() * 1000)
            created = config.get("createdTimestamp")
            created = created if isinstance(created, int) and not isinstance(created, bool) else now
            self._write(config_id, config, created, now)
        return config_id

    def update(self, config_id: str, raw: object) -> str:
        config = _check(raw)
        with self._lock:
            existing = self.get(config_id)
            if existing is None:
                raise ConfigConflict(f"Canary config '{config_id}' does not exist.")
            self._name_free(config, config_id)
            created = existing.get("createdTimestamp", int(self._clock() * 1000))
            self._write(
                config_id, {**config, "id": config.get("id") or config_id}, created, int(self._clock() * 1000)
            )
        return config_id

    def delete(self, config_id: str) -> bool:
        with self._lock:
            return self._store.delete_document(CONFIG_KIND, config_id)

    def _name_free(self, config: dict[str, Any], config_id: str) -> None:
        apps = set(config.get("applications", []))
        for other in self.list(apps):
            if other["id"] != config_id and other["name"] == config["name"]:
                raise ConfigConflict(
                    f"Canary config with name '{config['name']}' already exists in the scope of applications "
                    f"{sorted(apps)}."
                )

    def _write(self, config_id: str, config: dict[str, Any], created: int, updated: int) -> None:
        stored = {
            **config,
            "id": config.get("id") or config_id,
            "createdTimestamp": created,
            "createdTimestampIso": iso(created),
            "updatedTimestamp": updated,
            "updatedTimestampIso": iso(updated),
        }
        self._store.put_document(CONFIG_KIND, config_id, json.dumps(stored), updated)
