"""Stories: the syndication clusters and follow-up reports on one event, across days.

    stories = StoryGrouper(settings.enrich)
    story_id = stories.assign(StoryDoc.of(article))      # after clusters.py set the cluster

A cluster (`clusters.py`) holds copies of one text; a story holds every report on one event, also
those that re-word it a day later. Each article becomes a bag of weighted terms (`terms`):

- title words (weight `TITLE`), the first `LEAD_WORDS` words of the body (1 each, at most
  `LEAD_CAP` per word) and the key phrases' words (`KEYWORD`): stop words dropped, stemmed in the
  article's language, so "Streik"/"Streiks" and "strike"/"strikes" are one term;
- watchlist entities and places (enrich/entities.py, places.py) as terms of their own (`ENTITY`).

Terms are weighted by their inverse document frequency over the articles of the window: a company
named in every article of the week, or "court" in every court report, weighs little, so two court
cases of one company (a hard negative) do not share a story for their shared names alone; what
separates them is the words specific to each case. The score of an article against a story is the
highest cosine similarity with one of the story's reports (a follow-up resembles the latest
development more than the first report), each shared term adding at most `TERM_CAP` (a rare city
named in two unrelated reports of the week must not make them one story), times a time decay `1 / (1 + days / story_decay_days)`
over the gap to that report. The article joins the best story at `enrich.story_threshold` or
higher, else starts a story of its own (story id = its article id). A copy joins its cluster's
story without scoring: a syndicated text is always the same story.

Candidates come from an inverted index over the terms of the articles published in the last
`enrich.story_window_days` days, so an article is compared only with reports sharing a term; terms in
more than `COMMON_SHARE` of the window's documents are not looked up (they cannot carry a story).
Reports in other languages share few terms: stories are in practice per language, joined across
languages only through names and places (documented limit).

`bench/stories.py` measures pairwise precision and recall on the labelled set in bench/data.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ingest.config import EnrichSettings
from ingest.enrich.compounds import parts_text
from ingest.models import Article, utcnow
from ingest.text import fold, stem_words, tokens

TITLE = 3.0          # a title word counts as three body mentions
KEYWORD = 2.0
ENTITY = 1.0         # a watchlist entity or a place
PART = 1.0           # a compound's part (Lokführergewerkschaft: lok, fuhrer, gewerkschaft)
LEAD_WORDS = 120     # body words read (news puts the event first)
LEAD_CAP = 3         # mentions counted per body word (a long text does not drown its title)
MIN_LEN = 3          # shorter words are not terms
COMMON_SHARE = 0.5   # terms in more than this share of the window's reports find no candidates (they still score)
MIN_COMMON_DOCS = 20  # ... once the window holds this many documents
TERM_CAP = 0.1      # most one shared term adds to a score: one shared name or place is not a story
NORM_DRIFT = 0.1     # stored norms are recomputed when the window's size moved by this share
FORGET_EVERY = 3600.0  # seconds between two thinnings of the in-memory index
_WEIGHTS: dict[float, float] = {}  # the weights seen (a few dozen sums of the constants above)


def _when(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _words(text: str, language: str | None) -> list[str]:
    from ingest.enrich.keywords import stopwords

    stops = stopwords(language)
    words = [w for w in (fold(t) for t in tokens(text)) if len(w) >= MIN_LEN and w not in stops and not w.isdigit()]
    return stem_words(words, language)


def terms(title: str, body: str, keywords: Iterable[str] = (), entities: Iterable[str] = (),
          places: Iterable[str] = (), language: str | None = None) -> dict[str, float]:
    """The weighted terms of one article (see the module note)."""
    bag: defaultdict[str, float] = defaultdict(float)
    for w in _words(title, language):
        bag[w] += TITLE
    lead = Counter(_words(" ".join(body.split()[:LEAD_WORDS]), language))
    for w, n in lead.items():
        bag[w] += min(n, LEAD_CAP)
    for part in parts_text(f"{title}\n{' '.join(body.split()[:LEAD_WORDS])}", language).split():
        bag[part] += PART
    for phrase in keywords:
        for w in _words(phrase, language):
            bag[w] += KEYWORD
    for name in entities:
        bag["@e:" + fold(name)] += ENTITY
    for place in places:
        bag["@p:" + fold(place)] += ENTITY
    # one string per term and one float per weight in the window's index, not one per report (-1/3 memory)
    return {sys.intern(t): _WEIGHTS.setdefault(w, w) for t, w in bag.items()}


@dataclass(slots=True)
class StoryDoc:
    """What story assignment needs of an article."""

    id: str
    published: datetime | None
    terms: dict[str, float]
    cluster_id: str | None = None
    story_id: str | None = None

    @classmethod
    def of(cls, article: Article) -> StoryDoc:
        """From an `Article` (or anything with its enrichment fields)."""
        return cls(article.id, article.published,
                   terms(article.title or "", article.body or "", article.keywords, article.entities,
                         article.places, article.language),
                   article.cluster_id, article.story_id)


@dataclass(slots=True)
class _Story:
    members: list[str] = field(default_factory=list)   # article ids, in arrival order


class StoryGrouper:
    """In-memory index of the window's reports; `assign` gives each new one its story."""

    def __init__(self, threshold: float = 0.2, window_days: float = 7.0, decay_days: float = 30.0) -> None:
        self.threshold = threshold
        self.window = timedelta(days=window_days)
        self.decay_days = decay_days
        self.docs: dict[str, StoryDoc] = {}
        self.postings: dict[str, set[str]] = {}
        self.stories: dict[str, _Story] = {}
        self.cluster_story: dict[str, str] = {}
        self._norms: dict[str, float] = {}
        self._norms_at = 0

    @classmethod
    def from_settings(cls, settings: EnrichSettings) -> StoryGrouper:
        return cls(settings.story_threshold, settings.story_window_days, settings.story_decay_days)

    # -- weights ------------------------------------------------------------------------------

    def idf(self, term: str) -> float:
        return math.log((1 + len(self.docs)) / (1 + len(self.postings.get(term, ())))) + 1.0

    def _vector(self, doc: StoryDoc) -> tuple[dict[str, float], float]:
        vec = {t: w * self.idf(t) for t, w in doc.terms.items()}
        return vec, math.sqrt(sum(v * v for v in vec.values())) or 1.0

    def _common(self, term: str) -> bool:
        n = len(self.docs)
        return n >= MIN_COMMON_DOCS and len(self.postings.get(term, ())) > COMMON_SHARE * n

    # -- scoring ------------------------------------------------------------------------------

    def _decay(self, a: StoryDoc, b: StoryDoc) -> float:
        days = abs((_when(a.published) - _when(b.published)).total_seconds()) / 86400
        return 1.0 / (1.0 + days / self.decay_days) if self.decay_days > 0 else 1.0

    def _norm(self, doc_id: str) -> float:
        """A stored report's vector norm, recomputed for all when the window grew or shrank by a tenth
        (the idf weights move with it); between two recomputations the norms are a little stale."""
        n = len(self.docs)
        if abs(n - self._norms_at) > NORM_DRIFT * max(self._norms_at, 1):
            self._norms.clear()
            self._norms_at = n
        norm = self._norms.get(doc_id)
        if norm is None:
            norm = self._norms[doc_id] = self._vector(self.docs[doc_id])[1]
        return norm

    def scores(self, doc: StoryDoc) -> dict[str, float]:
        """Story id -> score: the best decayed cosine with one of the story's reports. Term at a time over
        the postings of the article's terms (a report sharing none is never looked at); terms in most of
        the window's reports only add to the reports found through the others."""
        vec, norm = self._vector(doc)
        idf = {t: self.idf(t) for t in vec}
        common = {t for t in vec if self._common(t)}
        parts: dict[str, list[float]] = {}
        for t, w in vec.items():
            if t in common:
                continue
            for other_id in self.postings.get(t, ()):
                parts.setdefault(other_id, []).append(w * self.docs[other_id].terms[t] * idf[t])
        parts.pop(doc.id, None)
        # each shared term adds at most TERM_CAP: fewer shared terms than that takes cannot reach the threshold
        needed = math.ceil(self.threshold / TERM_CAP - 1e-9)
        best: dict[str, float] = {}
        for other_id, products in parts.items():
            other = self.docs[other_id]
            products += [vec[t] * other.terms[t] * idf[t] for t in common if t in other.terms]
            if len(products) < needed:
                continue
            scale = norm * self._norm(other_id)
            score = sum(min(p / scale, TERM_CAP) for p in products) * self._decay(doc, other)
            story = other.story_id or other_id
            if score > best.get(story, 0.0):
                best[story] = score
        return best

    def best_story(self, doc: StoryDoc) -> tuple[str | None, float]:
        best, best_score = None, 0.0
        for story, score in sorted(self.scores(doc).items()):
            if score >= self.threshold and score > best_score:
                best, best_score = story, score
        return best, best_score

    # -- assignment ---------------------------------------------------------------------------

    def assign(self, doc: StoryDoc) -> str:
        """The story of a new article (a copy: its cluster's story); the article is indexed."""
        if doc.id in self.docs:
            return self.docs[doc.id].story_id or doc.id
        story = self.cluster_story.get(doc.cluster_id) if doc.cluster_id else None
        if story is None:
            story, _ = self.best_story(doc)
        doc.story_id = story or doc.id
        self.add(doc)
        return doc.story_id

    def add(self, doc: StoryDoc) -> None:
        """Index a report whose story is known (loaded from the store, or just assigned)."""
        if doc.id in self.docs:
            return
        story_id = doc.story_id = doc.story_id or doc.id
        self.docs[doc.id] = doc
        for t in doc.terms:
            self.postings.setdefault(t, set()).add(doc.id)
        self.stories.setdefault(story_id, _Story()).members.append(doc.id)
        if doc.cluster_id:
            self.cluster_story.setdefault(doc.cluster_id, story_id)

    def forget_before(self, cutoff: datetime) -> int:
        """Drop reports published before `cutoff` (the window moves on)."""
        old = [d for d in self.docs.values() if d.published is not None and _when(d.published) < cutoff]
        for doc in old:
            del self.docs[doc.id]
            self._norms.pop(doc.id, None)
            for t in doc.terms:
                posting = self.postings.get(t)
                if posting is not None:
                    posting.discard(doc.id)
                    if not posting:
                        del self.postings[t]
            story = self.stories.get(doc.story_id or doc.id)
            if story is not None:
                story.members = [m for m in story.members if m != doc.id]
                if not story.members:
                    self.stories.pop(doc.story_id or doc.id, None)
        live = {d.cluster_id for d in self.docs.values() if d.cluster_id}
        self.cluster_story = {c: s for c, s in self.cluster_story.items() if c in live}
        return len(old)


# -- the pipeline's side ----------------------------------------------------------------------------

log = logging.getLogger("ingest.enrich")
MAX_LOAD = 10_000    # reports of the window read from the index at start (the latest ones; a search page)


class StoryLedger(Protocol):
    """The index method story assignment reads: the window's stored articles, oldest first."""

    def story_candidates(self, since: datetime, limit: int) -> Sequence[Article]: ...


class Stories:
    """The story of every new article of a stored batch (after `clusters.py` set its cluster)."""

    def __init__(self, settings: EnrichSettings, ledger: StoryLedger) -> None:
        self.settings = settings
        self._ledger = ledger
        self._grouper: StoryGrouper | None = None
        self._pruned = 0.0

    def _loaded(self) -> StoryGrouper:
        window = timedelta(days=self.settings.story_window_days)
        if self._grouper is None:
            grouper = StoryGrouper.from_settings(self.settings)
            try:
                for a in self._ledger.story_candidates(utcnow() - window, MAX_LOAD):
                    grouper.add(StoryDoc.of(a))
            except Exception as exc:  # noqa: BLE001 - index down: never lose the batch; read the window next time
                log.warning("stories: stored reports not readable (%s); this batch is grouped on its own", exc)
                return grouper
            self._grouper = grouper
        if time.monotonic() - self._pruned > FORGET_EVERY:
            self._pruned = time.monotonic()
            self._grouper.forget_before(utcnow() - window)
        return self._grouper

    def assign(self, articles: list[Article]) -> None:
        """Set `story_id` of the new articles, in order of publication (a re-stored article keeps its story)."""
        grouper = self._loaded()
        for a in sorted(articles, key=lambda a: (_when(a.published), a.id)):
            doc = StoryDoc.of(a)
            a.story_id = grouper.assign(doc)


# -- developments: what a report adds to its story ----------------------------------------------------


def novelty(body: str, earlier: Iterable[str]) -> float:
    """Share of the report's content shingles (dedupe.py: word 4-grams of its content lines) that none of
    the story's earlier reports has: ~0 for a copy or a trimmed copy, low for a rewrite that keeps the
    sentences, high for a report with new facts. A text without shingles adds nothing (0.0)."""
    from ingest.enrich.dedupe import shingles

    own, _ = shingles(body)
    if not own:
        return 0.0
    seen: set[str] = set()
    for text in earlier:
        seen |= shingles(text)[0]
    return len(own - seen) / len(own)
