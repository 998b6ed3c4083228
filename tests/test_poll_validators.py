"""Validators you can trust: sent verbatim, refreshed, re-checked every Nth poll, liars detected."""

from __future__ import annotations

import json

import pytest
from loopback import Reply, rss
from rich.console import Console

import ingest.cli.main as cli_main
from ingest.fetch import Fetcher
from ingest.models import FeedConfig
from ingest.sources.poller import Poller
from ingest.store import open_backends


def items(n: int, prefix: str = "story") -> list[dict]:
    return [{"title": f"{prefix} {i}", "link": f"http://example.invalid/{prefix}/{i}"} for i in range(n)]


@pytest.fixture
def poller(settings):
    settings.polling.jitter = 0
    store = open_backends(settings.store)
    fetcher = Fetcher(settings.fetch)
    yield Poller(settings.polling, store, fetcher)
    fetcher.close()
    store.close()


def test_validators_sent_back_verbatim(server, poller):
    etag, modified = 'W/"abc-1"', "Mon, 16 Nov 2026 10:00:00 GMT"
    url = server.route("/feed.xml", Reply(body=rss(items(2)), etag=etag, last_modified=modified))
    feed = FeedConfig(url=url)
    assert poller.poll(feed).status == "new"
    state = poller.state.get_feed_state(url)
    assert (state.etag, state.last_modified) == (etag, modified)
    assert poller.poll(feed).status == "not_modified"
    first, second = server.headers_of("/feed.xml")
    assert "if-none-match" not in first and "if-modified-since" not in first
    assert second["if-none-match"] == etag and second["if-modified-since"] == modified


def test_last_modified_alone_gives_304(server, poller):
    modified = "Tue, 17 Nov 2026 08:00:00 GMT"
    url = server.route("/feed.xml", Reply(body=rss(items(1)), last_modified=modified))
    poller.poll(FeedConfig(url=url))
    assert poller.poll(FeedConfig(url=url)).status == "not_modified"
    assert server.headers_of("/feed.xml")[1]["if-modified-since"] == modified


def test_rotated_etag_is_stored_even_when_body_is_unchanged(server, poller):
    body = rss(items(2))
    counter = {"n": 0}

    def rotating(_handler):  # a load balancer whose nodes disagree on the ETag of the same bytes
        counter["n"] += 1
        return Reply(body=body, headers={"ETag": f'"node-{counter["n"]}"'})

    url = server.route("/feed.xml", rotating)
    feed = FeedConfig(url=url)
    assert poller.poll(feed).status == "new"
    assert poller.poll(feed).status == "unchanged"  # same body hash: not parsed again
    assert poller.state.get_feed_state(url).etag == '"node-2"'
    poller.poll(feed)
    assert server.headers_of("/feed.xml")[2]["if-none-match"] == '"node-2"'


def test_validator_dropped_by_server_is_forgotten(server, poller):
    url = server.route("/feed.xml", Reply(body=rss(items(1)), etag='"v1"'))
    poller.poll(FeedConfig(url=url))
    server.route("/feed.xml", Reply(body=rss(items(2))))  # new body, no ETag any more
    poller.poll(FeedConfig(url=url))
    assert poller.state.get_feed_state(url).etag is None


def test_broken_feed_keeps_no_validators(server, poller):
    url = server.route("/feed.xml", Reply(body=b"<rss><channel><item><title>unclosed", etag='"broken"'))
    assert poller.poll(FeedConfig(url=url)).status == "error"
    poller.poll(FeedConfig(url=url))
    assert "if-none-match" not in server.headers_of("/feed.xml")[1]  # asked in full again, not hidden by a 304


def test_every_nth_poll_verifies_a_304_unconditionally(server, poller):
    poller.settings.unconditional_every = 3
    url = server.route("/feed.xml", Reply(body=rss(items(2)), etag='"same"'))
    feed = FeedConfig(url=url)
    statuses = [poller.poll(feed).status for _ in range(4)]
    assert statuses == ["new", "not_modified", "unchanged", "not_modified"]  # 3rd: verified, same bytes
    conditional = ["if-none-match" in h for h in server.headers_of("/feed.xml")]
    # poll 1 plain, poll 2 conditional, poll 3 conditional + unconditional check, poll 4 conditional
    assert conditional == [False, True, True, False, True]
    assert poller.state.get_feed_state(url).validators_trusted


def test_server_lying_with_304_is_no_longer_trusted(server, poller):
    poller.settings.unconditional_every = 3
    url = server.route("/feed.xml", Reply(body=rss(items(1)), etag='"v1"', lie_304=True))
    feed = FeedConfig(url=url)
    assert poller.poll(feed).status == "new"
    server.route("/feed.xml", Reply(body=rss(items(3)), etag='"v1"', lie_304=True))  # changed, same ETag
    assert poller.poll(feed).status == "not_modified"  # the lie cannot be seen yet
    outcome = poller.poll(feed)  # 3rd poll: the check catches it and uses the full body
    assert outcome.status == "new" and len(outcome.entries) == 3
    state = poller.state.get_feed_state(url)
    assert state.validators_trusted is False
    assert poller.poll(feed).status == "unchanged"
    assert "if-none-match" not in server.headers_of("/feed.xml")[-1]  # unconditional from now on
    assert poller.retry(url) and poller.state.get_feed_state(url).validators_trusted


def test_untrusted_validators_shown_by_cli_status(server, tmp_path, monkeypatch, capsys):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(
        "fetch: {allow_networks: ['127.0.0.1/32'], per_host_min_interval: 0}\n"
        "polling: {unconditional_every: 2}\nextract: {workers: 1}\n")
    base = ["--config", str(config), "--db", str(tmp_path / "ingest.db")]
    url = server.route("/feed.xml", Reply(body=rss(items(1)), etag='"v1"', lie_304=True))
    monkeypatch.setattr(cli_main, "out", Console(width=250, highlight=False, soft_wrap=True))
    assert cli_main.main(["feeds", "add", url, "--name", "Liar", *base]) == 0
    assert cli_main.main(["run", "--once", "--json", *base]) == 0
    server.route("/feed.xml", Reply(body=rss(items(2)), etag='"v1"', lie_304=True))
    assert cli_main.main(["run", "--once", "--json", *base]) == 0
    capsys.readouterr()
    assert cli_main.main(["status", *base]) == 0
    assert "ok (validators untrusted)" in capsys.readouterr().out
    assert cli_main.main(["status", "--json", *base]) == 0
    row = json.loads(capsys.readouterr().out)["feeds"][0]
    assert row["validators_trusted"] is False and row["status"] == "working"
