"""Exceptions shared by every stage. Each carries a one-line message fit for a user."""

from __future__ import annotations

from typing import Literal

# Why a download failed; the poller weighs it for backoff (`ingest.sources.poller.classify`).
FetchErrorKind = Literal["network", "timeout", "http", "too_large", "refused", "redirect", "deferred"]


class IngestError(Exception):
    """Base class: the CLI prints str(exc) as one line and exits non-zero. The text never holds a
    secret: URL credentials and registered secrets are masked (see ingest.redact)."""

    def __str__(self) -> str:
        from ingest.redact import redact

        return redact(super().__str__())


class ConfigError(IngestError):
    def __init__(self, file: str, key: str, message: str):
        self.file, self.key, self.message = file, key, message
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {message}")


class FetchError(IngestError):
    """A download failed. `kind` classifies it for backoff (`FetchErrorKind`)."""

    def __init__(self, url: str, kind: FetchErrorKind, message: str, status: int | None = None,
                 retry_after: float | None = None):
        self.url, self.kind, self.status, self.retry_after = url, kind, status, retry_after
        super().__init__(f"{url}: {message}")


class FeedParseError(IngestError):
    pass


class StoreError(IngestError):
    pass


class StoreUnavailable(StoreError):
    """The search engine cannot be reached; callers keep the data and retry later."""


class QueryError(IngestError):
    """An invalid search query; `position` is the 0-based character offset at fault, when known."""

    def __init__(self, query: str, message: str, position: int | None = None):
        self.query, self.position = query, position
        pointer = ""
        if position is not None:
            pointer = f"\n  {query}\n  {' ' * position}^"
        super().__init__(f"invalid query: {message}" + (f" at position {position}" if position is not None else "") + pointer)


def unknown_name(kind: str, name: str, known: list[str], where: str) -> IngestError:
    """'WHERE: no KIND 'x'; did you mean: a, b' — the closest candidates first, else the first few known."""
    import difflib

    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = close or sorted(known)[:5]
    more = "" if close or len(known) <= 5 else f" (and {len(known) - 5} more)"
    listed = f"; did you mean: {', '.join(hint)}{more}" if close else (
        f"; known: {', '.join(hint)}{more}" if hint else f"; there are no {kind}s yet")
    return IngestError(f"{where}: no {kind} {name!r}{listed}")
