"""The architecture the README promises is the one the code has.

- The import contracts in pyproject.toml (`[tool.importlinter]`: the stage layers, and the foundation
  modules under them) hold: `lint-imports` is run here too, so `make test` alone catches a later stage
  imported by an earlier one.
- README → Architecture lists exactly the contract's layers, in the same order (bottom up), and the
  foundation contract forbids exactly those layers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"


def _contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def _layers_contract() -> dict:
    layered = [c for c in _contracts() if c["type"] == "layers"]
    assert len(layered) == 1, "pyproject.toml: expected one `layers` import contract"
    return layered[0]


def contract_layers() -> list[set[str]]:
    """The layers bottom up, each a set of modules (`a | b` and `a : b` name siblings in one layer)."""
    return [set(re.split(r"\s*[|:]\s*", layer.strip())) for layer in reversed(_layers_contract()["layers"])]


def _module(path: str) -> str:
    return path.removesuffix("/").removesuffix(".py").replace("/", ".")


def readme_layers() -> list[set[str]]:
    """The Architecture table's rows in order, each the set of `ingest/...` packages its second column names."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, "README → Architecture has no layer table"
    layers = []
    for row in rows[2:]:  # after the header and the |---| line
        cells = [c.strip() for c in row.strip("|").split("|")]
        packages = {_module(p) for p in re.findall(r"`(ingest/[\w/.]*)`", cells[1])}
        assert packages, f"README → Architecture: row {row!r} names no `ingest/...` package"
        layers.append(packages)
    return layers


def test_readme_layers_are_the_import_contract():
    assert readme_layers() == contract_layers(), (
        "README → Architecture (bottom up) and the layers contract in pyproject.toml differ: "
        f"README {readme_layers()} vs contract {contract_layers()}")


def test_foundation_contract_forbids_every_layer():
    forbidden = [c for c in _contracts() if c["type"] == "forbidden"]
    assert forbidden, "pyproject.toml: the foundation-modules contract is missing"
    layers = set().union(*contract_layers())
    for contract in forbidden:
        assert set(contract["forbidden_modules"]) == layers, contract["name"]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), f"{lint_imports} missing: `make install` installs import-linter (the dev extra)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
