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
