"""The Kibana saved objects under kibana/: valid NDJSON, resolvable references, the agreed fields."""

from __future__ import annotations

import json
from pathlib import Path

KIBANA = Path(__file__).resolve().parent.parent / "kibana"
FIELDS = {"title", "body", "source", "domain", "language", "tags", "keywords", "published", "indexed", "cluster_id"}


def objects() -> list[dict]:
    out = []
    for path in sorted(KIBANA.glob("*.ndjson")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                obj = json.loads(line)
                assert isinstance(obj, dict), f"{path.name}:{n}"
                out.append(obj)
    return out


def test_ndjson_parses_and_ids_are_unique():
    objs = objects()
    assert objs, "no saved objects under kibana/"
    keys = [(o["type"], o["id"]) for o in objs]
    assert len(keys) == len(set(keys))
    for o in objs:
        assert {"type", "id", "attributes", "references"} <= set(o)
        assert o["attributes"].get("title")


def test_data_view():
    views = [o for o in objects() if o["type"] == "index-pattern"]
    assert len(views) == 1
    attrs = views[0]["attributes"]
    assert attrs["title"] == "ingest-articles*" and attrs["timeFieldName"] == "indexed"


def test_references_resolve_and_embedded_json_parses():
    objs = objects()
    known = {(o["type"], o["id"]) for o in objs}
    for o in objs:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in known, (o["id"], ref)
        meta = o["attributes"].get("kibanaSavedObjectMeta", {})
        if "searchSourceJSON" in meta:
            source = json.loads(meta["searchSourceJSON"])
            if "indexRefName" in source:
                assert source["indexRefName"] in {r["name"] for r in o["references"]}
        for key in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON"):
            if key in o["attributes"]:
                json.loads(o["attributes"][key])


def test_dashboard_has_the_four_charts_on_agreed_fields():
    objs = objects()
    dashboards = [o for o in objs if o["type"] == "dashboard"]
    assert len(dashboards) == 1
    dash = dashboards[0]
    panels = json.loads(dash["attributes"]["panelsJSON"])
    ref_names = {r["name"]: r for r in dash["references"]}
    assert len(panels) >= 4
    for p in panels:
        assert f"{p['panelIndex']}:{p['panelRefName']}" in ref_names
    vis = {o["id"]: json.loads(o["attributes"]["visState"]) for o in objs if o["type"] == "visualization"}
    used = {r["id"] for r in dash["references"]}
    assert {"ingest-mentions-over-time", "ingest-top-sources", "ingest-top-keywords", "ingest-tags"} <= used
    fields = {agg["params"]["field"] for v in vis.values() for agg in v["aggs"] if "field" in agg.get("params", {})}
    assert fields <= FIELDS and {"published", "source", "keywords", "tags"} <= fields
    mentions = vis["ingest-mentions-over-time"]
    assert any(a["type"] == "date_histogram" for a in mentions["aggs"])
    for o in objs:
        if o["type"] == "search":
            assert set(o["attributes"]["columns"]) <= FIELDS
