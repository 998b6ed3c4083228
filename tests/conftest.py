from __future__ import annotations

import os
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
# Clusters the `backend` fixture can use: (URL variable, default URL, script that starts a node).
CLUSTERS = {
    "elasticsearch": ("INGEST_ES_URL", "http://127.0.0.1:9200", "scripts/es-node.sh"),
    "opensearch": ("INGEST_OS_URL", "http://127.0.0.1:9201", "scripts/opensearch-node.sh"),
}
BACKENDS = ["sqlite", *CLUSTERS]


def cluster_url(backend: str) -> str | None:
    """URL of a reachable node of the backend, or None. In CI a missing node is an error, not a skip
    (INGEST_SKIP_ES skips both clusters, INGEST_SKIP_OS OpenSearch only)."""
    import os
    import urllib.request

    variable, default, _script = CLUSTERS[backend]
    if os.environ.get("INGEST_SKIP_ES") or (backend == "opensearch" and os.environ.get("INGEST_SKIP_OS")):
        return None
    url = os.environ.get(variable, default)
    try:
        with urllib.request.urlopen(url + "/_cluster/health", timeout=3):  # noqa: S310 - loopback node
            return url
    except OSError:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI needs {backend} at {url} (started by scripts/test.sh)") from None
        return None


def es_url() -> str | None:
    return cluster_url("elasticsearch")


def require_cluster(backend: str) -> str:
    url = cluster_url(backend)
    if url is None:
        variable, default, script = CLUSTERS[backend]
        pytest.skip(f"no {backend} node at {os.environ.get(variable, default)} (start one with `bash {script} up`)")
    return url


def require_es() -> str:
    return require_cluster("elasticsearch")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param in CLUSTERS:
        require_cluster(request.param)
    return request.param


@pytest.fixture
def backend_settings(settings: Settings, backend: str) -> Settings:
    """`settings` pointed at the requested backend; a cluster gets indices of its own, removed after."""
    import uuid

    settings.store.backend = backend
    prefix = None
    if backend in CLUSTERS:
        prefix = f"test-{uuid.uuid4().hex[:10]}"
        conf = getattr(settings.store, backend)
        conf.url = require_cluster(backend)
        conf.index_prefix = prefix
    yield settings
    if prefix:
        from ingest.store import open_backends

        store = open_backends(settings.store)
        store.index.client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        store.index.client.close()  # no flush: nothing may recreate the indices just removed
        store.state.close()


@pytest.fixture
def store(backend_settings: Settings):
    from ingest.store import open_backends

    s = open_backends(backend_settings.store)
    yield s
    s.close()
