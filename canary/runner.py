"""Runs canary analyses in the background and keeps every one in the store.

Each analysis is written to the store's ``documents`` table (kind ``canary_analysis``)
when it is submitted and after every judgement, so a restart finds it: a finished one is
reported as it was, an unfinished one resumes with its next judgement (one that was
running when the server stopped is made again; judging only reads). One worker makes the
judgements in due order, off the event loop.

Listeners hear of every analysis that finishes (the PagerDuty change-event hook).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from canary.analysis import EARLY_STOP, Analysis, Judgement, final_result, judgement_warnings
from canary.config import CanaryConfig, load_canary_config
from canary.execution import JudgementFailed, run_judgement
from canary.metric_source import MetricSource
from store.duckdb_documents import Document, DocumentsMixin

__all__ = ["DOCUMENT_KIND", "CanaryRunner"]

DOCUMENT_KIND = "canary_analysis"
_log = logging.getLogger("watchfloor.canary")
Listener = Callable[[Analysis], None]


def _load(document: Document) -> Analysis | None:
    """The analysis a stored document holds, or None (logged) when it cannot be read.

    One damaged or outdated record must not stop the server from starting or hide the others.
    """
    try:
        return Analysis.from_json(json.loads(document.body))
    except (ValueError, TypeError, KeyError, AttributeError):
        _log.exception("canary analysis %s cannot be read; left as it is", document.name)
        return None


class CanaryRunner:
    """Submitted analyses, their judgements made when due, every change persisted."""

    def __init__(
        self, store: DocumentsMixin, source: MetricSource, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._source = source
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[str, Analysis] = {}
        self._configs: dict[str, CanaryConfig] = {}
        self._listeners: list[Listener] = []
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        for document in store.documents(DOCUMENT_KIND):
            analysis = _load(document)
            if analysis is not None and not analysis.complete:
                self._active[analysis.id] = analysis
        if self._active:
            _log.info("resuming %d unfinished canary analyses", len(self._active))

    def add_listener(self, listener: Listener) -> None:
        """Called with every analysis that finishes (from the worker thread)."""
        self._listeners.append(listener)

    def submit(self, analysis: Analysis) -> None:
        """Keep ``analysis`` and make its judgements when they fall due."""
        with self._lock:
            self._save(analysis)
            self._active[analysis.id] = analysis
        if self._wake is not None and self._loop is not None:
            # Called from worker threads: an asyncio.Event may only be set on its own loop.
            self._loop.call_soon_threadsafe(self._wake.set)

    def get(self, analysis_id: str) -> Analysis | None:
        """A copy of the analysis, running or finished."""
        with self._lock:
            active = self._active.get(analysis_id)
            if active is not None:
                return Analysis.from_json(active.to_json())
        document = self._store.document(DOCUMENT_KIND, analysis_id)
        return None if document is None else _load(document)

    def recent(self, limit: int) -> list[Analysis]:
        """The newest analyses first (ids sort by creation time); unreadable ones left out."""
        documents = sorted(self._store.documents(DOCUMENT_KIND), key=lambda d: d.name, reverse=True)
        found = [_load(d) for d in documents[:limit]]
        return [a for a in found if a is not None]

    def step(self) -> float | None:
        """Make every judgement that is due; answers the seconds until the next one (None: idle)."""
        while True:
            now_ms = int(self._clock() * 1000)
            with self._lock:
                due = [
                    (j.due_ms, a.id)
                    for a in self._active.values()
                    if (j := a.next_judgement()) is not None and j.due_ms <= now_ms
                ]
                waiting = [j.due_ms for a in self._active.values() if (j := a.next_judgement()) is not None]
            if not due:
                return None if not waiting else max(0.0, (min(waiting) - now_ms) / 1000)
            for _, analysis_id in sorted(due):
                self._advance(analysis_id)

    async def run(self) -> None:
        """The background loop: judge what is due, then sleep until the next is (or a submit)."""
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                wait = await asyncio.to_thread(self.step)
            except Exception:  # one bad analysis must not stop the others
                _log.exception("canary runner step failed")
                wait = 5.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(60.0 if wait is None else wait, 60.0))

    def _config(self, analysis: Analysis) -> CanaryConfig:
        config = self._configs.get(analysis.id)
        if config is None:
            config = self._configs[analysis.id] = load_canary_config(analysis.config)
        return config

    def _advance(self, analysis_id: str) -> None:
        with self._lock:
            analysis = self._active[analysis_id]
            judgement = analysis.next_judgement()
            if judgement is None:
                return
            judgement.status, judgement.started_ms = "RUNNING", int(self._clock() * 1000)
            self._save(analysis)
        outcome = self._judge(analysis, judgement)
        with self._lock:
            self._finish_judgement(analysis, judgement, outcome)
            self._save(analysis)
            if analysis.complete:
                del self._active[analysis_id]
                self._configs.pop(analysis_id, None)
        if analysis.complete:
            _log.info(
                "canary analysis %s finished: %s",
                analysis.id,
                (analysis.result or {}).get("canaryScoreMessage"),
            )
            for listener in self._listeners:
                try:
                    listener(Analysis.from_json(analysis.to_json()))
                except Exception:  # a listener's failure must not undo the analysis
                    _log.exception("a canary listener failed for %s", analysis.id)

    def _judge(self, analysis: Analysis, judgement: Judgement) -> dict[str, Any]:
        """The judgement's outcome as fields to set; made outside the lock, set inside it."""
        try:
            config = self._config(analysis)
            result = run_judgement(config, judgement.scopes, analysis.thresholds, self._source)
        except JudgementFailed as exc:
            return {"status": "TERMINAL", "exception": str(exc)}
        except Exception as exc:  # reported on the analysis rather than lost in a log
            _log.exception("canary judgement %s failed", judgement.execution_id)
            return {"status": "TERMINAL", "exception": f"judgement failed: {type(exc).__name__}: {exc}"}
        return {
            "status": "SUCCEEDED",
            "result": result,
            "score": float(result["judgeResult"]["score"]["score"]),
            "warnings": judgement_warnings(result),
        }

    def _finish_judgement(self, analysis: Analysis, judgement: Judgement, outcome: dict[str, Any]) -> None:
        for name, value in outcome.items():
            setattr(judgement, name, value)
        judgement.ended_ms = int(self._clock() * 1000)
        stop = judgement.status == "TERMINAL"
        # Kayenta's early stop: the judgement itself succeeded; its run stage, and with it the
        # analysis, ends TERMINAL with this message.
        marginal = analysis.thresholds.marginal
        if analysis.kind == "standalone" and judgement.score is not None and judgement.score <= marginal:
            judgement.message, stop = EARLY_STOP, True
        if stop:
            analysis.status = "TERMINAL"
        elif all(j.status == "SUCCEEDED" for j in analysis.judgements):
            analysis.status = "SUCCEEDED"
        if analysis.complete:
            analysis.ended_ms = int(self._clock() * 1000)
            analysis.result = final_result(analysis)

    def _save(self, analysis: Analysis) -> None:
        self._store.put_document(
            DOCUMENT_KIND, analysis.id, json.dumps(analysis.to_json()), int(self._clock() * 1000)
        )
