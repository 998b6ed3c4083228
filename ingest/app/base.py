"""The application's resources: settings, the store, the alert engine, the pipeline, the run lock.

Every topic of `ingest.app` (feeds, search, alerts, sites, maintenance, status) is a mixin over this
base; `ingest.app.Ingest` combines them. Only `ingest.app` (and the pipeline stages it builds) holds
the store: the CLI, the web app, the daemon and the demo call methods of `Ingest`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Self

from ingest.config import Settings
from ingest.errors import IngestError
from ingest.store import Backends, open_backends
from ingest.store.protocols import OutboxHook

if TYPE_CHECKING:  # the pipeline pulls in trafilatura, feedparser, scipy: imported when a command needs it
    from ingest.alerts.engine import AlertEngine
    from ingest.enrich.entities import Watchlist
    from ingest.extract import SiteProfile
    from ingest.pipeline import Pipeline, Progress

log = logging.getLogger("ingest")


class AppBase:
    shard: tuple[int, int] | None = None  # (i, n): this ingester polls only its share of the feeds

    def __init__(self, settings: Settings, store: Backends | None = None):
        self.settings = settings
        self._store = store
        self._site_profiles: dict[str, SiteProfile] | None = None
        self._alerts: AlertEngine | None = None  # created on first use when config/rules.yaml exists
        self._alerts_loaded = False
        self.stopping = threading.Event()  # set on SIGTERM/SIGINT: runs finish their batch and return

    # -- resources -------------------------------------------------------------------------------

    @property
    def store(self) -> Backends:
        """The store, opened on first use. For `ingest.app` and tests only: interfaces call methods."""
        if self._store is None:
            self._store = open_backends(self.settings.store)
        return self._store

    @property
    def backend(self) -> str:
        """The backend that answers (sqlite, elasticsearch, opensearch)."""
        return str(self.store.backend)

    def close(self) -> None:
        if self._alerts is not None:
            self._alerts.close()
            self._alerts = None
        self._alerts_loaded = False
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def site_profiles(self) -> dict[str, SiteProfile]:
        if self._site_profiles is None:
            from ingest.extract.sites import load_site_profiles

            self._site_profiles = load_site_profiles(self.settings.sites_dir)
        return self._site_profiles

    def alerts(self) -> AlertEngine | None:
        """The alert engine for config/rules.yaml, its delivery thread started; None without rules file.
        A broken rules file raises ConfigError naming the file and key."""
        if not self._alerts_loaded:
            from ingest.alerts import engine_for

            self._alerts = engine_for(self.settings, self.store)
            self._alerts_loaded = True
        return self._alerts

    def watchlist(self) -> Watchlist:
        """config/entities.yaml as a Watchlist (empty without the file); errors name the file and key."""
        from ingest.enrich.entities import load_watchlist

        return load_watchlist(self.settings.entities_file)

    def pipeline(self, progress: Progress | None = None, on_stored=None, alerts: bool = True,
                 updates: bool = True) -> Pipeline:
        """A pipeline whose stored batches go to the alert engine (unless alerts=False) and `on_stored`;
        articles stored from their page are watched for updates (unless updates=False; `ingest.updates`)."""
        from ingest.pipeline import Pipeline

        engine = self.alerts() if alerts else None
        hook = on_stored
        if engine is not None:
            def hook(articles, _extra=on_stored, _engine=engine):
                _engine.on_stored(articles)
                if _extra is not None:
                    _extra(articles)
        pipe = Pipeline(self.settings, self.store, site_profiles=self.site_profiles(), progress=progress,
                        on_stored=hook, watchlist=self.watchlist(), stop=self.stopping)
        if updates and self.settings.updates.checks:
            from ingest.updates import UpdateScheduler, coverage_state

            pipe.batch_hooks.append(UpdateScheduler(self.settings.updates, coverage_state(self.store)))
        return pipe

    @contextmanager
    def run_lock(self, wait: bool = False) -> Iterator[None]:
        """One `run` per store and shard at a time: a lock file beside the local SQLite state.

        A second run exits with one line naming the holder (or waits for it with `wait`). The lock is
        the kernel's (flock): a killed run releases it with its process, no stale file to clean up."""
        path = Path(self.settings.store.sqlite_path)
        name = path.name + (f".shard-{self.shard[0]}-of-{self.shard[1]}" if self.shard else "") + ".run.lock"
        lock_path = path.with_name(name)
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IngestError(f"{lock_path}: cannot create the run lock: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
                raise IngestError(f"{path}: another `ingest run` (pid {holder}) is using this store"
                                  + (f" shard {self.shard[0]}/{self.shard[1]}" if self.shard else "")
                                  + "; wait for it to finish (or use `ingest run --wait`)") from None
            try:  # the holder's pid, for the message a second run prints; the lock does not need it
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
            except OSError:  # a full disk: the store says so, naming its file, when it is written
                pass
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- optional store abilities (Elasticsearch/OpenSearch: the local outbox) -------------------------

    def _outbox(self) -> OutboxHook | None:
        """The index's outbox hook when its writes wait locally for a search engine, else None."""
        return self.store.index.outbox

    def has_outbox(self) -> bool:
        return self._outbox() is not None

    def outbox_size(self) -> int | None:
        """Documents waiting in the local outbox for the search engine; None without an outbox."""
        outbox = self._outbox()
        return None if outbox is None else int(outbox.size())

    def flush_outbox(self) -> int:
        """Send what waits in the outbox now (a no-op without one); returns how many were sent."""
        outbox = self._outbox()
        return 0 if outbox is None else int(outbox.flush())
