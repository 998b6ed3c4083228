"""WebSub push (issue 19, item 3) against a loopback hub written in the tests (tests/websub_hub.py):
subscribe and verify, a push stored and searchable, bad signatures refused, renewal, fallback polling."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

import pytest
from loopback import Reply, article_page
from websub_hub import Hub, atom, get

from ingest.app import Ingest
from ingest.daemon import build_daemon_with_push
from ingest.models import utcnow
from ingest.store.websub import SubState
from ingest.websub import signature_ok

TEXT = ["Die Hafenbehörde meldet einen neuen Rekord beim Containerumschlag im dritten Quartal.",
        "Grund seien die verlegten Routen der Reedereien und ein zusätzlicher Liegeplatz am Kai.",
        "Die Gewerkschaft fordert nun mehr Personal für die Nachtschichten an den Brücken."]

FIRST = ["Der Wetterdienst erwartet für das Wochenende Sturmböen an der Küste und Regen im Binnenland.",
         "Fährverbindungen zu den Inseln könnten am Sonntag ausfallen, teilte die Reederei mit.",
         "Autofahrer sollen auf umgestürzte Bäume achten und Alleen meiden, rät die Polizei."]

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # push -> store is tested on all three


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def push_setup(backend_settings, server):
    """(settings, feed URL, hub) with WebSub on: callback listener on a free loopback port."""
    port = free_port()
    backend_settings.websub.callback_url = f"http://127.0.0.1:{port}/websub"
    backend_settings.websub.listen = f"127.0.0.1:{port}"
    with Hub(lease=3600) as hub:
        feed_url = server.url("/feed.atom")
        first = server.route("/a/1", Reply(body=article_page("Erster Artikel", FIRST)))
        server.route("/feed.atom", Reply(body=atom(feed_url, hub.url, [("urn:1", "Erster Artikel", first)]),
                                         headers={"Content-Type": "application/atom+xml"}))
        backend_settings.feeds_file.write_text(f"feeds:\n  - url: {feed_url}\n    name: Push news\n")
        yield backend_settings, feed_url, hub


def _started(app: Ingest):
    scheduler, pipeline, websub = build_daemon_with_push(app)
    assert websub is not None
    websub.start()
    return pipeline, websub


def test_subscribe_verify_push_searchable_and_bad_signatures_refused(push_setup, server, caplog):
    settings, feed_url, hub = push_setup
    caplog.set_level(logging.INFO)
    with Ingest(settings) as app:
        pipeline, websub = _started(app)
        try:
            report = pipeline.run_once(app.feeds())
            assert report.stored == 1
            websub.on_polls(report.polls)
            hub.wait_verified(1)
            form = hub.requests[0]
            assert form["hub.mode"] == "subscribe" and form["hub.topic"] == feed_url
            assert form["hub.callback"].startswith(settings.websub.callback_url + "/")
            assert len(form["hub.secret"]) >= 32 and form["hub.lease_seconds"] == str(settings.websub.lease_seconds)
            assert hub.verified[0][1] == 200  # the challenge was echoed
            sub = websub.subs.get(feed_url)
            assert sub.state is SubState.ACTIVE and sub.lease_seconds == 3600
            assert [s.websub["state"] for s in app.status()] == ["active"]

            # a push with a new entry: stored and searchable without a poll
            second = server.route("/a/2", Reply(body=article_page("Hafen meldet Rekord", TEXT)))
            doc = atom(feed_url, hub.url, [("urn:2", "Hafen meldet Rekord", second)])
            polls = server.requests["/feed.atom"]
            assert hub.push(feed_url, doc) == 202
            assert wait_for(lambda: app.search("Containerumschlag Gewerkschaft").total == 1)
            assert server.requests["/feed.atom"] == polls  # no poll was needed

            # bad and missing signatures: refused, nothing stored, the page never fetched
            third = server.route("/a/3", Reply(body=article_page("Gefälscht", ["Gefälschter Text über Brücken"])))
            fake = atom(feed_url, hub.url, [("urn:3", "Gefälscht", third)])
            assert hub.push(feed_url, fake, secret="not-the-secret") == 403
            assert hub.push(feed_url, fake, signature="") == 403
            assert hub.push(feed_url, fake, signature="md5=abc") == 403
            time.sleep(0.5)
            assert server.requests["/a/3"] == 0 and app.search("Gefälschter").total == 0
            assert not [e for e in app.store.state.pending_entries(due=utcnow() + timedelta(days=1), per_feed=100)]
            shown = app.status()[0].websub
            assert shown["pushes"] == 1 and shown["refused"] == 3 and "secret" not in shown
            assert "push for" in caplog.text and "refused" in caplog.text
            assert form["hub.secret"] not in caplog.text
        finally:
            websub.stop()
            pipeline.close()


@SQLITE_ONLY
def test_verification_echoes_only_a_pending_subscription_with_its_topic(push_setup):
    settings, feed_url, hub = push_setup
    with Ingest(settings) as app:
        pipeline, websub = _started(app)
        try:
            websub.on_polls(pipeline.run_once(app.feeds()).polls)
            hub.wait_verified(1)
            callback = hub.requests[0]["hub.callback"]
            # nothing outstanding any more: a replayed verification is not confirmed
            assert get(f"{callback}?hub.mode=subscribe&hub.topic={feed_url}&hub.challenge=x1")[0] == 404
            base = settings.websub.callback_url
            assert get(f"{base}/unknown-id?hub.mode=subscribe&hub.topic={feed_url}&hub.challenge=x2")[0] == 404
            sub = websub.subs.get(feed_url)
            sub.requested = time.time()
            websub.subs.save(sub)
            assert get(f"{callback}?hub.mode=subscribe&hub.topic=http://other/&hub.challenge=x3")[0] == 404
            assert get(f"{callback}?hub.mode=subscribe&hub.topic={feed_url}&hub.challenge=x4") == (200, "x4")
        finally:
            websub.stop()
            pipeline.close()


@SQLITE_ONLY
def test_lease_renewed_before_it_ends_and_polling_falls_back_to_the_longer_interval(push_setup):
    settings, feed_url, hub = push_setup
    with Ingest(settings) as app:
        pipeline, websub = _started(app)
        try:
            websub.on_polls(pipeline.run_once(app.feeds()).polls)
            hub.wait_verified(1)
            assert websub.renew() == 0  # the lease has an hour left; renew_before is capped at half of it
            sub = websub.subs.get(feed_url)
            sub.expires = time.time() + 60
            websub.subs.save(sub)
            assert websub.renew() == 1
            hub.wait_verified(2)
            renewed = websub.subs.get(feed_url)
            assert renewed.state is SubState.ACTIVE and renewed.expires > time.time() + 3000
            assert hub.requests[1]["hub.callback"] == hub.requests[0]["hub.callback"]

            before = utcnow()
            pipeline.poll_and_process(app.feeds()[0])
            state = app.store.state.get_feed_state(feed_url)
            wait = (state.next_poll - before).total_seconds()
            assert wait >= settings.websub.poll_interval - settings.polling.jitter - 2
        finally:
            websub.stop()
            pipeline.close()


@SQLITE_ONLY
def test_feed_removed_from_the_list_is_unsubscribed(push_setup):
    settings, feed_url, hub = push_setup
    with Ingest(settings) as app:
        pipeline, websub = _started(app)
        try:
            websub.on_polls(pipeline.run_once(app.feeds()).polls)
            hub.wait_verified(1)
            doc = atom(feed_url, hub.url, [])
            settings.feeds_file.write_text("feeds: []\n")
            assert websub.renew() == 1
            hub.wait_verified(2)
            assert hub.requests[1]["hub.mode"] == "unsubscribe" and "hub.secret" not in hub.requests[1]
            assert hub.verified[1][1] == 200  # confirmed: the subscriber asked for it
            assert websub.subs.get(feed_url) is None
            assert hub.push(feed_url, doc) == 404
        finally:
            websub.stop()
            pipeline.close()


@SQLITE_ONLY
def test_signed_notification_without_content_polls_the_feed(push_setup, server):
    settings, feed_url, hub = push_setup
    with Ingest(settings) as app:
        pipeline, websub = _started(app)
        try:
            websub.on_polls(pipeline.run_once(app.feeds()).polls)
            hub.wait_verified(1)
            polls = server.requests["/feed.atom"]
            assert hub.push(feed_url, b"", secret="wrong") == 403
            assert hub.push(feed_url, b"") == 202
            assert wait_for(lambda: server.requests["/feed.atom"] == polls + 1)
        finally:
            websub.stop()
            pipeline.close()


@SQLITE_ONLY
def test_hub_address_goes_through_the_ssrf_guard(push_setup):
    settings, feed_url, hub = push_setup
    settings.fetch.allow_networks = []
    with Ingest(settings) as app:
        pipeline, websub = _started(app)
        try:
            sub = websub.ensure(app.feeds()[0], hub.url, feed_url)
            assert websub.subs.get(feed_url).state is SubState.FAILED
            assert "private/loopback" in websub.subs.get(feed_url).last_error
            assert hub.requests == [] and sub.id
        finally:
            websub.stop()
            pipeline.close()


@SQLITE_ONLY
def test_pushed_body_is_capped(push_setup):
    settings, feed_url, hub = push_setup
    settings.websub.max_body_bytes = 2048
    with Ingest(settings) as app:
        pipeline, websub = _started(app)
        try:
            websub.on_polls(pipeline.run_once(app.feeds()).polls)
            hub.wait_verified(1)
            big = atom(feed_url, hub.url, [(f"urn:x{i}", "x" * 100, f"{feed_url}/x{i}") for i in range(40)])
            assert hub.push(feed_url, big) == 413
        finally:
            websub.stop()
            pipeline.close()


def test_signature_check():
    body = b"<feed/>"
    import hashlib
    import hmac

    for method in ("sha1", "sha256", "sha512"):
        good = f"{method}={hmac.new(b'k3y-secret', body, getattr(hashlib, method)).hexdigest()}"
        assert signature_ok(good, body, "k3y-secret")
        assert not signature_ok(good, body + b" ", "k3y-secret")
        assert not signature_ok(good, body, "other")
    assert not signature_ok(None, body, "k3y-secret") and not signature_ok("sha256", body, "k3y-secret")
    assert not signature_ok("md5=" + hashlib.md5(body).hexdigest(), body, "k3y-secret")  # noqa: S324


def test_hub_is_found_in_atom_rss_and_json_feeds():
    from ingest.sources.parse import parse_feed

    rss = (b"<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'><channel><title>t</title>"
           b"<link>http://s.example/</link><atom:link rel='hub' href='https://hub.example/'/>"
           b"<atom:link rel='self' href='http://s.example/rss'/>"
           b"<item><title>a</title><link>http://s.example/a</link></item></channel></rss>")
    parsed = parse_feed(rss, "http://s.example/feed")
    assert (parsed.hub, parsed.self_url) == ("https://hub.example/", "http://s.example/rss")
    parsed = parse_feed(atom("http://s.example/atom", "https://hub.example/h", [("1", "a", "http://s.example/a")]),
                        "http://s.example/atom")
    assert (parsed.hub, parsed.self_url) == ("https://hub.example/h", "http://s.example/atom")
    doc = (b'{"version": "https://jsonfeed.org/version/1.1", "title": "j", "feed_url": "http://s.example/j.json",'
           b' "hubs": [{"type": "WebSub", "url": "https://hub.example/j"}], "items": [{"id": "1", "url": "http://s.example/a"}]}')
    parsed = parse_feed(doc, "http://s.example/j.json")
    assert (parsed.hub, parsed.self_url) == ("https://hub.example/j", "http://s.example/j.json")
    assert parse_feed(rss.replace(b"rel='hub'", b"rel='x'"), "http://s.example/feed").hub is None


@SQLITE_ONLY
def test_the_daemon_subscribes_and_stores_a_push(push_setup, server):
    """`ingest run` as a user starts it: the listener, the first poll's subscription, a push stored, SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    settings, feed_url, hub = push_setup
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "INGEST_ALLOW_NETWORKS": "127.0.0.1/32",
           "INGEST_WEBSUB__CALLBACK_URL": settings.websub.callback_url, "INGEST_WEBSUB__LISTEN": settings.websub.listen,
           "INGEST_EXTRACT__WORKERS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "run", "--config", settings.config_dir, "--db",
                             settings.store.sqlite_path, "--log-level", "debug"], env=env, cwd=str(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hub.wait_verified(1, timeout=60)
        second = server.route("/a/2", Reply(body=article_page("Hafen meldet Rekord", TEXT)))
        assert hub.push(feed_url, atom(feed_url, hub.url, [("urn:2", "Hafen meldet Rekord", second)])) == 202
        with Ingest(settings) as app:
            assert wait_for(lambda: app.search("Containerumschlag").total == 1, timeout=60)
            assert app.status()[0].websub["state"] == "active"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "websub: callbacks at" in err and hub.requests[0]["hub.secret"] not in err
