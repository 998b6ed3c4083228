#!/usr/bin/env python3
"""How long the `ingest` command takes to start and answer, as a user's shell or cron sees it.

    python bench/cli_start.py              # 7 runs each, median and max wall time
    python bench/cli_start.py --json

Each command runs as a fresh process (`python -m ingest ...`) against a small SQLite store made
here, beside the baseline of starting Python itself (`python -c pass`) in the same run. Target
(issue 15): `--help`, `status` and `search` under 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        db, cfg = str(Path(tmp) / "s.db"), str(Path(tmp) / "config")
        sys.path.insert(0, str(ROOT))
        from ingest.models import Article
        from ingest.store import open_sqlite

        store = open_sqlite(db)  # a store with a few articles, so search has work to do
        store.index.upsert_articles([Article(id=f"{i:020x}", url=f"https://e.org/{i}", title=f"Drohnen {i}",
                                       body="Die Drohne flog über den Hafen. " * 20, source="E",
                                       domain="e.org") for i in range(200)])
        store.close()
        base = [sys.executable, "-m", "ingest"]
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "ingest --help": base + ["--help"],
            "ingest --version": base + ["--version"],
            "ingest status": base + ["status", "--db", db, "--config", cfg],
            "ingest search Drohne": base + ["search", "Drohne", "--db", db, "--config", cfg],
        }
        rows = []
        for name, cmd in commands.items():
            median, worst = timed(cmd, env, args.runs)
            rows.append({"command": name, "median_s": round(median, 3), "max_s": round(worst, 3)})
    base_s = rows[0]["median_s"]
    for row in rows:
        row["over_python_s"] = round(row["median_s"] - base_s, 3)
    if args.json:
        print(json.dumps({"results": rows, "runs": args.runs}))
        return
    print(f"{'command':<28} {'median s':>9} {'max s':>7} {'over python s':>14}")
    for r in rows:
        print(f"{r['command']:<28} {r['median_s']:>9.3f} {r['max_s']:>7.3f} {r['over_python_s']:>14.3f}")


if __name__ == "__main__":
    main()
