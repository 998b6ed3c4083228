"""Hostile inputs of issue 21: time and peak memory of each case, one fresh process per case.

    python bench/hostile.py                         # this checkout; a Markdown table on stdout
    python bench/hostile.py --baseline ../main      # the same cases against another checkout too
    python bench/hostile.py --case utf7-feed        # one case (prints one JSON line)
    python bench/hostile.py --audit-regex           # every compiled regex in ingest/ on adversarial text

Every case runs in its own process under a time limit (`--timeout`, default 60 s) and an address
space limit (`--memory`, default 3 GB), so a case that still explodes in a baseline is cut off
and reported as such instead of taking the machine down. Peak memory is the process's max RSS
(Python, the libraries and the input included). Imports and model loading are warmed up before
the timed part. The 400 MB POST case's time includes starting `ingest serve`; its outcome gives
the server's peak RSS, the body bytes sent before the answer and how long the answer took.
Inputs come from tests/hostile_inputs.py, the same ones the test suite uses.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


# -- the cases: each returns a short outcome; they use only functions that exist in older checkouts too --

def case_utf7_feed() -> str:
    from hostile_inputs import entity_feed, utf7

    from ingest.sources.parse import parse_feed

    data = b'<?xml version="1.0" encoding="utf-7"?>' + utf7(entity_feed())  # ~14 KB in, 4 M characters out
    try:
        feed = parse_feed(data, "http://f.example/u7")
    except Exception as exc:  # noqa: BLE001 - the outcome is what the table shows
        return f"refused: {str(exc).split(': ', 1)[-1][:60]}"
    return f"PARSED: title of {len(feed.entries[0].title or '') / 1e6:.1f} M characters from {len(data) // 1024} KB"


def case_ebcdic_feed() -> str:
    from hostile_inputs import entity_feed

    from ingest.sources.parse import parse_feed

    doc = entity_feed()
    data = '<?xml version="1.0" encoding="cp500"?>'.encode("cp500") + doc.encode("cp500")
    try:
        feed = parse_feed(data, "http://f.example/ebcdic")
    except Exception as exc:  # noqa: BLE001
        return f"refused: {str(exc).split(': ', 1)[-1][:60]}"
    return f"PARSED: title of {len(feed.entries[0].title or '') / 1e6:.1f} M characters from {len(data) // 1024} KB"


def case_panic_text() -> str:
    from hostile_inputs import PANIC_TEXT

    from ingest.enrich import extract_keywords

    try:
        found = extract_keywords(PANIC_TEXT, "en", ["Tag"], 10, title="Words")
    except BaseException as exc:  # noqa: BLE001 - PanicException is a BaseException
        return f"CRASHED: {type(exc).__name__}"
    return f"keywords: {found[:3]}"


def case_regex_80k() -> str:
    from hostile_inputs import REGEX_TEXT

    from ingest.enrich import extract_keywords, minhash

    extract_keywords(REGEX_TEXT, "en", [], 10)
    minhash(REGEX_TEXT)
    return "keywords and MinHash done"


def case_item_5mb() -> str:
    from ingest.enrich import count_mentions, extract_keywords, minhash

    text = ("D" * 80_000 + " see www.x.example " + "word " * 20_000 + "\n") * 30  # ~5.5 MB feed item
    extract_keywords(text, "en", [], 10)
    minhash(text)
    count_mentions("t", text, "en", ["word"])
    return f"{len(text) / 1e6:.1f} MB item: keywords, MinHash, mentions done"


def case_pathological_page() -> str:
    from hostile_inputs import pathological_page

    from ingest.config import ExtractSettings
    from ingest.extract import extract_article

    page = pathological_page()
    try:
        ex = extract_article(page, "http://x.example/a", ExtractSettings())
    except Exception as exc:  # noqa: BLE001
        return f"refused: {str(exc)[:80]}"
    return f"extracted {len(ex.text)} characters from {len(page) / 1e6:.1f} MB"


def case_page_5mb_tags() -> str:
    from hostile_inputs import pathological_page

    from ingest.config import ExtractSettings
    from ingest.extract import extract_article

    page = pathological_page(400_000)  # 4.4 MB: under the size cap, over the tag cap
    try:
        ex = extract_article(page, "http://x.example/a", ExtractSettings())
    except Exception as exc:  # noqa: BLE001
        return f"refused: {str(exc)[:80]}"
    return f"extracted {len(ex.text)} characters from {len(page) / 1e6:.1f} MB"


def case_feed_100k() -> str:
    from hostile_inputs import big_feed

    from ingest.sources.parse import parse_feed

    data = big_feed(100_000)
    feed = parse_feed(data, "http://f.example/big.xml")
    return f"{len(feed.entries)} entries read of 100,000 ({len(data) / 1e6:.1f} MB)"


def case_html_lang() -> str:
    from ingest.enrich.language import declared_language

    declared_language(b"<html" * 6_500)
    return "done"


def case_site_pattern() -> str:
    import tempfile

    from ingest.extract.sites import load_site_profiles

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "x.yaml").write_text("domain: x.example\nstrip_text:\n  - '^(a+)+$'\n")
        try:
            profiles = load_site_profiles(Path(tmp))
        except Exception as exc:  # noqa: BLE001
            return f"refused at load: {str(exc).split(': ', 2)[-1][:60]}"
    profiles["x.example"].drop_patterns[0].search("a" * 34 + "!")
    return "searched"


def case_overflow_dates() -> str:
    from hostile_inputs import OVERFLOW_QUERIES

    from ingest.query import parse

    out = []
    for q in OVERFLOW_QUERIES:
        try:
            parse(q)
            out.append("ok")
        except Exception as exc:  # noqa: BLE001
            out.append(type(exc).__name__)
    return ", ".join(sorted(set(out)))


def case_post_400mb() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config").mkdir()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))}
        proc = subprocess.Popen([sys.executable, "-m", "ingest", "serve", "--port", str(port), "--config",
                                 f"{tmp}/config", "--db", f"{tmp}/ingest.db"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.2)
            before = _hwm(proc.pid)
            started = time.monotonic()
            status, sent = _post(port, 400 * 1024 * 1024)
            took = time.monotonic() - started
            return (f"HTTP {status} after {sent / 1e6:.1f} MB sent, answered in {took:.2f} s; server peak RSS "
                    f"{before} -> {_hwm(proc.pid)} MB")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def _post(port: int, size: int) -> tuple[int | None, int]:
    """POST /feeds without a token, declaring `size` bytes, sending until the server answers."""
    head = (f"POST /feeds HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    chunk, sent, answer = b"u" * 65536, 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head)
        sock.settimeout(0.001)
        while sent < size:
            try:
                answer = sock.recv(4096)
                if answer:
                    break
            except (TimeoutError, BlockingIOError):
                pass
            try:
                sock.settimeout(120)
                sock.sendall(chunk)
                sent += len(chunk)
            except OSError:
                break
            finally:
                sock.settimeout(0.001)
        sock.settimeout(120)
        while not answer:
            answer = sock.recv(4096)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
    return status, sent


CASES = {
    "utf7-feed": ("UTF-7 feed declaring an entity (4 M characters expanded)", case_utf7_feed),
    "ebcdic-feed": ("EBCDIC (cp500) feed declaring an entity", case_ebcdic_feed),
    "panic-text": ("keywords of 'word ' x 100,000", case_panic_text),
    "regex-80k": ("keywords + MinHash of 'D' x 80,000", case_regex_80k),
    "item-5mb": ("enrichment of a 5.5 MB feed item", case_item_5mb),
    "page-10mb": ("extraction of <p>a</p><b> x 900k (9.9 MB)", case_pathological_page),
    "page-4mb-tags": ("extraction of <p>a</p><b> x 400k (4.4 MB)", case_page_5mb_tags),
    "feed-100k": ("parse of a 100,000-entry feed", case_feed_100k),
    "html-lang": ("<html lang> of '<html' x 6,500", case_html_lang),
    "site-pattern": ("site rule strip_text '^(a+)+$' on 'a' x 34 + '!'", case_site_pattern),
    "overflow-dates": ("query dates beyond datetime", case_overflow_dates),
    "post-400mb": ("POST /feeds, 400 MB declared, no token", case_post_400mb),
}


def _warm_up() -> None:
    """Imports and first-call model loading, outside the timed part (the same for every checkout)."""
    import ingest.query  # noqa: F401
    import ingest.sources.parse  # noqa: F401
    from ingest.config import ExtractSettings
    from ingest.enrich import extract_keywords, minhash
    from ingest.extract import extract_article

    extract_keywords("Warm up the keyword extractor. Warm up.", "en", [], 1)
    minhash("warm up")
    extract_article(b"<html><body><article><p>Warm up.</p></article></body></html>", None, ExtractSettings())


AUDIT_SEEDS = list("aAD1 \n.@/:<-[,'é\t!\"=%>#*~(") + [
    "a ", "a.", ". ", "a@", "@a", "a.a", "http://", "www.", "<html ", "<meta ", "lang=", "content=", " - ",
    "now+1", "NEAR/1 ", "%4", "aA", "Aa", "a\n", " \n", "1-", "amp/", ". A", ":a", "<html", "<meta", "a:", "ab ",
    "max-age=1", "http-equiv=", "a1"]


def audit_regex(small: int = 2000, factor: int = 4) -> list[tuple[str, str, str, float, float]]:
    """Module-level patterns of ingest/ (and the rule pack) whose time grows faster than linearly:
    (pattern, seed, operation, ms at `small` characters, ms at `factor` times that)."""
    import importlib
    import pkgutil
    import re

    import ingest
    from ingest.extract.rulepack import load_clean_rules

    patterns: dict[str, re.Pattern] = {}
    for info in pkgutil.walk_packages(ingest.__path__, "ingest."):
        if ".demo" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for key, value in vars(module).items():
            values = value if isinstance(value, list) else [value]
            for i, v in enumerate(values):
                if isinstance(v, re.Pattern):
                    patterns[f"{info.name}.{key}" + (f"[{i}]" if isinstance(value, list) else "")] = v
    patterns.update({f"rule pack: {r.id}": r.regex for r in load_clean_rules()})
    flagged = []
    for name, pattern in patterns.items():
        for seed in AUDIT_SEEDS:
            def text(n: int, seed=seed, pattern=pattern):
                s = (seed * (n // len(seed) + 1))[:n]
                return s.encode() if isinstance(pattern.pattern, bytes) else s
            short, long = text(small), text(small * factor)
            for op in ("search", "findall", "split", "match"):
                fn = getattr(pattern, op)
                t0 = time.perf_counter()
                fn(short)
                t_short = time.perf_counter() - t0
                if t_short < 0.002:
                    continue
                t0 = time.perf_counter()
                fn(long)
                t_long = time.perf_counter() - t0
                if t_long > 2 * factor * t_short and t_long > 0.01:
                    flagged.append((name, repr(seed), op, round(t_short * 1000, 1), round(t_long * 1000, 1)))
                    break
    return flagged


def run_case(name: str) -> None:
    _warm_up()
    started = time.perf_counter()
    outcome = CASES[name][1]()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"case": name, "seconds": round(seconds, 3), "peak_mb": peak, "outcome": outcome}))


def measure(name: str, checkout: Path, timeout: float, memory_gb: float) -> dict:
    limit = int(memory_gb * 1024 ** 3)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", name]
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=limits)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "peak_mb": None, "outcome": f"still running after {timeout:.0f} s: killed"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        last = (done.stderr.strip().splitlines() or ["?"])[-1][:90]
        return {"seconds": round(time.perf_counter() - started, 1), "peak_mb": None,
                "outcome": f"FAILED (exit {done.returncode}): {last}"}
    return json.loads(lines[-1])


def _cell(result: dict) -> str:
    secs = "–" if result["seconds"] is None else f"{result['seconds']:.2f} s"
    peak = "–" if result["peak_mb"] is None else f"{result['peak_mb']} MB"
    return f"{secs} | {peak} | {result['outcome']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(CASES))
    parser.add_argument("--audit-regex", action="store_true", help="list regexes that grow superlinearly")
    parser.add_argument("--baseline", type=Path, help="another checkout to run the same cases against")
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="a subset of the cases")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--memory", type=float, default=3.0, help="address space limit per case, GB")
    args = parser.parse_args()
    if args.case:
        run_case(args.case)
        return
    if args.audit_regex:
        print(f"{'pattern':50} {'input':14} {'op':8} {'2k chars':>9} {'8k chars':>9}")
        for row in audit_regex():
            print(f"{row[0]:50} {row[1]:14} {row[2]:8} {row[3]:>7} ms {row[4]:>6} ms")
        return
    names = args.only or list(CASES)
    header = "| case | time | peak RSS | outcome |"
    if args.baseline:
        header += " baseline time | baseline peak RSS | baseline outcome |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in names:
        row = f"| {CASES[name][0]} | {_cell(measure(name, ROOT, args.timeout, args.memory))} |"
        if args.baseline:
            row += f" {_cell(measure(name, args.baseline.resolve(), args.timeout, args.memory))} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
