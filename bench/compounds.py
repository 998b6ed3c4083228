#!/usr/bin/env python3
"""German compound splitting scored against the labelled lists, and what it does to search.

    python bench/compounds.py                 # split precision / recall, share of non-compounds left whole
    python bench/compounds.py --errors        # also list every wrong or missed split
    python bench/compounds.py --search        # query-level check and index cost (with / without the view)
    python bench/compounds.py --halves        # also each half of the lists (a fixed hash of the word), to see it generalise
    python bench/compounds.py --json

Labelled lists (written from news vocabulary before the splitter, tests/fixtures/compounds/):
- de_compounds.txt: compounds with their expected leaf parts (`Bundesnetzagentur = Bund + Netz + Agentur`);
- de_whole.txt: words that must stay whole (false boundaries like Heirat, prefix derivations, names).

Parts are compared by German Snowball stem (what the index holds): Bundes/Bund and Kinder/Kind are
the same part. Precision = right predicted parts / all predicted parts (a part predicted for a
must-stay-whole word counts as wrong); recall = right predicted parts / expected parts.

--search: the German articles of the demo corpus and of ../shared/benchmarks pages are indexed into
two SQLite stores, one with the parts view and one without (same code, view emptied); for 50+ query
words the hit counts are compared, and each extra hit is judged by the labelled list: relevant when
the article contains a labelled compound whose expected parts include the query word's stem.
Index size and indexing time per article are measured on both stores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from common import markdown_table  # noqa: E402

from ingest.enrich.compounds import split_word  # noqa: E402
from ingest.text import stem_words  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "compounds"


def load_compounds(path: Path = FIXTURES / "de_compounds.txt") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, parts = line.partition(" = ")
        out[word.strip()] = [p.strip() for p in parts.split(" + ")]
    return out


def load_whole(path: Path = FIXTURES / "de_whole.txt") -> list[str]:
    words = [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip() and not w.startswith("#")]
    return list(dict.fromkeys(words))


def stems(parts: list[str]) -> list[str]:
    return stem_words([p.lower() for p in parts], "de")


def half(word: str) -> str:
    """"A" or "B": a fixed hash of the word, so the halves never change as the lists grow."""
    return "AB"[hashlib.blake2b(word.encode("utf-8"), digest_size=1).digest()[0] & 1]


def score(errors: bool = False, only: str | None = None) -> dict:
    """Precision, recall and the whole-word rate over the lists, or over one half (`only`: "A"/"B")."""
    compounds, whole = load_compounds(), load_whole()
    if only:
        compounds = {w: p for w, p in compounds.items() if half(w) == only}
        whole = [w for w in whole if half(w) == only]
    right = predicted = expected = 0
    exact = 0
    wrong_lines: list[str] = []
    started = time.process_time()  # CPU seconds: the machine is shared
    for word, parts in compounds.items():
        want = stems(parts)
        got = stems(split_word(word, "de"))
        remaining = list(want)
        hits = 0
        for g in got:
            if g in remaining:
                remaining.remove(g)
                hits += 1
        right += hits
        predicted += len(got)
        expected += len(want)
        exact += got == want
        if errors and got != want:
            wrong_lines.append(f"  {word}: expected {want}, got {got}")
    kept = 0
    for word in whole:
        got = split_word(word, "de")
        predicted += len(got)
        kept += not got
        if errors and got:
            wrong_lines.append(f"  {word} (must stay whole): got {got}")
    elapsed = time.process_time() - started
    result = {
        "compounds": len(compounds), "whole_words": len(whole),
        "precision": round(right / predicted, 4) if predicted else 0.0,
        "recall": round(right / expected, 4) if expected else 0.0,
        "compounds_split_exactly": round(exact / len(compounds), 4),
        "whole_left_whole": round(kept / len(whole), 4),
        "ms_per_word_first_time": round(1000 * elapsed / (len(compounds) + len(whole)), 3),
        "words_per_s_first_time": round((len(compounds) + len(whole)) / elapsed),
    }
    if errors:
        result["errors"] = wrong_lines
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--halves", action="store_true", help="also score each half of the lists")
    ap.add_argument("--search", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    split_word("Warmup", "de")  # load the word list outside the timing
    result = {"split": score(args.errors)}
    if args.halves:
        result["halves"] = {name: score(only=name) for name in "AB"}
    if args.search:
        from compounds_search import search_check  # noqa: PLC0415 - heavy, only when asked

        result["search"] = search_check()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    split = result["split"]
    for line in split.pop("errors", []):
        print(line)
    if "halves" in result:
        halves = result["halves"]
        rows = [[k, v, halves["A"][k], halves["B"][k]] for k, v in split.items() if "first_time" not in k]
        print(markdown_table(["measure", "whole lists", "half A", "half B"], rows))
        print(markdown_table(["speed (first time, memo empty)", "value"],
                             [[k, v] for k, v in split.items() if "first_time" in k]))
    else:
        print(markdown_table(["measure", "value"], [[k, v] for k, v in split.items()]))
    if "search" in result:
        for title, rows in result["search"].items():
            print(f"\n{title}")
            if rows and isinstance(rows, list) and isinstance(rows[0], dict):
                print(markdown_table(list(rows[0]), [list(r.values()) for r in rows]))
            else:
                print(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
