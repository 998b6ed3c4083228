"""The node started by scripts/es-node.sh: healthy, and what the project needs from it.

Runs against INGEST_ES_URL, else http://127.0.0.1:9200; skips with a reason when no node answers there.
Elasticsearch's integ-test zip (what scripts/es-node.sh runs) has neither the analysis-common module (language
analyzers such as `german`) nor the percolator module: those two tests skip, naming the missing module,
and run on a full distribution (e.g. the docker-compose stack).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.es

URL = os.environ.get("INGEST_ES_URL", "http://127.0.0.1:9200")


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_cluster/health", timeout=3):  # noqa: S310 - a loopback node
            return True
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture(scope="module")
def es():
    if os.environ.get("INGEST_SKIP_ES") or not _reachable(URL):
        pytest.skip(f"no Elasticsearch node at {URL} (start one with `bash scripts/es-node.sh up`)")
    from elasticsearch import Elasticsearch

    client = Elasticsearch(URL, request_timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="module")
def modules(es) -> set[str]:
    # `GET /` (client.info()/ping()) needs the rest-root module, which the integ-test zip lacks: use _nodes.
    nodes = es.nodes.info(node_id="_local", metric="plugins")["nodes"]
    node = next(iter(nodes.values()))
    return {m["name"] for m in node.get("modules", [])} | {p["name"] for p in node.get("plugins", [])}


def _require(modules: set[str], name: str) -> None:
    if name not in modules:
        pytest.skip(f"node at {URL} has no {name} module (modules: {', '.join(sorted(modules))})")


def test_node_is_healthy(es):
    health = es.cluster.health(wait_for_status="yellow", timeout="30s")
    assert health["status"] in ("yellow", "green")
    assert not health["timed_out"]
    assert health["number_of_nodes"] == 1


def test_german_analyzer_stems_plural_and_singular_alike(es, modules):
    _require(modules, "analysis-common")

    def tokens(text: str) -> list[str]:
        return [t["token"] for t in es.indices.analyze(analyzer="german", text=text)["tokens"]]

    assert tokens("Drohnen") == tokens("Drohne")
    assert len(tokens("Drohnen")) == 1


def test_percolator_query_matches(es, modules):
    _require(modules, "percolator")
    index = f"test-es-node-perc-{uuid.uuid4().hex[:8]}"
    es.indices.create(index=index, mappings={"properties": {
        "query": {"type": "percolator"}, "body": {"type": "text"}}},
        settings={"number_of_shards": 1, "number_of_replicas": 0})
    try:
        es.index(index=index, id="drones", document={"query": {"match": {"body": "drone"}}}, refresh=True)
        es.index(index=index, id="ships", document={"query": {"match": {"body": "ship"}}}, refresh=True)
        hits = es.index.search(index=index, query={"percolate": {
            "field": "query", "document": {"body": "a drone over the harbour"}}})["hits"]["hits"]
        assert [h["_id"] for h in hits] == ["drones"]
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
