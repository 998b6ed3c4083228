"""Alerts end to end: the real pipeline over loopback news sites, a real SMTP server (aiosmtpd) and a
real webhook receiver on 127.0.0.1; each matching story is delivered exactly once per rule."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from loopback import LoopbackServer, Reply, article_page, rss

from ingest.alerts.atom import rule_feed
from ingest.app import Ingest
from ingest.cli.main import main
from ingest.errors import ConfigError
from ingest.models import FeedConfig, utcnow

# -- real receivers -------------------------------------------------------------------------------


class SMTPSink:
    """aiosmtpd on a free loopback port; keeps every message, parsed."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                sink.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=alerts@example.org&to=desk@example.org"

    def texts(self) -> list[tuple[str, str]]:
        return [(m["Subject"], m.get_body(("plain",)).get_content()) for m in self.messages]

    def close(self):
        self.controller.stop()


class Webhook:
    """http.server on 127.0.0.1 recording JSON POSTs; answers with `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.received: list[tuple[int, str, dict]] = []   # (status answered, path, payload)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = hook.statuses.pop(0) if hook.statuses else 200
                hook.received.append((status, self.path, json.loads(body or b"{}")))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    @property
    def delivered(self) -> list[dict]:
        return [p for status, _, p in self.received if status == 200]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def smtp():
    sink = SMTPSink()
    yield sink
    sink.close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


# -- two loopback outlets -------------------------------------------------------------------------

DEAL = [
    "Iran and Venezuela signed an agreement on Tuesday under which Caracas will assemble surveillance drones "
    "designed in Tehran at a plant outside Maracay, officials from both governments said.",
    "The deal covers the delivery of engines and guidance kits over three years; the first aircraft are to leave "
    "the assembly line next spring, according to the defence ministry in Caracas.",
    "Diplomats in the region said the agreement would complicate talks on easing sanctions, and a spokesman for "
    "the opposition called it a provocation aimed at its neighbours.",
]
HARBOUR = [
    "Dock workers at the harbour of Lindenau walked out on Monday after talks on night-shift pay collapsed, "
    "leaving two container ships waiting at anchor in the bay.",
    "The union said the strike would continue until the operator returned to the table with a written offer; "
    "the operator said it had already improved its proposal twice this month.",
    "Local businesses warned that a long stoppage would hit exporters of machine parts hardest, since most of "
    "their goods leave the region through the container terminal.",
]
OIL = [
    "Venezuela's state oil company reported a rise in crude output for the third month running, helped by "
    "repairs at two upgraders in the Orinoco belt that had stood idle for most of last year.",
    "Analysts cautioned that the figures had not been confirmed by independent sources and that exports "
    "remained well below the levels reached a decade ago.",
    "The ministry said new contracts with foreign service companies would add further capacity before the "
    "end of the year, without naming the companies involved.",
]
FLIGHTS = [
    "Iran will resume direct flights to Venezuela next month after a pause of two years, the civil aviation "
    "authority in Tehran announced, with a weekly service stopping over in Damascus.",
    "Tickets go on sale this week; the carrier said it expected business travellers and families visiting "
    "relatives to fill most seats on the first rotations.",
    "Aviation experts noted that the aircraft assigned to the route were more than twenty years old and had "
    "struggled to obtain spare parts because of sanctions.",
]


def _outlet(server: LoopbackServer, stories: dict[str, tuple[str, list[str]]]) -> str:
    now = format_datetime(utcnow())
    items = []
    for slug, (title, paras) in stories.items():
        server.route(f"/news/{slug}", Reply(body=article_page(title, paras),
                                            headers={"Content-Type": "text/html; charset=utf-8"}))
        items.append({"title": title, "link": server.url(f"/news/{slug}"), "pubDate": now})
    return server.route("/feed.xml", Reply(body=rss(items), headers={"Content-Type": "application/rss+xml"}))


@pytest.fixture
def outlets():
    """Harbour Herald carries the drone deal, a harbour strike and an oil story; Caribbean Courier carries
    the same drone deal (same text: a syndicated copy on another domain) and a flights story."""
    with LoopbackServer() as a, LoopbackServer() as b:
        feed_a = _outlet(a, {"deal": ("Iran and Venezuela sign drone deal", DEAL),
                             "harbour": ("Dock workers strike at Lindenau harbour", HARBOUR),
                             "oil": ("Venezuela oil output rises again", OIL)})
        feed_b = _outlet(b, {"drone-deal": ("Caracas to assemble Iranian drones", DEAL),
                             "flights": ("Iran resumes flights to Venezuela", FLIGHTS)})
        yield {"herald": FeedConfig(url=feed_a, name="Harbour Herald"),
               "courier": FeedConfig(url=feed_b, name="Caribbean Courier"),
               "deal_a": a.url("/news/deal"), "deal_b": b.url("/news/drone-deal"), "flights": b.url("/news/flights")}


def write_rules(settings, text: str) -> None:
    settings.rules_file.write_text(text, encoding="utf-8")


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# -- tests ----------------------------------------------------------------------------------------


def test_each_story_once_per_rule_through_ingest_rerun_reclean_restart_backfill(settings, outlets, smtp, webhook):
    write_rules(settings, f"""
rules:
  - name: iran-venezuela
    query: 'Iran AND Venezuela'
    notify: ['{smtp.url}', '{webhook.url()}']
    mode: instant
  - name: harbour
    query: 'harbour AND strike*'
    notify: ['{webhook.url("/harbour")}']
""")
    feeds = [outlets["herald"], outlets["courier"]]
    with Ingest(settings) as app:
        report = app.run_once(feeds=feeds)
        assert report.stored == 5
        # the syndicated deal (two domains) is one story: one message, both outlets and both URLs in it
        subjects = sorted(s for s, _ in smtp.texts())
        assert len(subjects) == 2, subjects
        assert any("Iran resumes flights to Venezuela" in s for s in subjects)
        deal_subject, deal_body = next((s, b) for s, b in smtp.texts() if "flights" not in s)
        assert "drone" in deal_subject.lower()
        assert "Harbour Herald" in deal_body and "Caribbean Courier" in deal_body
        assert outlets["deal_a"] in deal_body and outlets["deal_b"] in deal_body
        assert "Outlets (2)" in deal_body
        # why it matched: the passage around the rule's words, the words in bold (email and webhook)
        matched = next(line for line in deal_body.splitlines() if line.startswith("Matched: "))
        assert "**Iran**" in matched or "**Venezuela**" in matched
        hooks = {p: [r for r in webhook.received if r[1] == p] for p in ("/hook", "/harbour")}
        assert len(hooks["/hook"]) == 2 and len(hooks["/harbour"]) == 1
        assert "Dock workers strike" in hooks["/harbour"][0][2]["title"]
        assert "Lindenau" in hooks["/harbour"][0][2]["message"]
        harbour_matched = next(line for line in hooks["/harbour"][0][2]["message"].splitlines()
                               if line.startswith("Matched: "))
        assert "**harbour**" in harbour_matched and "**strike" in harbour_matched.lower()

        ledger = app.store.index.list_alerts(rule="iran-venezuela")
        assert len(ledger) == 2 and all(r.delivered and len(r.channels_done) == 2 for r in ledger)
        deal = next(r for r in ledger if len(r.article_ids) == 2)
        assert set(deal.sources) == {"Harbour Herald", "Caribbean Courier"}

        again = app.run_once(feeds=feeds)          # ingest twice: nothing new
        assert again.stored == 0
        app.reclean()                              # re-cleaning upserts again: no alert
        engine = app.alerts()
        assert engine is not None
        every = list(app.store.index.iter_articles())
        engine.on_stored(every)                    # re-index / backfill of every stored article
        assert engine.evaluate(every) == []
        assert engine.drain(10)

    with Ingest(settings) as restarted:           # restart: same DB, new process state
        restarted.run_once(feeds=feeds)
        assert restarted.alerts().evaluate(list(restarted.store.index.iter_articles())) == []
        assert restarted.alerts().drain(10)

    assert len(smtp.messages) == 2
    assert len(webhook.received) == 3 and all(status == 200 for status, _, _ in webhook.received)


def test_copy_arriving_after_delivery_extends_ledger_but_is_not_resent(settings, outlets, webhook):
    write_rules(settings, f"""
rules:
  - name: iran-venezuela
    query: 'Iran AND Venezuela'
    notify: ['{webhook.url()}']
""")
    with Ingest(settings) as app:
        app.run_once(feeds=[outlets["herald"]])
        assert [p["title"] for p in webhook.delivered] == ["[iran-venezuela] Iran and Venezuela sign drone deal"]
        assert "Outlets (1): Harbour Herald" in webhook.delivered[0]["message"]

        app.run_once(feeds=[outlets["courier"]])   # the syndicated copy, one cycle later, other domain
        titles = [p["title"] for p in webhook.delivered]
        assert titles == ["[iran-venezuela] Iran and Venezuela sign drone deal",
                          "[iran-venezuela] Iran resumes flights to Venezuela"]
        deal = next(r for r in app.store.index.list_alerts(rule="iran-venezuela") if "drone" in r.title)
        assert deal.sources == ["Harbour Herald", "Caribbean Courier"] and len(deal.article_ids) == 2

        feed = ET.fromstring(rule_feed(app.store.index, "iran-venezuela", base_url="http://127.0.0.1:8080"))
        ns = {"a": "http://www.w3.org/2005/Atom"}
        entries = feed.findall("a:entry", ns)
        assert len(entries) == 2
        deal_entry = next(e for e in entries if "drone" in e.find("a:title", ns).text)
        assert deal_entry.find("a:link[@rel='alternate']", ns).get("href") == outlets["deal_a"]
        assert deal_entry.find("a:link[@rel='related']", ns).get("href") == outlets["deal_b"]
        assert {c.get("term") for c in deal_entry.findall("a:category", ns)} == {"Harbour Herald",
                                                                                 "Caribbean Courier"}
        assert feed.find("a:link[@rel='self']", ns).get("href") == "http://127.0.0.1:8080/alerts/iran-venezuela.atom"
        # with the rule's query, each entry shows the passage that matched, its words marked
        feed = ET.fromstring(rule_feed(app.store.index, "iran-venezuela", query="Iran AND Venezuela"))
        content = next(e for e in feed.findall("a:entry", ns) if "drone" in e.find("a:title", ns).text)
        html = content.find("a:content", ns).text
        assert html.startswith("<blockquote>") and ("<mark>Iran</mark>" in html or "<mark>Venezuela</mark>" in html)


def test_failing_channel_is_retried_and_delivered_once(settings, outlets, smtp):
    settings.alerts.retry_base = 0.2
    hook = Webhook(statuses=[500])
    try:
        write_rules(settings, f"""
rules:
  - name: flights
    query: 'Iran AND flights'
    notify: ['{smtp.url}', '{hook.url()}']
""")
        with Ingest(settings) as app:
            app.run_once(feeds=[outlets["courier"]])
            assert wait_for(lambda: all(r.delivered for r in app.store.index.list_alerts(rule="flights")))
            [record] = app.store.index.list_alerts(rule="flights")
            assert record.attempts == 2 and record.last_error is None and len(record.channels_done) == 2
        assert [status for status, _, _ in hook.received] == [500, 200]
        assert "Iran resumes flights to Venezuela" in hook.delivered[0]["title"]
        assert len(smtp.messages) == 1             # the retry did not re-send to the channel that had it
    finally:
        hook.close()


def test_undelivered_alerts_are_sent_after_restart_and_secrets_stay_out(settings, outlets, monkeypatch, caplog):
    settings.alerts.retry_max = 0
    monkeypatch.setenv("HOOK_TOKEN", "tok-5ecr3t-9f8e7d")
    hook = Webhook(statuses=[500])
    try:
        write_rules(settings, f"""
rules:
  - name: flights
    query: 'Iran AND flights'
    notify: ['json://127.0.0.1:{hook.port}/hook/${{HOOK_TOKEN}}']
""")
        with Ingest(settings) as app:
            app.run_once(feeds=[outlets["courier"]])
            [record] = app.store.index.list_alerts(rule="flights")
            assert record.delivered is None and record.attempts == 1 and "500" in record.last_error
        assert [s for s, _, _ in hook.received] == [500]
        assert hook.received[0][1] == "/hook/tok-5ecr3t-9f8e7d"   # the secret reached the channel ...

        with Ingest(settings) as restarted:
            engine = restarted.alerts()                         # ... start re-queues the undelivered alert
            assert engine.drain(15)
            [record] = restarted.store.index.list_alerts(rule="flights")
            assert record.delivered is not None
        assert [s for s, _, _ in hook.received] == [500, 200]
        logged = caplog.text + (record.last_error or "")
        assert "tok-5ecr3t-9f8e7d" not in logged                   # ... and never a log line or the ledger
        assert "json://127.0.0.1:" in caplog.text and "/***" in caplog.text
    finally:
        hook.close()


def test_digest_waits_for_its_schedule_then_sends_one_message(settings, outlets, webhook):
    write_rules(settings, f"""
rules:
  - name: venezuela-digest
    query: Venezuela
    notify: ['{webhook.url()}']
    mode: digest
    digest: {{every: 1h}}
""")
    with Ingest(settings) as app:
        app.run_once(feeds=[outlets["herald"], outlets["courier"]])
        pending = app.store.index.list_alerts(rule="venezuela-digest", undelivered=True)
        assert len(pending) == 3 and webhook.received == []      # due at the next full hour (UTC)
        due = app.alerts().pending()["venezuela-digest"]
        assert due % 3600 == 0 and 0 < due - time.time() <= 3600
    # `ingest alerts deliver` sends what is pending now, digest included
    code = main(["alerts", "deliver", "--config", str(settings.config_dir), "--db", settings.store.sqlite_path])
    assert code == 0
    [message] = webhook.delivered
    assert message["title"] == "[venezuela-digest] 3 new stories"
    for title in ("Iran and Venezuela sign drone deal", "Venezuela oil output rises again",
                  "Iran resumes flights to Venezuela"):
        assert title in message["message"]


def test_min_interval_queues_into_next_delivery_and_filters_apply(settings, outlets, webhook):
    write_rules(settings, f"""
rules:
  - name: courier-only
    query: Venezuela
    sources: [caribbean courier]
    notify: ['{webhook.url()}']
    min_interval: 1s
  - name: english
    query: Venezuela
    languages: [de]
""")
    with Ingest(settings) as app:
        app.run_once(feeds=[outlets["herald"]])                 # Herald stories: filtered out by source
        assert webhook.received == []
        app.run_once(feeds=[outlets["courier"]])
        assert wait_for(lambda: len(webhook.delivered) >= 1)
        assert app.store.index.list_alerts(rule="english") == []     # English articles, rule wants German
    [message] = webhook.delivered
    assert message["title"] == "[courier-only] 2 new stories"   # rate-limited rule: one batched message


def test_broken_rules_file_gives_a_clear_error(settings, outlets):
    write_rules(settings, """
rules:
  - name: ok
    query: Iran
  - name: ok2
    query: Venezuela
  - name: broken
    query: 'Iran AND (Venezuela'
    notify: ['json://${MISSING_ALERT_TOKEN}@127.0.0.1/hook']
""")
    with Ingest(settings) as app, pytest.raises(ConfigError) as info:
        app.run_once(feeds=[outlets["herald"]])
    message = str(info.value)
    assert message.startswith(f"{settings.rules_file}: rules[2].query: invalid query: ")
    assert "at position" in message and "(and 1 more problem)" in message
    assert info.value.problems[1] == ("rules[2].notify[0]", "environment variable MISSING_ALERT_TOKEN is not set")
