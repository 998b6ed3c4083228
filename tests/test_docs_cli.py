"""The docs show every command, and every `ingest ...` example in them parses: README's command table
and code blocks, docs/operations.md. (Parsing, not running: the commands' behaviour has its own tests.)"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from ingest.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "operations.md"]


def commands() -> list[str]:
    """'run', 'feeds add', ... every command and sub-action the parser knows."""
    parser = build_parser()
    out = []
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                subs = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
                out += [f"{name} {child}" for a in subs for child in a.choices] if subs else [name]
    return out


def examples() -> list[tuple[str, str]]:
    """(doc, command line) for every `ingest ...` in a table row or a shell block of the docs."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
        table_rows = "\n".join(ln for ln in text.splitlines() if ln.startswith("| "))  # prose mentions are no examples
        lines = [ln for b in blocks for ln in b.splitlines()] + re.findall(r"`((?:\.venv/bin/)?ingest [^`]+)`",
                                                                           table_rows)
        for line in lines:
            line = re.sub(r"\s+#.*$", "", line).strip()
            m = re.search(r"(?:^|\s|/)ingest (.+)$", line)
            if m and "ingest " in line and not line.startswith(("sudo", "journalctl", "cp ", "export")):
                found.append((doc.name, "ingest " + m.group(1)))
    return found


def test_every_command_is_in_the_readme_with_an_example():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = {cmd for _, cmd in examples()}
    for cmd in commands():
        words = cmd.split()
        in_table = re.search(rf"`ingest {re.escape(words[0])}[ `\[]", readme) is not None
        example = any(e.split()[1:1 + len(words)] == words for e in shown) or (
            len(words) == 2 and any(e.split()[1] == words[0] for e in shown) and words[1] in readme)
        assert in_table and example, f"README lacks `ingest {cmd}` with an example"


@pytest.mark.parametrize(("doc", "line"), examples())
def test_documented_examples_parse(doc, line):
    if any(p in line for p in ("QUERY", "FILE", "|", "...", "ID", "DOMAIN", "NAME", "[")):
        pytest.skip("a synopsis, not an example")
    argv = shlex.split(line.replace("$(date +%F)", "2026-12-01"))[1:]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code != 0:  # --help / --version exit 0
            raise AssertionError(f"{doc}: `{line}` does not parse") from None
