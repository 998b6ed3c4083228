"""Alert messages and their delivery through apprise (email, Slack, Teams, Discord, Telegram, ntfy,
JSON webhooks, ...). Nothing here touches the ledger; the engine decides what to send and when.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ingest.alerts.rules import Channel, Rule
from ingest.store.base import AlertRecord

if TYPE_CHECKING:
    from ingest.store.protocols import Index

log = logging.getLogger("ingest.alerts")
MAX_COPIES = 20  # outlets listed per story


@dataclass(slots=True)
class Copy:
    source: str
    url: str
    published: datetime | None = None
    title: str = ""


@dataclass(slots=True)
class Story:
    """One ledger record with its copies resolved to outlets and URLs, and why it matched."""

    record: AlertRecord
    copies: list[Copy] = field(default_factory=list)
    passage: str = ""   # the lead copy's text around the rule's words, matches between MARK[0] and MARK[1]

    @property
    def outlets(self) -> list[str]:
        names = [c.source for c in self.copies] + list(self.record.sources)
        return list(dict.fromkeys(n for n in names if n))


MARK = ("\x02", "\x03")  # placeholders for the highlight: each output escapes the text, then marks


def query_words(query: str) -> list[str]:
    """The words a rule's query looks for (its positive terms), for highlighting the passage."""
    from ingest.query import parse, positive_words

    try:
        return positive_words(parse(query))
    except Exception:  # noqa: BLE001 - an unparsable query still gets its message, without a passage
        return []


def resolve(index: Index, record: AlertRecord, words: list[str] | None = None) -> Story:
    """Outlet and URL of each copy of the story (articles may be gone: fall back to the record), and
    with `words` the passage of the lead copy that matched them (the same snippet logic as search)."""
    from ingest.text import make_snippet

    copies: list[Copy] = []
    passage = ""
    for aid in record.article_ids[:MAX_COPIES]:
        try:
            article = index.get_article(aid)
        except Exception:  # noqa: BLE001 - a message without the copy beats no message
            article = None
        if article is not None:
            copies.append(Copy(article.source, article.url, article.published, article.title))
            if words and not passage and article.body:
                passage = make_snippet(article.body, words, width=280, mark=MARK)
    if not copies:
        copies.append(Copy(record.sources[0] if record.sources else "", record.url))
    return Story(record, copies, passage)


def passage_text(story: Story, mark: tuple[str, str] = ("**", "**")) -> str:
    """The passage for a plain-text or Markdown message: matches in bold (**Drohnen**)."""
    return story.passage.replace(MARK[0], mark[0]).replace(MARK[1], mark[1])


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _story_text(story: Story) -> str:
    r = story.record
    if r.story.startswith("volume:"):  # a spike or drop: the explanation, then the window's top stories
        lines = [r.title, ""]
        if story.copies and story.copies[0].url:
            lines.append("Top stories in the window:")
            lines += [f"- {c.title} ({c.source}) {c.url}" for c in story.copies]
        if story.passage:
            lines += ["", f"Matched: {passage_text(story)}"]
        return "\n".join(lines)
    lines = [r.title, r.url, ""]
    if story.passage:
        lines += [f"Matched: {passage_text(story)}", ""]
    outlets = story.outlets
    lines.append(f"Outlets ({len(outlets)}): {', '.join(outlets)}")
    if len(story.copies) > 1:
        lines += [f"- {c.source}: {c.url}" for c in story.copies]
    published = min((c.published for c in story.copies if c.published), default=None)
    if published:
        lines.append(f"Published: {_when(published)}")
    return "\n".join(lines)


def compose(rule: Rule, stories: list[Story]) -> tuple[str, str]:
    """(title, body) of one message: a single story, or several (digest / rate-limited rule)."""
    if len(stories) == 1:
        title = f"[{rule.name}] {stories[0].record.title}"
        body = _story_text(stories[0])
    else:
        title = f"[{rule.name}] {len(stories)} new stories"
        body = "\n\n".join(f"{i}. " + _story_text(s) for i, s in enumerate(stories, 1))
    body += f"\n\n-- \nRule {rule.name}: {rule.query}"
    return title, body


class _Capture(logging.Handler):
    """Collects apprise's own warnings during one send (apprise sends from worker threads): they
    explain failures. Sends are sequential (one delivery thread), so nothing else is mixed in."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken log record must not break delivery
            pass


class AppriseSender:
    """Sends one message to one channel; returns None on success, else the (scrubbed) reason."""

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout

    def send(self, channel: Channel, title: str, body: str) -> str | None:
        import apprise

        asset = apprise.AppriseAsset(storage_mode="memory")
        notifier = apprise.Apprise(asset=asset)
        capture = _Capture()
        logger = logging.getLogger("apprise")
        logger.addHandler(capture)
        propagate, logger.propagate = logger.propagate, False  # its reason is in our own log line
        try:
            if not notifier.add(channel.url):
                return "not a usable notification URL"
            ok = notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is a retryable error
            return channel.scrub(f"{type(exc).__name__}: {exc}")[:300]
        finally:
            logger.removeHandler(capture)
            logger.propagate = propagate
        if ok:
            return None
        reason = "; ".join(dict.fromkeys(capture.messages[-3:])) or "delivery failed"
        return channel.scrub(reason)[:300]


def register_secrets(rules: list[Rule]) -> None:
    """Channel secrets (`${VAR}` values, tokens in URL paths, user info) are masked in every log line
    and error message from now on (apprise's and urllib3's debug logging included)."""
    from ingest import redact

    redact.install()
    for rule in rules:
        for channel in rule.notify:
            redact.register_secret(*channel.secrets)
            redact.register_url(channel.url)
