"""alerts: rules matched at ingest time, a ledger so each story alerts once per rule, real delivery.

    from ingest.alerts import AlertEngine, load_rules
    engine = AlertEngine(store, load_rules(settings.rules_file), settings.alerts).start()
    pipeline = Pipeline(settings, store, on_stored=engine.on_stored)

`ingest.alerts.atom.rule_feed(store.index, rule)` renders a rule's hits as Atom (served at /alerts/<rule>.atom).
"""

from ingest.alerts.engine import AlertEngine, engine_for, story_of
from ingest.alerts.rules import Channel, Rule, RulesError, load_rules, parse_rules, redact_url

__all__ = ["AlertEngine", "Channel", "Rule", "RulesError", "engine_for", "load_rules", "parse_rules", "redact_url",
           "story_of"]
