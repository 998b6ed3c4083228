"""Retention and deletion on both backends: `ingest prune` deletes articles past their age (per source
overrides first), with their raw pages; `--dry-run` only counts; `ingest delete` removes one article or a
whole source; what is kept stays searchable. Real SQLite files and the real Elasticsearch node."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ingest.app import Ingest
from ingest.cli.main import main
from ingest.models import Article, utcnow
from ingest.store.base import AlertRecord

DAY = timedelta(days=1)


def article(n: int, age_days: float | None, source: str, domain: str, indexed_age: float = 0) -> Article:
    now = utcnow()
    return Article(id=f"{n:020x}", url=f"https://{domain}/{n}", title=f"Hafen Bericht {n}",
                   body=f"Die Hafenarbeiter streiken am Tag {n} weiter.", source=source, domain=domain,
                   language="de", published=(now - age_days * DAY) if age_days is not None else None,
                   indexed=now - indexed_age * DAY)


@pytest.fixture
def app(backend_settings):
    backend_settings.store.retention_days = 30
    backend_settings.store.retention_by_source = {"Kurzblatt": 7, "long.example": 365}
    application = Ingest(backend_settings)
    yield application
    application.close()


def load(app: Ingest) -> list[Article]:
    arts = [
        article(1, 2, "Tagesblatt", "tages.example"),        # kept: young
        article(2, 40, "Tagesblatt", "tages.example"),       # deleted: older than 30 days
        article(3, None, "Tagesblatt", "tages.example", indexed_age=45),  # undated: indexed age counts
        article(4, 10, "Kurzblatt", "kurz.example"),         # deleted: Kurzblatt keeps 7 days
        article(5, 3, "Kurzblatt", "kurz.example"),          # kept
        article(6, 200, "Langblatt", "long.example"),        # kept: long.example keeps 365 days (domain key)
        article(7, 400, "Langblatt", "long.example"),        # deleted
    ]
    app.store.index.upsert_articles(arts)
    for a in arts:
        app.store.state.save_raw(a.id, b"<html>" + a.body.encode() + b"</html>", "text/html")
    flush = (app.store.index.outbox.flush if app.store.index.outbox else None)
    if flush:
        flush()
    return arts


def hits(app: Ingest) -> set[int]:
    return {int(h.id, 16) for h in app.search("Hafenarbeiter", limit=50).hits}


def test_prune_deletes_by_age_with_per_source_overrides(app):
    arts = load(app)
    assert hits(app) == {1, 2, 3, 4, 5, 6, 7}
    assert app.prune(dry_run=True)["articles"] == 4
    assert hits(app) == {1, 2, 3, 4, 5, 6, 7}            # a dry run deletes nothing
    counts = app.prune()
    assert counts["articles"] == 4
    assert hits(app) == {1, 5, 6}
    kept = {a.id for a in arts if int(a.id, 16) in (1, 5, 6)}
    for a in arts:
        assert (app.store.state.get_raw(a.id) is not None) == (a.id in kept)  # raw pages go with their article
    assert app.prune()["articles"] == 0                   # idempotent


def test_prune_keeps_undelivered_alerts_and_drops_old_delivered_ones(app):
    now = utcnow()
    old = AlertRecord(rule="r", story="s-old", article_ids=["a"], sources=["X"], title="t", url="u",
                      created=now - 60 * DAY)
    pending = AlertRecord(rule="r", story="s-pending", article_ids=["b"], sources=["X"], title="t", url="u",
                          created=now - 60 * DAY)
    young = AlertRecord(rule="r", story="s-young", article_ids=["c"], sources=["X"], title="t", url="u",
                        created=now - DAY)
    for rec in (old, pending, young):
        assert app.store.index.claim_alert(rec)
    for rec in (old, young):
        rec.delivered = now
        app.store.index.update_alert(rec)
    app.prune()
    stories = {r.story for r in app.store.index.list_alerts(rule="r", limit=10)}
    assert stories == {"s-pending", "s-young"}


def test_delete_by_id_and_by_source_cli(backend_settings, tmp_path, capsys, monkeypatch):
    with Ingest(backend_settings) as application:
        arts = load(application)
    backend = backend_settings.store.backend
    if backend != "sqlite":  # the CLI reads the same cluster and index prefix from the environment
        conf = getattr(backend_settings.store, backend)
        monkeypatch.setenv("INGEST_BACKEND", backend)
        monkeypatch.setenv("INGEST_ES_URL" if backend == "elasticsearch" else "INGEST_OS_URL", conf.url)
        monkeypatch.setenv(f"INGEST_STORE__{backend.upper()}__INDEX_PREFIX", conf.index_prefix)
    base = ["--config", str(tmp_path / "cfg"), "--db", backend_settings.store.sqlite_path]
    assert main(["delete", arts[0].id, "--json", *base]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 1
    assert main(["delete", "--source", "Kurzblatt", *base]) == 2   # a whole source needs --yes
    assert "2 articles" in capsys.readouterr().err
    assert main(["delete", "--source", "Kurzblatt", "--yes", "--json", *base]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 2
    with Ingest(backend_settings) as application:
        assert hits(application) == {2, 3, 6, 7}


def test_feeds_prune_forgets_removed_feeds(capsys, tmp_path, server, monkeypatch):
    """A removed feed leaves `status`, `/feeds` and `/metrics` only through `feeds prune`; its articles
    stay unless asked."""
    from loopback import Reply, article_page, rss

    monkeypatch.setenv("INGEST_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("INGEST_EXTRACT__WORKERS", "1")
    base = ["--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db")]
    for name in ("keep", "drop"):
        items = []
        for i in range(2):
            server.route(f"/{name}/{i}", Reply(body=article_page(f"{name} {i}", [
                f"The {name} desk reports item {i} about the harbour strike that began on Monday morning.",
                f"Workers of the {name} terminal said talks on pay for night shifts had collapsed on day {i}."]),
                headers={"Content-Type": "text/html; charset=utf-8"}))
            items.append({"title": f"{name} {i}", "link": server.url(f"/{name}/{i}")})
        server.route(f"/{name}.xml", Reply(body=rss(items), headers={"Content-Type": "application/rss+xml"}))
        assert main([*base, "feeds", "add", server.url(f"/{name}.xml"), "--no-check"]) == 0
    assert main([*base, "run", "--once"]) == 0
    assert main([*base, "feeds", "remove", server.url("/drop.xml")]) == 0
    capsys.readouterr()
    assert main([*base, "feeds", "forget", server.url("/keep.xml")]) == 2   # still configured
    assert "no unconfigured feed" in capsys.readouterr().err
    assert main([*base, "feeds", "prune", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["forgotten"] == [server.url("/drop.xml")] and result["entries"] >= 2 and result["articles"] == 0
    assert main([*base, "status", "--json"]) == 0
    assert [f["url"] for f in json.loads(capsys.readouterr().out)["feeds"]] == [server.url("/keep.xml")]
    assert main([*base, "search", "harbour", "--json", "--limit", "10"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4   # the dropped feed's articles stay


def test_copy_sqlite_to_elasticsearch_and_back(settings, tmp_path):
    """`ingest copy --to elasticsearch` after running on SQLite: the cluster answers the same searches,
    enrichment and clusters included; a second copy sends nothing; the way back fills a fresh SQLite file."""
    import uuid

    from conftest import require_es
    from elasticsearch import Elasticsearch

    url = require_es()
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings.store.elasticsearch.url = url
    settings.store.elasticsearch.index_prefix = prefix
    try:
        with Ingest(settings) as lite:
            arts = load(lite)
            arts[1].cluster_id, arts[1].keywords = "cluster-x", ["Hafen", "Streik"]
            lite.store.index.upsert_articles([arts[1]])
            rec = AlertRecord(rule="r", story="s1", article_ids=[arts[0].id], sources=["X"], title="t", url="u",
                              created=utcnow(), delivered=utcnow())
            lite.store.index.claim_alert(rec)
            lite.store.index.update_alert(rec)
            assert lite.copy_store("elasticsearch") == {"articles": 7, "skipped": 0, "alerts": 1}
            assert lite.copy_store("elasticsearch") == {"articles": 0, "skipped": 7, "alerts": 0}
        es_settings = settings.model_copy(deep=True)
        es_settings.store.backend = "elasticsearch"
        with Ingest(es_settings) as es:
            assert hits(es) == {1, 2, 3, 4, 5, 6, 7}
            copied = es.store.index.get_article(arts[1].id)
            assert copied.cluster_id == "cluster-x" and copied.keywords == ["Hafen", "Streik"]
            assert copied.published == arts[1].published
            assert [r.story for r in es.store.index.list_alerts(rule="r")] == ["s1"]
            es.settings.store.sqlite_path = str(tmp_path / "back.db")
            es.store.close()
            es._store = None
            assert es.copy_store("sqlite")["articles"] == 7
        back = settings.model_copy(deep=True)
        back.store.sqlite_path = str(tmp_path / "back.db")
        with Ingest(back) as lite2:
            assert hits(lite2) == {1, 2, 3, 4, 5, 6, 7}
    finally:
        client = Elasticsearch(url)
        client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        client.close()


def test_backup_while_open_restores_and_newer_schema_is_refused(settings, tmp_path, capsys):
    from ingest.errors import StoreError
    from ingest.store import open_sqlite

    with Ingest(settings) as application:
        load(application)
        base = ["--config", str(tmp_path / "c"), "--db", settings.store.sqlite_path]
        assert main(["backup", str(tmp_path / "b.db"), *base]) == 0       # while the store is open
        assert main(["backup", str(tmp_path / "b.db"), *base]) == 2       # never overwrites
        assert "exists" in capsys.readouterr().err
    restored = settings.model_copy(deep=True)
    restored.store.sqlite_path = str(tmp_path / "b.db")
    with Ingest(restored) as application:
        assert hits(application) == {1, 2, 3, 4, 5, 6, 7}
    # a file from a newer ingest is refused with one line, not altered
    store = open_sqlite(str(tmp_path / "b.db"))
    store.index.query("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(StoreError, match="newer ingest"):
        open_sqlite(str(tmp_path / "b.db"))


def test_health_reads_the_daemon_heartbeat(settings, tmp_path, capsys):
    import os
    import time

    base = ["--config", str(tmp_path / "c"), "--db", settings.store.sqlite_path]
    assert main(["health", *base]) == 0
    with Ingest(settings) as application:
        application.beat()
        beat = application.heartbeat_file
    assert main(["health", *base]) == 0
    os.utime(beat, (time.time() - 900, time.time() - 900))
    capsys.readouterr()
    assert main(["health", "--json", *base]) == 1
    assert "heartbeat" in json.loads(capsys.readouterr().out)["problems"][0]
