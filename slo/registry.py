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
from collections.abc import Callable, Mapping, Sequence
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
    file: Path | None  # None: put through the API
    text: str
    catalog: Catalog
    slo: SLO | None
    updated_ms: int | None = None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def read_only(self) -> bool:
        """Definitions from files change only by editing the file."""
        return self.file is not None

    @property
    def source(self) -> str:
        """``api`` or ``file:<path>``."""
        return "api" if self.file is None else f"file:{self.file}"


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
    files_of = {slo.name: owners[f"SLO/{slo.name}"] for slo in catalog.slos}
    return [
        Definition(slo.name, files_of[slo.name], texts[files_of[slo.name]], catalog, slo)
        for slo in catalog.slos
    ]


def _context(definitions: Mapping[str, Definition], excluding: str) -> Catalog:
    """Every document of ``definitions`` but ``excluding``'s, each catalog merged once."""
    # File definitions share one catalog (the folder's).
    catalogs = {id(d.catalog): d.catalog for n, d in definitions.items() if n != excluding}
    merged = Catalog()
    for catalog in catalogs.values():
        merged = merged.merged(catalog)
    return merged


def _validated(
    definitions: Mapping[str, Definition], name: str, text: str, updated_ms: int | None
) -> Definition:
    """``text`` as the API definition ``name`` among ``definitions`` (with its problems if any)."""
    try:
        catalog = load_catalog(text, context=_context(definitions, name))
    except ValidationError as exc:
        return Definition(name, None, text, Catalog(), None, updated_ms, exc.problems)
    slo = next((s for s in catalog.slos if s.name == name), None)
    return Definition(name, None, text, catalog, slo, updated_ms)


class SLORegistry:
    """The folder's definitions and the API's, by SLO name; thread-safe.

    A change that would break another definition (a component made composite, an SLI
    another SLO refers to removed) is refused naming who depends on it; an accepted change
    re-resolves the definitions that refer to it, so they use the new documents at once.
    """

    def __init__(
        self, store: DocumentStore, files: Sequence[Definition] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._by_name: dict[str, Definition] = {d.name: d for d in files}
        self._load_stored()

    def _load_stored(self) -> None:
        pending = []
        for document in self._store.documents(KIND):
            if document.name in self._by_name:  # a file now defines it: the file wins, the text stays
                shadow = self._by_name[document.name].source
                _log.warning("SLO %s put through the API is shadowed by %s", document.name, shadow)
            else:
                pending.append(document)
        # Texts may refer to each other in any order: load what resolves until nothing more does.
        progress = True
        while pending and progress:
            progress = False
            for document in list(pending):
                loaded = _validated(self._by_name, document.name, document.body, document.updated_ms)
                if loaded.slo is not None:
                    self._by_name[document.name] = loaded
                    pending.remove(document)
                    progress = True
        for document in pending:  # kept and listed with their problems, never dropped
            self._by_name[document.name] = _validated(
                self._by_name, document.name, document.body, document.updated_ms
            )

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

    def _writable(self, name: str, verb: str) -> Definition | None:
        current = self._by_name.get(name)
        if current is not None and current.read_only:
            raise DefinitionConflict(f"SLO {name!r} is defined in {current.file}; {verb}")
        return current

    def _with_dependents(self, proposed: dict[str, Definition], changed: str) -> dict[str, Definition]:
        """``proposed`` with every other API definition re-resolved in it; raises if one breaks."""
        broken = []
        for name, definition in list(proposed.items()):
            if name == changed or definition.read_only or definition.slo is None:
                continue
            again = _validated(proposed, name, definition.text, definition.updated_ms)
            if again.slo is None:
                broken.append(f"{name} ({'; '.join(str(p) for p in again.problems)})")
            proposed[name] = again
        if broken:
            raise DefinitionConflict(f"the change to {changed!r} would break {', '.join(broken)}")
        return proposed

    def put(self, name: str, text: str) -> Definition:
        """Validate ``text`` and make it the definition of ``name``; nothing changes when refused.

        Raises :class:`ValidationError` (400) or :class:`DefinitionConflict` (409).
        """
        with self._lock:  # validated against exactly what it will join
            self._writable(name, "edit that file")
            context = _context(self._by_name, name)
            catalog = load_catalog(text, context=context)
            problems = _shape_problems(name, catalog, context)
            if problems:
                raise ValidationError(problems)
            updated = int(self._clock() * 1000)
            slo = next(s for s in catalog.slos if s.name == name)
            definition = Definition(name, None, text, catalog, slo, updated)
            proposed = self._with_dependents({**self._by_name, name: definition}, name)
            self._store.put_document(KIND, name, text, updated)
            self._by_name = proposed
        return definition

    def delete(self, name: str) -> bool:
        """Remove the API definition ``name``; False when there is none."""
        with self._lock:
            if self._writable(name, "remove it there") is None:
                return False
            proposed = {n: d for n, d in self._by_name.items() if n != name}
            proposed = self._with_dependents(proposed, name)
            self._store.delete_document(KIND, name)
            self._by_name = proposed
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
