"""The SLO definitions a server knows: files of the configured folder, and those put through the API.

Folder files are read once at start (like Prometheus rule files: a broken file stops the
start, naming the file). Definitions put through the API are stored in the store's
``documents`` table (kind ``slo``), one OpenSLO text per SLO name, and survive restarts.
A text may carry the SLI, Service and alerting documents its SLO needs beside it; its
references may also point at any other definition. Files are read-only through the API,
as provisioned dashboards are in Grafana.

A put is validated against everything else first and changes nothing when refused.
A stored text that no longer validates after a restart (a file it referred to has gone)
is kept and listed with its problems rather than dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from slo.model import SLO
from slo.openslo import Catalog, load_catalog
from slo.problems import Problem, ValidationError, load_yaml_documents

__all__ = [
    "Definition",
    "DefinitionConflict",
    "DocumentStore",
    "SLORegistry",
    "load_files",
    "load_folder",
]

KIND = "slo"
_log = logging.getLogger("watchfloor.slo")


class DocumentStore(Protocol):
    """What the registry needs of the store (:class:`store.duckdb_documents.DocumentsMixin`)."""

    def put_document(self, kind: str, name: str, body: str, updated_ms: int) -> None: ...

    def delete_document(self, kind: str, name: str) -> bool: ...

    def documents(self, kind: str) -> Sequence[_StoredDocument]: ...


class _StoredDocument(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def body(self) -> str: ...

    @property
    def updated_ms(self) -> int: ...


class DefinitionConflict(Exception):
    """A change that cannot be made (a file's SLO, one a composite uses): HTTP 409."""


@dataclass(frozen=True, slots=True)
class Definition:
    """One SLO as defined: ``slo`` is None when its stored text no longer validates."""

    name: str
    source: str  # "file:<path>" or "api"
    text: str
    catalog: Catalog
    slo: SLO | None
    updated_ms: int | None = None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def read_only(self) -> bool:
        """Definitions from files change only by editing the file."""
        return self.source != "api"


def _owners(texts: dict[Path, str]) -> tuple[dict[str, Path], list[Problem]]:
    """Which file each document label (``kind/name``, ``document N``) of the joined text comes from."""
    owners: dict[str, Path] = {}
    problems: list[Problem] = []
    index = 0
    for path, text in texts.items():
        try:
            docs = load_yaml_documents(text, path.name)
        except ValidationError as exc:
            problems.extend(exc.problems)
            continue
        for doc in docs:
            index += 1
            owners[f"document {index}"] = path
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if (
                isinstance(meta, dict)
                and isinstance(doc.get("kind"), str)
                and isinstance(meta.get("name"), str)
            ):
                owners[f"{doc['kind']}/{meta['name']}"] = path
    return owners, problems


def load_folder(folder: Path) -> list[Definition]:
    """Every ``*.yaml``/``*.yml`` file of ``folder`` (see :func:`load_files`)."""
    return load_files(sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))


def load_files(files: Sequence[Path]) -> list[Definition]:
    """The SLOs of ``files``, read as one set of documents: references may cross files.

    Raises :class:`ValidationError` whose problems name the file; OSError when one cannot be read.
    """
    texts: dict[Path, str] = {}
    unreadable = []
    for path in files:
        try:
            texts[path] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            unreadable.append(Problem(path.name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
    owners, problems = _owners(texts)
    problems = unreadable + problems
    if problems:
        raise ValidationError(problems)
    try:
        catalog = load_catalog("\n---\n".join(texts.values()))
    except ValidationError as exc:
        raise ValidationError(
            [
                Problem(
                    f"{owners[p.document].name}: {p.document}" if p.document in owners else p.document,
                    p.path,
                    p.reason,
                )
                for p in exc.problems
            ]
        ) from exc
    return [
        Definition(
            slo.name, f"file:{owners[f'SLO/{slo.name}']}", texts[owners[f"SLO/{slo.name}"]], catalog, slo
        )
        for slo in catalog.slos
    ]


class SLORegistry:
    """The folder's definitions and the API's, by SLO name; thread-safe."""

    def __init__(
        self, store: DocumentStore, files: Sequence[Definition] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._by_name: dict[str, Definition] = {d.name: d for d in files}
        self._load_stored()

    def _load_stored(self) -> None:
        stored = []
        for document in self._store.documents(KIND):
            if document.name in self._by_name:  # a file now defines it: the file wins, the text stays
                _log.warning(
                    "SLO %s put through the API is shadowed by %s",
                    document.name,
                    self._by_name[document.name].source,
                )
            else:
                stored.append(document)
        # Plain SLOs first, so composites stored through the API find their components.
        for pending in (False, True):
            for document in stored:
                if ("composite:" in document.body) != pending:
                    continue
                self._by_name[document.name] = self._revalidate(
                    document.name, document.body, document.updated_ms
                )

    def _revalidate(self, name: str, text: str, updated_ms: int) -> Definition:
        try:
            catalog = load_catalog(text, context=self._context(excluding=name))
        except ValidationError as exc:
            return Definition(name, "api", text, Catalog(), None, updated_ms, exc.problems)
        slo = next((s for s in catalog.slos if s.name == name), None)
        return Definition(name, "api", text, catalog, slo, updated_ms)

    def _context(self, excluding: str) -> Catalog:
        # File definitions share one catalog (the folder's): merge each catalog once.
        catalogs = {id(d.catalog): d.catalog for n, d in self._by_name.items() if n != excluding}
        merged = Catalog()
        for catalog in catalogs.values():
            merged = merged.merged(catalog)
        return merged

    def definitions(self) -> list[Definition]:
        """Every definition, by name."""
        with self._lock:
            return [self._by_name[n] for n in sorted(self._by_name)]

    def get(self, name: str) -> Definition | None:
        with self._lock:
            return self._by_name.get(name)

    def slo(self, name: str) -> SLO | None:
        """The valid SLO named ``name`` (composites resolve their components with this)."""
        found = self.get(name)
        return None if found is None else found.slo

    def validate(self, name: str, text: str) -> Catalog:
        """The catalog of ``text`` if it may become the definition of ``name``; else raises.

        Raises :class:`ValidationError` (400) or :class:`DefinitionConflict` (409).
        """
        with self._lock:
            current = self._by_name.get(name)
            if current is not None and current.read_only:
                raise DefinitionConflict(f"SLO {name!r} is defined in {current.source[5:]}; edit that file")
            context = self._context(excluding=name)
        catalog = load_catalog(text, context=context)
        problems = _shape_problems(name, catalog, context)
        if problems:
            raise ValidationError(problems)
        return catalog

    def put(self, name: str, text: str) -> Definition:
        """Validate ``text`` and make it the definition of ``name``; nothing changes when refused."""
        catalog = self.validate(name, text)
        updated = int(self._clock() * 1000)
        slo = next(s for s in catalog.slos if s.name == name)
        definition = Definition(name, "api", text, catalog, slo, updated)
        with self._lock:
            self._store.put_document(KIND, name, text, updated)
            self._by_name[name] = definition
        return definition

    def delete(self, name: str) -> bool:
        """Remove the API definition ``name``; False when there is none."""
        with self._lock:
            current = self._by_name.get(name)
            if current is None:
                return False
            if current.read_only:
                raise DefinitionConflict(f"SLO {name!r} is defined in {current.source[5:]}; remove it there")
            users = sorted(
                n
                for n, d in self._by_name.items()
                if d.slo is not None and name in {c.slo for c in d.slo.components}
            )
            if users:
                raise DefinitionConflict(f"SLO {name!r} is a component of {', '.join(users)}")
            self._store.delete_document(KIND, name)
            del self._by_name[name]
        return True


def _shape_problems(name: str, catalog: Catalog, context: Catalog) -> list[Problem]:
    """A put carries exactly the SLO it names, and no document another definition already has."""
    problems = []
    names = [s.name for s in catalog.slos]
    if names != [name]:
        found = ", ".join(names) or "none"
        problems.append(Problem("document", "", f"expected exactly one SLO, named {name!r}; found {found}"))
    taken = {(type(i).__name__, getattr(i, "name", "")) for i in context.everything()}
    for item in catalog.everything():
        kind, item_name = type(item).__name__, getattr(item, "name", "")
        if kind != "SLO" and (kind, item_name) in taken:
            problems.append(
                Problem(f"{kind}/{item_name}", "metadata.name", "another definition already has it")
            )
    return problems
