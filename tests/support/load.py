"""Many requests at once from a thread pool, each timed on its own."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx


def timed_posts(url: str, bodies: list[dict[str, Any]], *, concurrency: int = 16) -> list[tuple[int, float]]:
    """POST each body to ``url``; answers (status, seconds) in the order of ``bodies``."""
    return timed_posts_to([(url, body) for body in bodies], concurrency=concurrency)


def timed_posts_to(
    posts: list[tuple[str, dict[str, Any]]], *, concurrency: int = 16
) -> list[tuple[int, float]]:
    """POST each (url, body); answers (status, seconds) in the order of ``posts``."""
    with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=concurrency)) as client:

        def one(post: tuple[str, dict[str, Any]]) -> tuple[int, float]:
            url, body = post
            began = time.perf_counter()
            status = client.post(url, json=body).status_code
            return status, time.perf_counter() - began

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, posts))
