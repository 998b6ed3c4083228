"""Secrets never shown: one registry of secret strings and one scrubber used by every output.

    from ingest.redact import register_secret, redact, redact_url
    register_secret(password)               # the Elasticsearch password, an alert channel's token ...
    redact("http://elastic:pw@es:9200")     # -> "http://***@es:9200"

Where it applies, so that a new output cannot forget it:
- every `IngestError` message (errors.py): CLI error lines, web error pages, API error bodies;
- every log record of every logger, urllib3 / elastic_transport / httpx / apprise debug lines
  included (`install()` wraps the log record factory: the message and any traceback are scrubbed
  when the record is made, before any handler or formatter sees it);
- values shown on purpose (`ingest es status`, settings echoes) go through `redact_url`.

Scrubbing removes credentials written into URLs (`scheme://user:password@host`, whatever the
scheme) and every registered secret (values of `${VAR}` substituted into alert URLs, tokens found
in their paths, the Elasticsearch password and API key).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import unquote, urlsplit

MIN_SECRET = 4          # shorter strings would mask ordinary words
MASK = "***"
USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,20}://)[^\s/?#@<>\"']*@")

_secrets: set[str] = set()
_ordered: list[str] = []
_lock = threading.Lock()
_installed = False


def register_secret(*values: str | None) -> None:
    """Remember strings that must never be shown (longest are replaced first)."""
    global _ordered
    with _lock:
        new = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET} - _secrets
        if new:
            _secrets.update(new)
            _ordered = sorted(_secrets, key=len, reverse=True)


def register_url(url: str | None) -> None:
    """The credentials written into a URL (user info) are secrets wherever else they turn up."""
    if not url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.password:
        register_secret(parts.password, parts.username)
        basic = f"{unquote(parts.username or '')}:{unquote(parts.password)}".encode()
        register_secret(unquote(parts.password), base64.b64encode(basic).decode())  # as an Authorization header


def redact(text: str) -> str:
    """`text` with URL credentials and registered secrets masked."""
    if not text:
        return text
    text = USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_url(url: str | None) -> str | None:
    """A URL for display: its credentials masked, host, port and path kept."""
    return redact(url) if url else url


# -- logging ---------------------------------------------------------------------------------------

def install() -> None:
    """Scrub every log record at creation (all loggers, all handlers). Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    base = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            _scrub(record, formatter)
        except Exception:  # noqa: BLE001 - a broken record must not break logging; it is dropped to its message
            record.msg, record.args = "(log message withheld: it could not be checked for secrets)", ()
        return record

    logging.setLogRecordFactory(factory)


def _scrub(record: logging.LogRecord, formatter: logging.Formatter) -> None:
    text = record.getMessage()
    clean = redact(text)
    if clean != text:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
