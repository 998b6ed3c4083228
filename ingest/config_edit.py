"""Edit a YAML config file in place, keeping what a person wrote: comments, blank lines, key order,
quoting. Used by `feeds add/remove/import-opml` and the web app's add-feed and save-rule.

The file is first read and validated by the normal loader (`read_yaml`: safe, size-bounded, errors
name the file); the edit then goes through ruamel.yaml's round-trip mode (MIT licence), which keeps
the comments, and is written atomically (temporary file + rename), so a crash never leaves half a file.
"""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

from ingest.config import read_yaml
from ingest.errors import ConfigError


def _round_trip():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def edit_list(path: Path, key: str, change: Callable[[list[Any]], bool], header: str = "") -> bool:
    """Load `path`, call `change(items)` on the list under `key` (created when missing) and write the
    file back only when `change` returns True. Returns what `change` returned."""
    path = Path(path)
    yaml = _round_trip()
    if path.exists() and path.read_text(encoding="utf-8").strip():
        read_yaml(path)  # validation and bomb checks with the normal loader; raises ConfigError
        doc = yaml.load(path.read_text(encoding="utf-8"))
    else:
        doc = None
    if doc is None:
        from ruamel.yaml.comments import CommentedMap

        doc = CommentedMap()
        if header:
            doc.yaml_set_start_comment(header)
    if not isinstance(doc, dict):
        raise ConfigError(str(path), "", f"expected a mapping with `{key}:`")
    if doc.get(key) is None:
        from ruamel.yaml.comments import CommentedSeq

        doc[key] = CommentedSeq()
    items = doc[key]
    if not isinstance(items, list):
        raise ConfigError(str(path), key, "expected a list")
    if not change(items):
        return False
    buf = StringIO()
    yaml.dump(doc, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
    return True
