"""The application layer holds the store: interfaces (CLI, web, daemon, demo) call `ingest.app.Ingest`.

And every module of the package imports: no own-module ImportError fallback can hide a broken one.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import ingest

ROOT = Path(ingest.__file__).resolve().parent
INTERFACES = ["cli", "web", "daemon.py", "demo", "saved.py"]  # parse input, format output, through ingest.app
OWNERS = ("app", "store")  # the application layer holds the store; the store's own modules


def _files(names: list[str]) -> list[Path]:
    out: list[Path] = []
    for name in names:
        path = ROOT / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _store_reaches(path: Path, own: bool = False) -> list[str]:
    """`x.store` attribute reads where x is not a settings object (settings.store is configuration);
    with `own`, `self.store` is allowed too (a stage object the application handed its store to)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("store", "_store"):
            owner = ast.unparse(node.value)
            if not owner.split(".")[-1].endswith("settings") and not (own and owner == "self"):
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_interfaces_never_reach_the_store():
    found = [hit for path in _files(INTERFACES) for hit in _store_reaches(path)]
    assert found == [], "go through an ingest.app.Ingest method instead:\n" + "\n".join(found)


def test_stages_use_only_the_store_they_were_given():
    """Outside ingest/app and ingest/store, a stage (pipeline, poller, alert engine) uses `self.store`,
    handed to it by the application; nothing reaches into another object's store."""
    paths = [p for p in _files(["."]) if p.relative_to(ROOT).parts[0] not in OWNERS]
    found = [hit for path in paths for hit in _store_reaches(path, own=True)]
    assert found == [], "\n".join(found)


def test_the_check_sees_a_reach_through(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f(app):\n    return app.store.search(1), app.settings.store.backend\n")
    assert [h.split(": ", 1)[1] for h in _store_reaches(probe)] == ["app.store"]


MODULES = sorted(m.name for m in pkgutil.walk_packages([str(ROOT)], "ingest.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name):
    importlib.import_module(name)


def test_no_fallback_around_own_modules():
    """`except ImportError` is for optional third-party extras only, never around an ingest module."""
    found = []
    for path in _files(["."]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            catches = [ast.unparse(h.type) for h in node.handlers if h.type is not None]
            if not any("ImportError" in c for c in catches):
                continue
            imports = [n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Import | ast.ImportFrom)]
            names = [a.name for n in imports if isinstance(n, ast.Import) for a in n.names]
            names += [n.module or "" for n in imports if isinstance(n, ast.ImportFrom)]
            names += [ast.unparse(n) for stmt in node.body for n in ast.walk(stmt)
                      if isinstance(n, ast.Call) and "import_module" in ast.unparse(n.func)]
            if any(x.startswith("ingest") or "ingest." in x for x in names):
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert found == [], "a broken ingest module must fail loudly:\n" + "\n".join(found)


def test_one_meaning_per_name():
    """Names that meant two things: one definition each now."""
    import ingest.alerts.rules as rules

    assert not hasattr(rules, "validate_query")  # rules.query_problem returns a line; app.filters raises
    assert rules.NAME.match("a" * rules.NAME_MAX) and not rules.NAME.match("a" * (rules.NAME_MAX + 1))
    from ingest.web.api import RuleIn

    RuleIn(name="a" * rules.NAME_MAX, query="x")  # the API takes every name the engine takes


def test_rule_names_are_not_shared_between_stages():
    """Extraction rules and alert rules are different things with different names."""
    import ingest.extract.rulepack as clean
    import ingest.query.presearch as presearch

    assert not hasattr(clean, "Rule") and not hasattr(clean, "RuleError") and not hasattr(clean, "parse_rules")
    assert hasattr(clean, "CleanRule") and hasattr(clean, "CleanRuleError") and not hasattr(presearch, "parse_rules")
