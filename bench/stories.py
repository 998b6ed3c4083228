#!/usr/bin/env python3
"""Story grouping quality: pairwise and B-cubed precision/recall on the labelled set.

    python bench/stories.py                   # figures at the configured threshold, whole set and halves
    python bench/stories.py --thresholds      # also a sweep over thresholds (choose on the dev half only)
    python bench/stories.py --background      # also the sample site's 41 articles as unrelated reports
    python bench/stories.py --scale 10000     # assignment cost with a window of that many stored reports
    python bench/stories.py --json

The set is bench/data/stories.yaml (16 events, 59 reports in en/de/fr, written for this project;
see its header). Every report goes through the real enrichment steps the pipeline runs: language
(`reconcile_language`), keywords (`extract_keywords`), places (`find_places`), watchlist entities
(the set's `entities` list), MinHash clusters (`Clusterer` at the default threshold), then
`StoryGrouper.assign`, in order of publication across all events (as a daemon would see them).

`--background` mixes the sample site's articles (ingest/demo/content, also the project's own texts, en/de)
into the stream, spread over the same days: unrelated reports that make the word statistics more like a
real window's and that labelled reports must not join. They are not scored themselves.

Pairwise: over all pairs of reports, a pair is predicted together when the two share a story and
truly together when they report the same event. B-cubed: per report, precision = share of its
story that is its event, recall = share of its event that is in its story, averaged. "dev" and
"test" restrict the pairs / reports to the events of that half (the grouping still runs over the
whole stream, so cross-half mistakes count as precision errors on both sides); the settings were
chosen on dev only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from common import ROOT  # noqa: F401 - puts the project on the path

from ingest.config import EnrichSettings
from ingest.enrich.dedupe import Clusterer, minhash
from ingest.enrich.entities import Entity, Watchlist
from ingest.enrich.keywords import extract_keywords
from ingest.enrich.language import reconcile_language
from ingest.enrich.places import find_places
from ingest.enrich.stories import StoryDoc, StoryGrouper, terms

DATA = Path(__file__).resolve().parent / "data" / "stories.yaml"


@dataclass(slots=True)
class Report:
    id: str
    event: int
    half: str
    outlet: str
    published: datetime
    title: str
    body: str
    language: str


def copy_text(body: str, outlet: str) -> str:
    """An outlet's take on agency copy: its own credit line, the last sentence dropped."""
    sentences = body.split(". ")
    kept = ". ".join(sentences[:-1]) + "." if len(sentences) > 2 else body
    return f"{kept}\n({outlet.split('.')[0].upper()}/agency)"


def load(path: Path = DATA) -> tuple[list[Report], Watchlist]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    watchlist = Watchlist([Entity(name=e["name"], type=e.get("type", "other"), aliases=e.get("aliases", []))
                           for e in data["entities"]])
    reports: list[Report] = []
    for ev in data["events"]:
        by_id: dict[str, Report] = {}
        for r in ev["reports"]:
            if "copy_of" in r:
                orig = by_id[r["copy_of"]]
                rep = Report(r["id"], ev["event"], ev["half"], r["outlet"], orig.published + timedelta(minutes=40),
                             orig.title, copy_text(orig.body, r["outlet"]), ev["lang"])
            else:
                published = r["published"] if isinstance(r["published"], datetime) else \
                    datetime.fromisoformat(str(r["published"]).replace("Z", "+00:00"))
                rep = Report(r["id"], ev["event"], ev["half"], r["outlet"], published, r["title"], r["body"],
                             ev["lang"])
            by_id[rep.id] = rep
            reports.append(rep)
    reports.sort(key=lambda r: (r.published, r.id))
    return reports, watchlist


def background(reports: list[Report]) -> list[Report]:
    """The sample site's articles as reports of their own events, spread over the labelled set's days."""
    content = ROOT / "ingest" / "demo" / "content"
    outlets = yaml.safe_load((content / "outlets.yaml").read_text(encoding="utf-8"))["outlets"]
    language = {o["key"]: o["language"] for o in outlets}
    items = []
    for path in sorted(content.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for a in (data or {}).get("articles") or []:
            paras = [a.get("lead") or ""] + [p for p in a.get("body") or [] if not p.startswith("#")]
            if len(" ".join(paras).split()) >= 20:
                items.append((data["outlet"], a["slug"], a["title"], "\n".join(paras), language[data["outlet"]]))
    start, end = reports[0].published, reports[-1].published
    step = (end - start) / max(1, len(items))
    return [Report(f"bg-{slug}", -(i + 1), "background", f"{outlet}.example", start + step * i, title, body, lang)
            for i, (outlet, slug, title, body, lang) in enumerate(items)]


def enrich(reports: list[Report], watchlist: Watchlist) -> list[StoryDoc]:
    """The pipeline's enrichment per report, then the syndication clusters."""
    clusterer = Clusterer(EnrichSettings().cluster_threshold)
    docs = []
    for r in reports:
        language = reconcile_language(r.body, r.language) or r.language
        keywords = extract_keywords(r.body, language, [], 10, title=r.title)
        places = find_places(r.title, r.body, language)
        entities = watchlist.find(r.title, r.body, language)
        cluster = clusterer.assign(r.id, r.outlet, r.published, minhash(r.body))
        docs.append(StoryDoc(r.id, r.published, terms(r.title, r.body, keywords, entities, places, language),
                             cluster))
    return docs


def group(docs: list[StoryDoc], threshold: float, window_days: float, decay_days: float) -> dict[str, str]:
    grouper = StoryGrouper(threshold, window_days, decay_days)
    out = {}
    for d in docs:
        fresh = StoryDoc(d.id, d.published, d.terms, d.cluster_id)
        out[d.id] = grouper.assign(fresh)
    return out


def scores(reports: list[Report], story: dict[str, str], half: str | None) -> dict[str, float]:
    chosen = [r for r in reports if r.half != "background" and (half is None or r.half == half)]
    tp = fp = fn = 0
    for a, b in itertools.combinations(chosen, 2):
        same_event, same_story = a.event == b.event, story[a.id] == story[b.id]
        tp += same_event and same_story
        fp += same_story and not same_event
        fn += same_event and not same_story
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    bp = br = 0.0
    for x in chosen:
        in_story = [y for y in chosen if story[y.id] == story[x.id]]
        in_event = [y for y in chosen if y.event == x.event]
        bp += sum(y.event == x.event for y in in_story) / len(in_story)
        br += sum(story[y.id] == story[x.id] for y in in_event) / len(in_event)
    n = len(chosen)
    return {"reports": n, "events": len({x.event for x in chosen}), "pairwise_precision": round(p, 3),
            "pairwise_recall": round(r, 3), "bcubed_precision": round(bp / n, 3), "bcubed_recall": round(br / n, 3)}


def scale_cost(reports: list[Report], docs: list[StoryDoc], n: int, seed: int = 5) -> float:
    """ms per assignment of the labelled reports into a window preloaded with `n` synthetic reports (three
    random sentences of the sample site's articles each, one story each): what a busy window costs."""
    import random

    rng = random.Random(seed)
    sentences = [(x.language, sentence) for x in background(reports) for sentence in x.body.split(". ") if sentence]
    grouper = StoryGrouper(0.2, 7, 30)
    start = reports[0].published
    for i in range(n):
        lang = rng.choice(("en", "de"))
        pool = [s for lg, s in sentences if lg == lang]
        body = ". ".join(rng.sample(pool, 3))
        grouper.add(StoryDoc(f"syn{i}", start, terms(" ".join(body.split()[:7]), body, (), (), (), lang)))
    started = time.perf_counter()
    for d in docs:
        grouper.assign(StoryDoc(d.id, d.published, d.terms, d.cluster_id))
    return (time.perf_counter() - started) * 1000 / len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", action="store_true", help="print the predicted stories")
    parser.add_argument("--background", action="store_true", help="mix in the sample site's articles")
    parser.add_argument("--scale", type=int, default=0, help="also time assignment in a window of N reports")
    args = parser.parse_args()
    settings = EnrichSettings()
    reports, watchlist = load()
    if args.background:
        reports = sorted(reports + background(reports), key=lambda r: (r.published, r.id))
    docs = enrich(reports, watchlist)
    params = (settings.story_window_days, settings.story_decay_days)
    started = time.perf_counter()
    for r in reports:  # the per-article work beside the pipeline's enrichment: the weighted terms
        terms(r.title, r.body, (), (), (), r.language)
    terms_ms = (time.perf_counter() - started) * 1000 / len(reports)
    started = time.perf_counter()
    story = group(docs, settings.story_threshold, *params)
    assign_ms = (time.perf_counter() - started) * 1000 / len(reports)
    result = {h or "all": scores(reports, story, h) for h in (None, "dev", "test")}
    out: dict = {"terms_ms": round(terms_ms, 2), "assign_ms": round(assign_ms, 2), "background": args.background, "threshold": settings.story_threshold, "window_days": params[0], "decay_days": params[1],
                 "results": result}
    if args.thresholds:
        sweep = {}
        for t in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            s = group(docs, t, *params)
            sweep[t] = {h: scores(reports, s, h) for h in ("dev", "test")}
        out["sweep"] = sweep
    if args.scale:
        out["scale"] = {"window": args.scale, "assign_ms": round(scale_cost(reports, docs, args.scale), 2)}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{'with' if args.background else 'without'} background, threshold {out['threshold']}, window {params[0]} days, decay {params[1]} days")
    print(f"per report: terms {terms_ms:.2f} ms, assignment {assign_ms:.2f} ms ({len(reports)} reports in the window)")
    print(f"{'set':5} {'events':>6} {'reports':>7}  {'pair P':>6} {'pair R':>6}  {'B3 P':>6} {'B3 R':>6}")
    for name, s in result.items():
        print(f"{name:5} {s['events']:6} {s['reports']:7}  {s['pairwise_precision']:6.3f} {s['pairwise_recall']:6.3f}"
              f"  {s['bcubed_precision']:6.3f} {s['bcubed_recall']:6.3f}")
    for t, halves in out.get("sweep", {}).items():
        print(f"  t={t:<5} " + "  ".join(f"{h}: P {s['pairwise_precision']:.3f} R {s['pairwise_recall']:.3f}"
                                         for h, s in halves.items()))
    if args.scale:
        print(f"window of {args.scale} synthetic reports: assignment {out['scale']['assign_ms']:.2f} ms per report")
    if args.show:
        by_story: dict[str, list[str]] = {}
        for r in reports:
            by_story.setdefault(story[r.id], []).append(f"{r.id}")
        for members in by_story.values():
            print(" ".join(members))


if __name__ == "__main__":
    main()
