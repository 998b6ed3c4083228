"""Language: detected from the clean text, reconciled with what the page and the feed declare."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _code(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if len(code) == 2 and code.isalpha() else None


def detect_language(text: str) -> tuple[str | None, float]:
    if not text.strip():
        return None, 0.0
    lang, prob = _identifier().classify(text[:5000])
    return lang, float(prob)


def reconcile_language(text: str, declared: str | None = None, feed: str | None = None,
                       min_chars: int = 200) -> str | None:
    """ISO 639-1 code. Detection wins when the text is long enough to be sure; else what was declared."""
    declared_code = _code(declared) or _code(feed)
    detected, prob = detect_language(text)
    if detected and (len(text) >= min_chars and prob >= 0.5 or declared_code is None):
        return detected
    return declared_code or detected
