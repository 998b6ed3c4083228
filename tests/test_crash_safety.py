"""Nothing lost, nothing stored twice: a real `ingest run --once` killed with SIGKILL at many points of
a cold run, and a store whose disk fills up, each followed by a normal run.

The site: 10 loopback hosts (10 ports), one feed each with 30 articles: 300 articles. The server
counts every request, so the tests check what the publisher sees: each article page is fetched
once, except the pages that were in flight when the process was killed (fetched, not yet stored).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loopback import LoopbackServer, Reply, rss

from ingest.pipeline import STORE_BATCH, WINDOW_PER_WORKER

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 10
PER_HOST = 30
HTML = {"Content-Type": "text/html; charset=utf-8"}
TOPICS = ["harbour", "railway", "budget", "school", "hospital", "bridge", "election", "river", "museum", "airport"]


def page(host: int, n: int) -> bytes:
    topic = TOPICS[(host + n) % len(TOPICS)]
    paras = "".join(f"<p>Report {n} from outlet {host}: the council of district {host * 100 + n} debated the "
                    f"{topic} plan number {n * 7 + i} for {i + 2} hours and residents asked about costs.</p>"
                    for i in range(3))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{topic} {host}-{n}</title></head>"
            f"<body><article><h1>{topic.title()} report {host}-{n}</h1>{paras}</article></body></html>").encode()


class Site:
    """HOSTS loopback servers, each with one feed of PER_HOST article pages."""

    def __init__(self, hosts: int = HOSTS, per_host: int = PER_HOST):
        self.servers = [LoopbackServer() for _ in range(hosts)]
        self.per_host = per_host
        self.feeds: list[str] = []
        self.pages: list[str] = []
        for h, srv in enumerate(self.servers):
            srv.__enter__()
            items = []
            for n in range(per_host):
                url = srv.route(f"/news/{n}", Reply(body=page(h, n), headers=HTML))
                self.pages.append(url)
                items.append({"title": f"Story {h}-{n}", "link": url, "description": f"Summary of story {h}-{n}."})
            self.feeds.append(srv.route("/feed.xml", Reply(body=rss(items, title=f"Outlet {h}"), etag=f'"v{h}"',
                                                           headers={"Content-Type": "application/rss+xml"})))

    def close(self) -> None:
        for srv in self.servers:
            srv.__exit__()

    def page_fetches(self) -> dict[str, int]:
        return {srv.url(p): n for srv in self.servers for p, n in srv.request_counts().items() if p.startswith("/news/")}

    def total_pages(self) -> int:
        return sum(self.page_fetches().values())

    def feed_fetches(self) -> int:
        return sum(srv.requests["/feed.xml"] for srv in self.servers)

    def reset(self) -> None:
        for srv in self.servers:
            srv.requests.clear()


@pytest.fixture(scope="module")
def site():
    s = Site()
    yield s
    s.close()


def make_config(tmp: Path, feeds: list[str], backend_lines: str = "") -> list[str]:
    config = tmp / "config"
    config.mkdir(exist_ok=True)
    (config / "settings.yaml").write_text(
        "fetch: {allow_networks: ['127.0.0.1/32'], per_host_min_interval: 0, timeout_total: 10}\n"
        "extract: {workers: 2}\nenrich: {keywords: 0}\n" + backend_lines)
    (config / "feeds.yaml").write_text("feeds:\n" + "".join(f"  - url: {u}\n" for u in feeds))
    return ["--config", str(config), "--db", str(tmp / "data" / "ingest.db")]


def ingest_cmd(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "ingest", "run", "--once", "--json", *args]


def env() -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT))
    e.pop("INGEST_DB", None)
    return e


def run_killed_at(args: list[str], site: Site, when) -> None:
    """Start a run and SIGKILL it as soon as `when(site)` holds (or let it end if it never does)."""
    proc = subprocess.Popen(ingest_cmd(args), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if when(site):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait(30)


def run_normally(args: list[str]) -> dict:
    done = subprocess.run(ingest_cmd(args), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def stored_urls(db: Path) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT url FROM articles")]
    except sqlite3.OperationalError:  # killed before the schema was written
        return []
    finally:
        con.close()


def processes_with(marker: str) -> list[int]:
    """Processes whose command line mentions `marker` (forked workers inherit their parent's)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmdline = (d / "cmdline").read_bytes()
            status = (d / "status").read_text()
        except OSError:
            continue
        if marker.encode() in cmdline and "State:\tZ" not in status:
            found.append(int(d.name))
    return found


# Kill points over the whole cold run: while polling, then by article pages the server has answered
# (the last ones while the final batches are extracted and written).
KILL_POINTS = {
    "first-feed": lambda s: s.feed_fetches() >= 1,
    "mid-polling": lambda s: s.feed_fetches() >= 5,
    "first-page": lambda s: s.total_pages() >= 1,
    "page-60": lambda s: s.total_pages() >= 60,
    "page-100": lambda s: s.total_pages() >= 100,
    "page-150": lambda s: s.total_pages() >= 150,
    "page-200": lambda s: s.total_pages() >= 200,
    "page-250": lambda s: s.total_pages() >= 250,
    "page-290": lambda s: s.total_pages() >= 290,
    "all-fetched": lambda s: s.total_pages() >= 300,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_anywhere_then_a_normal_run_stores_every_article_once(site, tmp_path, point):
    args = make_config(tmp_path, site.feeds)
    db = tmp_path / "data" / "ingest.db"
    site.reset()
    run_killed_at(args, site, KILL_POINTS[point])
    # the extraction workers died with their parent
    deadline = time.monotonic() + 5
    while processes_with(str(db)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(str(db)) == [], "orphaned worker processes after kill -9"
    before = set(stored_urls(db))
    first = site.page_fetches()

    site.reset()
    run_normally(args)
    second = site.page_fetches()

    urls = stored_urls(db)
    assert len(urls) == len(set(urls)) == HOSTS * PER_HOST  # every article, exactly once
    assert set(urls) == set(site.pages)
    assert not [u for u in before if second.get(u)]  # nothing stored before the kill is fetched again
    assert max((first.get(u, 0) + second.get(u, 0) for u in site.pages), default=0) <= 2
    # only pages in flight when the process died (fetched, not yet stored: at most the pipeline's
    # window) are fetched a second time
    refetched = [u for u in site.pages if first.get(u) and second.get(u)]
    assert len(refetched) <= max(2 * STORE_BATCH, WINDOW_PER_WORKER * 2)


def test_second_run_on_the_same_store_exits_with_one_line(site, tmp_path):
    args = make_config(tmp_path, site.feeds)
    site.reset()
    first = subprocess.Popen(ingest_cmd(args), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while site.feed_fetches() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        second = subprocess.run(ingest_cmd(args), env=env(), capture_output=True, text=True, timeout=60)
    finally:
        first.wait(120)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another `ingest run`" in lines[0] and "ingest.db" in lines[0], second.stderr
    assert first.returncode == 0
    assert max(site.page_fetches().values()) == 1  # the second run fetched nothing


def test_sigterm_finishes_the_batch_and_leaves_the_rest_queued(site, tmp_path):
    args = make_config(tmp_path, site.feeds)
    db = tmp_path / "data" / "ingest.db"
    site.reset()
    proc = subprocess.Popen(ingest_cmd(args), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120

    def mid_run() -> bool:  # pages fetched and a first batch written: on a loaded machine the first
        # extractions can take longer than the 3 s grace, and "finishes the batch" needs a batch under way
        return site.total_pages() >= 80 and db.exists() and bool(stored_urls(db))
    while not mid_run() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    report = json.loads(out.strip().splitlines()[-1])
    stored = stored_urls(db)
    assert 0 < len(stored) < HOSTS * PER_HOST and report["left_queued"] > 0
    assert processes_with(str(db)) == []
    con = sqlite3.connect(db)
    queued = con.execute("SELECT count(*) FROM pending").fetchone()[0]
    con.close()
    assert queued == HOSTS * PER_HOST - len(stored)  # the rest is queued, nothing lost
    site.reset()
    run_normally(args)
    assert sorted(stored_urls(db)) == sorted(site.pages)
    assert not [u for u in stored if site.page_fetches().get(u)]


# -- a full disk ------------------------------------------------------------------------------------

def _mount_small_fs(where: Path, size_kb: int) -> str | None:
    """A size-limited file system at `where`: tmpfs, else a loop-mounted ext2 image. None if neither mounts."""
    where.mkdir()
    tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
                           capture_output=True, text=True)
    if tmpfs.returncode == 0:
        return None
    image = where.parent / "small.img"
    steps = [["dd", "if=/dev/zero", f"of={image}", "bs=1k", f"count={size_kb}"], ["mkfs.ext2", "-q", "-F", str(image)],
             ["mount", "-o", "loop", str(image), str(where)]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return f"cannot mount a small file system (tmpfs: {tmpfs.stderr.strip()}; {step[0]}: {done.stderr.strip()})"
    return None


def test_full_disk_stops_with_one_line_and_loses_nothing(tmp_path):
    feed_site = Site(hosts=3, per_host=21)  # 63 articles
    mount = tmp_path / "small"
    reason = _mount_small_fs(mount, 4096)
    if reason:
        feed_site.close()
        pytest.skip(reason)
    try:
        config = make_config(tmp_path, feed_site.feeds)
        args = [config[0], config[1], "--db", str(mount / "ingest.db")]
        assert subprocess.run([sys.executable, "-m", "ingest", "status", *args], env=env(),
                              capture_output=True).returncode == 0  # creates the empty store
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        filler = mount / "filler"
        for room in (0, 160_000):  # no room even for the polls; then room for the polls, not the articles
            filler.write_bytes(b"\0" * max(0, free - room))
            done = subprocess.run(ingest_cmd(args), env=env(), capture_output=True, text=True, timeout=300)
            assert done.returncode == 2
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert str(mount / "ingest.db") in lines[0] and "disk is full" in lines[0]
            filler.unlink()
        first = feed_site.page_fetches()
        before = stored_urls(mount / "ingest.db")
        assert len(before) < 63  # the disk filled up before everything was stored

        feed_site.reset()
        report = run_normally(args)
        urls = stored_urls(mount / "ingest.db")
        assert len(urls) == len(set(urls)) == 63 and set(urls) == set(feed_site.pages)
        assert report["stored"] == 63 - len(before)  # the rest, from the queue, each once
        second = feed_site.page_fetches()
        assert max(first.get(u, 0) + second.get(u, 0) for u in feed_site.pages) <= 2
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        feed_site.close()


def test_daemon_sigterm_finishes_its_batches_and_the_rest_stays_queued(site, tmp_path):
    args = make_config(tmp_path, site.feeds)
    db = tmp_path / "data" / "ingest.db"
    site.reset()
    daemon = subprocess.Popen([sys.executable, "-m", "ingest", "run", *args], env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while site.total_pages() < 60 and time.monotonic() < deadline:
        time.sleep(0.005)
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=60)  # bench/pipeline.py --sigterm measures how long it takes
    assert daemon.returncode == 0, err
    assert "Traceback" not in err
    assert processes_with(str(db)) == []
    stored = stored_urls(db)
    site.reset()
    run_normally(args)
    assert sorted(stored_urls(db)) == sorted(site.pages)
    assert not [u for u in stored if site.page_fetches().get(u)]


@pytest.mark.parametrize("point", ["page-100"])
def test_sigkill_on_elasticsearch_loses_nothing(site, tmp_path, point):
    """The same on Elasticsearch: the queue, the seen entries and the outbox are one local SQLite file."""
    import uuid

    from conftest import require_es
    from elasticsearch import Elasticsearch

    url = require_es()
    prefix = f"test-crash-{uuid.uuid4().hex[:8]}"
    args = make_config(tmp_path, site.feeds, f"store: {{backend: elasticsearch, elasticsearch: "
                                            f"{{url: '{url}', index_prefix: {prefix}}}}}\n")
    client = Elasticsearch(url)
    try:
        site.reset()
        run_killed_at(args, site, KILL_POINTS[point])
        first = site.page_fetches()
        site.reset()
        run_normally(args)
        second = site.page_fetches()
        client.indices.refresh(index=f"{prefix}-articles")
        hits = client.search(index=f"{prefix}-articles", size=1000, source=["url"])["hits"]["hits"]
        urls = [h["_source"]["url"] for h in hits]
        assert len(urls) == len(set(urls)) == HOSTS * PER_HOST and set(urls) == set(site.pages)
        assert max(first.get(u, 0) + second.get(u, 0) for u in site.pages) <= 2
        con = sqlite3.connect(tmp_path / "data" / "ingest.db")
        assert con.execute("SELECT count(*) FROM pending").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM es_outbox").fetchone()[0] == 0
        con.close()
    finally:
        client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        client.close()
