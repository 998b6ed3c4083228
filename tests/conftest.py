from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback import LoopbackServer  # noqa: E402

from ingest.config import Settings, load_settings  # noqa: E402


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    return d


@pytest.fixture
def settings(tmp_path: Path, config_dir: Path) -> Settings:
    """Settings for tests: loopback allowed explicitly, short timeouts, no politeness gap, one process."""
    env = {"INGEST_ALLOW_NETWORKS": "127.0.0.1/32"}
    s = load_settings(str(config_dir), str(tmp_path / "ingest.db"), env=env)
    s.fetch.timeout_total = 5
    s.fetch.timeout_read = 2
    s.fetch.per_host_min_interval = 0
    s.extract.workers = 1
    return s


# -- backends ------------------------------------------------------------------------------------

def es_url() -> str | None:
    """URL of a reachable Elasticsearch node, or None. In CI a missing node is an error, not a skip."""
    import os
    import urllib.request

    if os.environ.get("INGEST_SKIP_ES"):
        return None
    url = os.environ.get("INGEST_ES_URL", "http://127.0.0.1:9200")
    try:
        with urllib.request.urlopen(url + "/_cluster/health", timeout=3):  # noqa: S310 - loopback node
            return url
    except OSError:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI needs Elasticsearch at {url} (started by scripts/test.sh)") from None
        return None


def require_es() -> str:
    url = es_url()
    if url is None:
        pytest.skip("no Elasticsearch node reachable (start one with `make es-up`)")
    return url


@pytest.fixture(params=["sqlite", "elasticsearch"])
def backend(request) -> str:
    if request.param == "elasticsearch":
        require_es()
    return request.param


@pytest.fixture
def backend_settings(settings: Settings, backend: str) -> Settings:
    """`settings` pointed at the requested backend; Elasticsearch gets indices of its own, removed after."""
    import uuid

    settings.store.backend = backend
    prefix = None
    if backend == "elasticsearch":
        prefix = f"test-{uuid.uuid4().hex[:10]}"
        settings.store.elasticsearch.url = require_es()
        settings.store.elasticsearch.index_prefix = prefix
    yield settings
    if prefix:
        from elasticsearch import Elasticsearch

        client = Elasticsearch(settings.store.elasticsearch.url)
        client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        client.close()


@pytest.fixture
def store(backend_settings: Settings):
    from ingest.store import open_store

    s = open_store(backend_settings.store)
    yield s
    s.close()
