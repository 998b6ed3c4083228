"""The query language shared by search and alerts: parse once, compile per backend.

    from ingest.query import parse, to_text
    node = parse('(Iran OR Teheran) AND Drohne* NOT lang:en')
    to_text(node)   # canonical text: '(Iran OR Teheran) AND Drohne* AND NOT lang:en'

Compilers live beside their adapters: `ingest.store.sqlite.query.compile_sqlite` and
`ingest.store.elasticsearch.query.compile_es`. The language is documented in docs/query-language.md.
"""

from ingest.query.ast import (
           And,
           Field,
           Near,
           Node,
           Not,
           Or,
           Phrase,
           Prefix,
           Range,
           Term,
           positive_words,
           to_text,
)
from ingest.query.parser import parse

__all__ = ["And", "Field", "Near", "Node", "Not", "Or", "Phrase", "Prefix", "Range", "Term", "parse",
           "positive_words", "to_text"]
