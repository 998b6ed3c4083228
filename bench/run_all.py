#!/usr/bin/env python3
"""Run every benchmark and write one Markdown report (`make bench`).

    python bench/run_all.py                 # every benchmark, report to bench/results/latest.md (make bench)
    python bench/run_all.py --quick         # smaller sizes, the 181-page extraction set only (make bench-quick)
    python bench/run_all.py --full          # also the large sizes the README's scale figures use (make bench-full)
    python bench/run_all.py --only search,extraction

Each benchmark runs as its own process with `--json`; a failing or missing one is reported, not fatal.
Elasticsearch rows appear when INGEST_ES_URL points at a node (`make es-up`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import dataset_name, machine  # noqa: E402

W = str(os.cpu_count() or 1)
BENCHES = {
    # name: (script, default args, quick args, full args). The default run stays under 15 minutes on
    # 2 cores; `--full` adds the sizes the README's scale figures come from (10,000-article pipeline,
    # 100,000-article search, 100,000 alert rules).
    "extraction": ("extraction.py", ["--workers", W],
                   ["--workers", W, "--dataset", "article-extraction"], ["--workers", W]),  # quick: 181 pages
    "pipeline": ("pipeline.py", ["--sizes", "1000"], ["--sizes", "500"], ["--sizes", "1000,10000"]),
    "search": ("search.py", ["--articles", "20000", "--rounds", "2"], ["--articles", "10000", "--rounds", "1"],
               ["--articles", "100000", "--rounds", "2"]),
    "enrich": ("enrich.py", ["--repeat", "2", "--cpu"], ["--repeat", "1", "--cpu"], ["--repeat", "2", "--cpu"]),
    "main_process": ("main_process.py", ["--articles", "500"], ["--articles", "300"], ["--articles", "1000"]),
    "polling": ("polling.py", [], ["--sizes", "1000"], []),
    "cli_start": ("cli_start.py", ["--runs", "5"], ["--runs", "3"], ["--runs", "7"]),
    "alerts": ("alerts.py", ["--corpus", "5000", "--batches", "3"], ["--rules", "1000", "--corpus", "5000"],
               ["--corpus", "10000", "--batches", "4", "--rules", "1000", "--rules", "10000", "--rules", "100000"]),
}


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=HERE).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def run(name: str, args: list[str], timeout: float) -> dict:
    script = HERE / BENCHES[name][0]
    if not script.exists():
        return {"name": name, "error": f"{script.name} not found"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script), *args, "--json"], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        return {"name": name, "seconds": seconds, "error": (proc.stderr or proc.stdout).strip()[-800:]}
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        return {"name": name, "seconds": seconds, "error": "no JSON output"}
    return {"name": name, "seconds": seconds, "data": data}


def table(rows: list[dict], keys: list[str]) -> str:
    keys = [k for k in keys if any(k in r for r in rows)]
    if not rows or not keys:
        return ""

    def fmt(v):
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        return str(v)

    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    out += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(out)


def render(result: dict) -> str:
    name, data = result["name"], result.get("data") or {}
    if "error" in result:
        return f"### {name}\n\nnot measured: {result['error']}\n"
    rows = data.get("results") or data.get("rows") or []
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        keys = [k for k in rows[0] if not isinstance(rows[0][k], dict | list)]
        body = table(rows, keys)
    else:
        body = "```json\n" + json.dumps({k: v for k, v in data.items() if k != "machine"}, indent=1)[:3000] + "\n```"
    return f"### {name} ({result['seconds']:.0f} s)\n\n{body}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    size.add_argument("--full", action="store_true", help="also the large sizes (10,000-article pipeline, "
                      "100,000-article search, 100,000 rules): about an hour")
    ap.add_argument("--only", help="comma-separated subset: " + ",".join(BENCHES))
    ap.add_argument("--out", default=str(HERE / "results" / "latest.md"))
    ap.add_argument("--timeout", type=float, default=600, help="seconds per benchmark")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(BENCHES)
    results = []
    for name in names:
        _, default, quick, full = BENCHES[name]
        print(f"running {name} …", file=sys.stderr, flush=True)
        try:
            results.append(run(name, quick if args.quick else full if args.full else default,
                               args.timeout * (6 if args.full else 1)))
        except subprocess.TimeoutExpired:
            results.append({"name": name, "error": f"timed out after {args.timeout:.0f} s"})
    es = "with Elasticsearch at " + os.environ["INGEST_ES_URL"] if os.environ.get("INGEST_ES_URL") else "SQLite only"
    total = sum(r.get("seconds", 0) for r in results)
    report = (f"## Benchmarks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\nMachine: {machine()}; data: {dataset_name()}; "
              f"{es}; commit {commit()}; command: `make bench` (`python bench/run_all.py"
              f"{' --quick' if args.quick else ' --full' if args.full else ''}`); {total / 60:.1f} minutes in all\n\n"
              + "\n".join(render(r) for r in results))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
