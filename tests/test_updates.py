"""Article updates on every backend: a page that changes after its first fetch gets a second version
(the first kept with its text and a change summary), is re-indexed, and a rule that only the new text
matches alerts once; a rule that already alerted for the story does not alert again; an unchanged page
(304, or the same text) makes no version."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from loopback import Reply, article_page, rss

from ingest.app import Ingest
from ingest.cli.main import main
from ingest.models import utcnow
from ingest.store.coverage import CoverageState
from ingest.updates import change_summary, check_offsets

HTML = {"Content-Type": "text/html; charset=utf-8"}
OLD = ["The harbour authority met on Monday to discuss the new quay for container ships.",
       "Officials said the works would start in spring and last two years.",
       "Residents asked about noise during the night shifts at the port."]
NEW = OLD[:2] + ["Divers found a wreck named Zeppelinhafen under the planned quay on Tuesday.",
                 "The works are postponed until the wreck has been surveyed by archaeologists."]
OTHER = ["The city library opens a new reading room for children in the old town hall.",
         "Volunteers will read stories every Saturday morning from next month on.",
         "The mayor thanked the donors who paid for the furniture and the books."]
RULES = "rules:\n  - name: wreck\n    query: Zeppelinhafen\n  - name: harbour\n    query: harbour\n"
LATER = timedelta(days=2)  # every re-check of the window is due by then


def test_change_summary_and_schedule():
    assert change_summary("T", "One. Two.", "T", "One.  Two!") is None  # whitespace and punctuation only
    assert change_summary("T", "One. Two.", "T", "one. two.") is None  # case only
    assert change_summary("T", "One. Two.", "T", "One. Two. Three.") == "+1/-0 sentences"
    assert change_summary("T", "One. Two.", "T2", "One. Deux.") == "+1/-1 sentences, title changed"
    assert check_offsets(86400, 3) == pytest.approx([86400 / 7, 86400 * 3 / 7, 86400])
    assert check_offsets(86400, 0) == []


class Site:
    def __init__(self, server):
        self.server = server
        self.story = server.route("/news/quay", Reply(body=article_page("Quay works planned", OLD), headers=HTML,
                                                      etag='"v1"'))
        self.other = server.route("/news/library", Reply(body=article_page("Library reading room", OTHER),
                                                         headers=HTML, etag='"lib"'))
        self.feed = server.route("/feed.xml", Reply(body=rss([
            {"title": "Quay works planned", "link": self.story}, {"title": "Library reading room", "link": self.other}])))

    def change_story(self, title: str, paragraphs: list[str], etag: str = '"v2"') -> None:
        self.server.route("/news/quay", Reply(body=article_page(title, paragraphs), headers=HTML, etag=etag))


@pytest.fixture
def site(server):
    return Site(server)


def make_app(settings, site: Site) -> Ingest:
    config = Path(settings.config_dir)
    (config / "feeds.yaml").write_text(f"feeds:\n  - url: {site.feed}\n    name: Harbour Post\n")
    (config / "rules.yaml").write_text(RULES)
    settings.enrich.keywords = 0
    return Ingest(settings)


def alerts_by_rule(app: Ingest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for record in app.store.index.iter_alerts():
        out.setdefault(record.rule, []).append(record.story)
    return out


def story_id(app: Ingest, url: str) -> str:
    return next(a.id for a in app.store.index.iter_articles() if a.url == url)


def test_changed_page_gets_a_version_reindexes_and_alerts_once(backend_settings, site):
    with make_app(backend_settings, site) as app:
        app.run_once()
        quay = story_id(app, site.story)
        assert alerts_by_rule(app) == {"harbour": [quay]}
        assert CoverageState(app.store).watched() == 2
        site.change_story("Quay works postponed after wreck find", NEW)

        report = app.check_updates(now=utcnow() + LATER)
        assert report.updated == [quay] and report.not_modified >= 1  # the library page answered 304
        headers = site.server.headers_of("/news/quay")
        assert "if-none-match" not in headers[0] and headers[1].get("if-none-match") == '"v1"'  # conditional GET
        article = app.show(quay)
        assert article.title == "Quay works postponed after wreck find" and "Zeppelinhafen" in article.body
        assert app.search("Zeppelinhafen").total == 1  # the new version is what is indexed
        versions = app.versions(article)
        assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
        assert versions[0]["title"] == "Quay works planned" and versions[0]["text"].startswith(OLD[0])
        assert versions[0]["change"] == "+2/-1 sentences, title changed"
        # the wreck rule matches only the new version: one alert; the harbour rule had alerted: not again
        app.alerts().drain(timeout=30)
        assert alerts_by_rule(app) == {"harbour": [quay], "wreck": [quay]}

        again = app.check_updates(now=utcnow() + 2 * LATER)  # nothing due any more: the watch ended
        assert again.checked == 0 and CoverageState(app.store).watched() == 0
        assert len(app.versions(app.show(quay))) == 2 and alerts_by_rule(app)["wreck"] == [quay]


def test_unchanged_page_makes_no_version(backend_settings, site):
    with make_app(backend_settings, site) as app:
        app.run_once()
        quay = story_id(app, site.story)
        # new ETag (so no 304) but the same text with other whitespace and punctuation: not material
        site.change_story("Quay  works planned", [p.replace(".", "!") for p in OLD], etag='"v1b"')
        report = app.check_updates(now=utcnow() + LATER)
        assert report.updated == [] and report.unchanged >= 1 and report.not_modified >= 1
        assert len(app.versions(app.show(quay))) == 1
        assert "wreck" not in alerts_by_rule(app)


def test_show_versions_cli_and_updates_off(settings, site, capsys):
    with make_app(settings, site) as app:
        app.run_once()
        quay = story_id(app, site.story)
        site.change_story("Quay works postponed after wreck find", NEW)
        app.check_updates(now=utcnow() + LATER)
        from fastapi.testclient import TestClient

        from ingest.web.server import create_app

        with TestClient(create_app(app)) as web:  # the article page lists the earlier version
            page = web.get(f"/articles/{quay}").text
        assert "Earlier versions" in page and "Quay works planned" in page and "title changed" in page
    args = ["--config", settings.config_dir, "--db", settings.store.sqlite_path]
    assert main(["show", quay, "--versions", *args]) == 0
    text = capsys.readouterr().out
    assert "v1" in text and "+2/-1 sentences, title changed" in text and "current" in text
    assert main(["show", quay, "--versions", "--json", *args]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["version"] for r in rows] == [1, 2] and "Zeppelinhafen" in rows[1]["text"]

    settings.updates.checks = 0
    settings.store.sqlite_path = str(Path(settings.store.sqlite_path).with_name("off.db"))
    with make_app(settings, site) as app:
        app.run_once()
        assert CoverageState(app.store).watched() == 0


def test_daemon_job_does_the_due_rechecks(settings, site):
    import time

    from ingest.daemon import build_daemon

    settings.updates.window, settings.updates.checks = 1, 1  # one re-check, due a second after storing
    with make_app(settings, site) as app:
        scheduler, pipeline = build_daemon(app)
        try:
            pipeline.run_once(app.feeds())
            quay = story_id(app, site.story)
            site.change_story("Quay works postponed after wreck find", NEW)
            time.sleep(1.1)  # let the re-check fall due (a deadline, not a timing assertion)
            job = next(func for func, _every in scheduler.extra_jobs if func.__name__ == "updates")
            job()
            assert [v["current"] for v in app.versions(app.show(quay))] == [False, True]
            assert CoverageState(app.store).watched() == 0  # the only re-check is done: the watch ended
        finally:
            pipeline.close()
