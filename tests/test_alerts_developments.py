"""`mode: developments` end to end on both backends: the real pipeline over loopback outlets, a real webhook
receiver. A story alerts on its first report, then once on a follow-up with new facts; an agency copy at
another outlet and a rewrite of the first report stay quiet."""

from __future__ import annotations

import sys
from email.utils import format_datetime
from pathlib import Path

from loopback import LoopbackServer, Reply, article_page, rss

from ingest.app import Ingest
from ingest.models import FeedConfig, utcnow

sys.path.insert(0, str(Path(__file__).parent))
from test_alerts_pipeline import Webhook, wait_for  # noqa: E402

FIRST = [
    "Dock workers at the container terminals of Lindenau walked out on Monday after talks on night-shift pay "
    "collapsed, leaving eleven container ships waiting at anchor in the bay outside the harbour.",
    "The union said the strike at the harbour would continue until the terminal operator returned to the table "
    "with a written offer on pay for night shifts; the operator said it had improved its proposal twice.",
    "Exporters of machine parts warned that a long stoppage would hit them hardest, since most of their goods "
    "leave the region through the two container terminals of the port.",
]
REWRITE = [  # the first report re-told: its sentences, shuffled and trimmed, another headline
    "The union said the strike at the harbour would continue until the terminal operator returned to the table "
    "with a written offer on pay for night shifts; the operator said it had improved its proposal twice.",
    "Dock workers at the container terminals of Lindenau walked out on Monday after talks on night-shift pay "
    "collapsed, leaving eleven container ships waiting at anchor in the bay outside the harbour.",
]
FOLLOW_UP = [
    "The harbour strike at Lindenau ended on Thursday when dock workers accepted a night-shift bonus of twelve "
    "percent, the union said after a ballot in which four in five members voted for the deal.",
    "The container terminals reopened at noon and the ships that had waited at anchor in the bay began to berth; "
    "the operator expects the backlog of containers to be cleared by the middle of next week.",
    "Mediators from the regional labour office, called in on Wednesday, had proposed the bonus together with a "
    "review of shift rosters next spring, which both sides signed in the town hall.",
]


def _feed(server: LoopbackServer, items: list[tuple[str, str, list[str]]]) -> str:
    now = format_datetime(utcnow())
    entries = []
    for slug, title, paras in items:
        server.route(f"/news/{slug}", Reply(body=article_page(title, paras),
                                            headers={"Content-Type": "text/html; charset=utf-8"}))
        entries.append({"title": title, "link": server.url(f"/news/{slug}"), "pubDate": now})
    return server.route("/feed.xml", Reply(body=rss(entries), headers={"Content-Type": "application/rss+xml"}))


def test_developments_alert_on_first_report_and_real_follow_up_only(backend_settings):
    settings = backend_settings
    hook = Webhook()
    settings.rules_file.write_text(f"""
rules:
  - name: harbour
    query: 'harbour AND strike'
    mode: developments
    notify: ['{hook.url()}']
""", encoding="utf-8")
    try:
        with LoopbackServer() as a, LoopbackServer() as b, LoopbackServer() as c, Ingest(settings) as app:
            herald = FeedConfig(url=_feed(a, [("strike", "Dock workers strike at Lindenau harbour", FIRST)]),
                                name="Harbour Herald")
            app.run_once(feeds=[herald])
            assert wait_for(lambda: len(hook.delivered) == 1)
            # day two: an agency copy at another outlet and a rewrite: same story, nothing new
            courier = FeedConfig(url=_feed(b, [("copy", "Lindenau harbour strike strands ships", FIRST)]),
                                 name="Coast Courier")
            post = FeedConfig(url=_feed(c, [("rewrite", "Harbour strike: union wants written offer", REWRITE)]),
                              name="Bay Post")
            app.run_once(feeds=[courier, post])
            stored = {a.source: a for a in app.store.index.iter_articles()}
            assert len({x.story_id for x in stored.values()}) == 1, {s: x.story_id for s, x in stored.items()}
            # day three: the strike ends — new facts, the same story
            _feed(a, [("strike", "Dock workers strike at Lindenau harbour", FIRST),
                      ("ends", "Lindenau harbour strike ends with night-shift bonus", FOLLOW_UP)])
            app.run_once(feeds=[herald])
            ends = next(x for x in app.store.index.iter_articles() if "bonus" in x.title)
            assert ends.story_id == stored["Harbour Herald"].story_id
            assert wait_for(lambda: len(hook.delivered) == 2)
            assert app.alerts().drain(10)
            titles = [p["title"] for p in hook.delivered]
            assert len(titles) == 2, titles
            assert "Dock workers strike" in titles[0] and "bonus" in titles[1]
            app.run_once(feeds=[herald, courier, post])       # again: nothing new, no alert
            assert app.alerts().drain(10)
            assert len(hook.delivered) == 2
    finally:
        hook.close()


def test_developments_rule_keys_are_checked():
    import pytest

    from ingest.alerts import parse_rules
    from ingest.alerts.rules import RulesError

    [rule] = parse_rules({"rules": [{"name": "d", "query": "x", "mode": "developments", "min_new": 0.3}]},
                         "rules.yaml", env={})
    assert rule.mode == "developments" and rule.min_new == 0.3 and rule.per_article
    for bad, message in (({"mode": "instant", "min_new": 0.3}, "rules[0].min_new: only with mode: developments"),
                         ({"mode": "developments", "min_new": 1.5}, "rules[0].min_new: 1.5: expected a share"),
                         ({"mode": "developments", "min_new": True}, "rules[0].min_new: True: expected a share")):
        with pytest.raises(RulesError) as err:
            parse_rules({"rules": [{"name": "d", "query": "x", **bad}]}, "rules.yaml", env={})
        assert message in str(err.value)
