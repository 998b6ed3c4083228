#!/usr/bin/env python3
"""Does a change leave extraction's output as it was? Every benchmark page's extraction, dumped and compared.

    .venv/bin/python bench/extraction_identity.py --write /tmp/before.jsonl   # on the code before the change
    .venv/bin/python bench/extraction_identity.py --compare /tmp/before.jsonl # after it: the pages that differ

For speed work that must not change what is extracted: one JSON line per page of every dataset under
../shared/benchmarks/ (see bench/extraction.py), holding what `extract_parts` returned (the body blocks
with their link counts, title, author, dates, tags, captions, lead, access...) and the `Extracted` that
`extract_article` made of it (text, removed blocks and why, tags, captions, fingerprints). --compare
prints each differing page with the first fields that differ and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import sys
from pathlib import Path

from extraction import datasets  # bench/extraction.py: the datasets found, ROOT on sys.path

import ingest.extract as extract_module
from ingest.config import ExtractSettings


def _plain(value):
    return json.loads(json.dumps(dataclasses.asdict(value), default=str)) if value is not None else None


def page_records() -> list[dict]:
    """{id, parts, extracted} of every page, parts as `extract_parts` returned them (before cleaning)."""
    settings = ExtractSettings()
    seen: list = []
    original = extract_module.extract_parts

    def recording(*args, **kwargs):
        parts = original(*args, **kwargs)
        seen.append(_plain(parts))  # now: the caller normalises the blocks' text in place
        return parts

    extract_module.extract_parts = recording
    out = []
    try:
        for folder in datasets(None):
            truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
            for item in sorted(truth):
                page = folder / "html" / f"{item}.html.gz"
                if not page.exists():
                    continue
                url = truth[item].get("url") if isinstance(truth[item], dict) else None
                seen.clear()
                try:
                    result = {"extracted": _plain(extract_module.extract_article(
                        gzip.decompress(page.read_bytes()), url or f"https://example.org/{item}", settings))}
                except Exception as exc:  # noqa: BLE001 - a refused page is an outcome to compare too
                    result = {"error": f"{type(exc).__name__}: {exc}"}
                out.append({"id": f"{folder.name}/{item}", "parts": seen[:], **result})
    finally:
        extract_module.extract_parts = original
    return out


def differences(a, b, path: str = "") -> list[str]:
    """Paths of the fields where `a` and `b` differ (a list of different length is one difference)."""
    if type(a) is not type(b):
        return [path or "."]
    if isinstance(a, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path} (length {len(a)} != {len(b)})"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path or "."]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="dump every page's extraction to this JSON-lines file")
    mode.add_argument("--compare", type=Path, help="compare every page's extraction with this dump")
    args = ap.parse_args(argv)
    records = page_records()
    if args.write:
        args.write.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        print(f"{len(records)} pages written to {args.write}")
        return 0
    before = {r["id"]: r for r in map(json.loads, args.compare.read_text(encoding="utf-8").splitlines())}
    differing = 0
    for record in records:
        diff = differences(before.get(record["id"]), record)
        if diff:
            differing += 1
            print(f"{record['id']}: {', '.join(diff[:5])}{' ...' if len(diff) > 5 else ''}")
    missing = len(set(before) - {r["id"] for r in records})
    print(f"{differing} of {len(records)} pages differ from {args.compare}" + (f"; {missing} pages missing" if missing else ""))
    return 1 if differing or missing else 0


if __name__ == "__main__":
    sys.exit(main())
