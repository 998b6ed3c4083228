"""Date helpers shared by every backend: stored times are UTC ISO-8601 strings ending in Z."""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, so string order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def required_iso(value: str) -> datetime:
    """A stored time that is never missing (a NOT NULL column, a required document field)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
