"""Saved searches and dashboards from the CLI on a real SQLite file: save, list, run, make a rule,
remove; every bad value one line with file and key; the user's comments survive the edits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.app import Ingest
from ingest.cli.main import main
from ingest.models import Article


@pytest.fixture
def base(tmp_path, settings):
    now = datetime.now(UTC)
    with Ingest(settings) as app:
        app.store.index.upsert_articles([
            Article(id=f"{i:020x}", url=f"https://e.test/{i}", title=f"Drohnen {i}", body="Die Drohne flog.",
                    source="Blatt" if i % 2 else "Kurier", domain="e.test", language="de",
                    published=now - timedelta(days=i * 10), indexed=now) for i in range(6)])
    return ["--config", settings.config_dir, "--db", settings.store.sqlite_path]


def test_save_list_run_rule_remove(base, settings, capsys):
    path = settings.searches_file
    path.write_text("# my searches\nsearches: []\n", encoding="utf-8")
    assert main(["searches", "save", "recent", "Drohne", "--days", "25", "--source", "Kurier", *base]) == 0
    capsys.readouterr()
    assert main(["searches", "list", "--json", *base]) == 0
    saved = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert saved[0]["name"] == "recent" and saved[0]["days"] == 25 and saved[0]["sources"] == ["Kurier"]
    assert main(["searches", "run", "recent", "--json", *base]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # published 0, 10, 20 days ago; the Kurier ones are the even ids: 0 and 20 days
    assert sorted(int(h["id"], 16) for h in hits) == [0, 2]
    assert main(["searches", "rule", "recent", "--notify", "json://127.0.0.1:9/h", *base]) == 0
    rules = settings.rules_file.read_text(encoding="utf-8")
    assert "name: recent" in rules and "Kurier" in rules and "json://127.0.0.1:9/h" in rules
    assert main(["rules", "validate", *base]) == 0
    assert main(["searches", "remove", "recent", *base]) == 0
    assert "# my searches" in path.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["searches", "run", "recent", *base]) == 2
    assert "no saved search 'recent'" in capsys.readouterr().err


def test_dashboards_save_and_list(base, settings, capsys):
    assert main(["dashboards", "save", "energy", "--query", "Energie*", "--query", "Strom*", "--days", "90",
                 "--interval", "week", *base]) == 0
    capsys.readouterr()
    assert main(["dashboards", "list", "--json", *base]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d == {"name": "energy", "queries": ["Energie*", "Strom*"], "days": 90, "interval": "week"}


@pytest.mark.parametrize(("text", "where"), [
    ("searches:\n  - {name: a, query: '(x'}\n", "searches[0].query"),
    ("searches:\n  - {name: 'bad name', query: x}\n", "searches[0].name"),
    ("searches:\n  - {name: a, query: x, days: 0}\n", "searches[0].days"),
    ("searches:\n  - {name: a, query: x}\n  - {name: a, query: y}\n", "searches[1].name"),
    ("searches:\n  - {name: a, query: x, colour: red}\n", "searches[0].colour"),
    ("dashboards:\n  - {name: d, queries: [a, b, c, d, e, f, g]}\n", "dashboards[0].queries"),
])
def test_bad_saved_searches_name_file_and_key(base, settings, capsys, text, where):
    settings.searches_file.write_text(text, encoding="utf-8")
    assert main(["searches", "list", *base]) == 2
    err = capsys.readouterr().err
    assert f"{settings.searches_file}: {where}:" in err and len(err.strip().splitlines()) == 1


def test_a_saved_search_digest_delivers_new_matches_once(base, settings, capsys):
    """`digest: {every, notify}` turns a saved search into the digest rule `search.NAME`: the engine
    loads it beside rules.yaml, claims each matching story once and sends them together."""
    from ingest.alerts import engine_for
    from ingest.saved import digest_rules

    assert main(["searches", "save", "drones", "Drohne", "--digest", "1d", "--notify", "json://127.0.0.1:9/h",
                 *base]) == 0
    [rule] = digest_rules(settings.searches_file)
    assert (rule.name, rule.mode, rule.digest_every, len(rule.notify)) == ("search.drones", "digest", 86400.0, 1)
    with Ingest(settings) as app:
        engine = engine_for(app.settings, app.store, start=False)   # no rules.yaml: the digest alone
        assert [r.name for r in engine.rules] == ["search.drones"]
        claimed = engine.evaluate(list(app.store.index.iter_articles()))
        assert len(claimed) == 6 and engine.evaluate(list(app.store.index.iter_articles())) == []
    capsys.readouterr()
    assert main(["searches", "list", "--json", *base]) == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert listed["digest"]["every"] == "1d" and listed["digest"]["notify"] == ["json://127.0.0.1:9/***"]  # redacted


def test_a_digest_needs_a_query_and_a_valid_interval(base, settings, capsys):
    settings.searches_file.write_text("searches:\n  - {name: all, query: '', digest: {every: 1d}}\n")
    assert main(["searches", "list", *base]) == 2
    assert "searches[0].digest: a digest needs a query" in capsys.readouterr().err
    settings.searches_file.write_text("searches:\n  - {name: a, query: x, digest: {every: often}}\n")
    assert main(["searches", "list", *base]) == 2
    assert "searches[0].digest.every" in capsys.readouterr().err
