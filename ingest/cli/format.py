"""Formatting shared by the CLI commands."""

from __future__ import annotations

from datetime import datetime


def fmt_time(value: datetime | None) -> str:
    """A timestamp in a table or a line: `YYYY-MM-DD HH:MM` as stored (UTC), '-' for none."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"
