"""URLs as they may be shown: credentials never leave in an answer, a log line or a metric label."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """The URL with any ``user:password@`` replaced by ``***@``; ``***`` if it cannot be read."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"***@{host}:{parts.port}" if parts.port else f"***@{host}"
    except ValueError:  # an unreadable URL (a bad port): show nothing of it
        return "***"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
