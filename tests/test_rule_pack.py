"""Every boilerplate rule matches its examples and spares its counter-examples (real article sentences)."""

from __future__ import annotations

import pytest

from ingest.extract.clean import load_rules

RULES = load_rules()


def test_rule_pack_covers_languages_and_kinds():
    ids = {r.id for r in RULES}
    for lang in ("de", "en", "fr", "es", "it"):
        assert any(i.startswith(lang + "-") for i in ids), lang
    assert {r.kind for r in RULES} == {"drop", "section", "tags", "credit"}
    assert all(r.examples for r in RULES), [r.id for r in RULES if not r.examples]


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(rule):
    for example in rule.examples:
        assert rule.matches(example), f"{rule.id} misses {example!r}"
    for sentence in rule.counter_examples:
        assert not rule.matches(sentence), f"{rule.id} would delete {sentence!r}"
