"""The node started by scripts/opensearch-node.sh: OpenSearch, healthy, with a working percolator module.

Runs against INGEST_OS_URL, else http://127.0.0.1:9201; skips with a reason when no node answers there
(in CI the node is required: scripts/test.sh starts it and conftest turns a missing node into an error).
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.es


@pytest.fixture(scope="module")
def client():
    from conftest import require_cluster
    from opensearchpy import OpenSearch

    c = OpenSearch(require_cluster("opensearch"), timeout=30)
    yield c
    c.close()


def test_node_is_opensearch_and_healthy(client):
    assert client.info()["version"]["distribution"] == "opensearch"
    health = client.cluster.health(wait_for_status="yellow")  # the server waits up to 30 s
    assert health["status"] in ("yellow", "green") and health["number_of_nodes"] == 1


def test_percolator_module_is_loaded_and_matches(client):
    nodes = client.nodes.info(node_id="_local", metric="plugins")["nodes"]
    modules = {m["name"] for m in next(iter(nodes.values()))["modules"]}
    assert "percolator" in modules, modules
    index = f"test-os-node-perc-{uuid.uuid4().hex[:8]}"
    client.indices.create(index=index, body={
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"query": {"type": "percolator"}, "body": {"type": "text"}}}})
    try:
        client.index(index=index, id="drones", body={"query": {"match": {"body": "drone"}}}, refresh=True)
        client.index(index=index, id="ships", body={"query": {"match": {"body": "ship"}}}, refresh=True)
        hits = client.search(index=index, body={"query": {"percolate": {
            "field": "query", "documents": [{"body": "a ship"}, {"body": "a drone over the harbour"}]}}})["hits"]["hits"]
        slots = {h["_id"]: h["fields"]["_percolator_document_slot"] for h in hits}
        assert slots == {"drones": [1], "ships": [0]}
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
