"""Closed sets of values shared by the application layer and its interfaces (CLI options, web and API
parameters). Literals, so a type checker catches a misspelt value; the tuples feed argparse `choices`
and messages. Imports nothing: the CLI reads these while building its parser."""

from __future__ import annotations

from typing import Literal, get_args

SortOrder = Literal["relevance", "date"]
SORT_ORDERS: tuple[str, ...] = get_args(SortOrder)

Interval = Literal["hour", "day", "week", "month"]
INTERVALS: tuple[str, ...] = get_args(Interval)

DateField = Literal["published", "indexed"]
DATE_FIELDS: tuple[str, ...] = get_args(DateField)

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)

LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)

Backend = Literal["sqlite", "elasticsearch", "opensearch"]
BACKENDS: tuple[str, ...] = get_args(Backend)
