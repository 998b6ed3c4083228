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
highest cosine similarity with one of the story's recent reports (a follow-up resembles the latest
development more than the first report), times a time decay `1 / (1 + days / story_decay_days)`
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

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ingest.enrich.compounds import parts_text
from ingest.text import fold, stem_words, tokens

TITLE = 3.0          # a title word counts as three body mentions
KEYWORD = 2.0
ENTITY = 1.0         # a watchlist entity or a place
PART = 1.0           # a compound's part (Lokführergewerkschaft: lok, fuhrer, gewerkschaft)
LEAD_WORDS = 120     # body words read (news puts the event first)
LEAD_CAP = 3         # mentions counted per body word (a long text does not drown its title)
MIN_LEN = 3          # shorter words are not terms
COMMON_SHARE = 0.5   # terms in more than this share of the window's documents are not looked up
MIN_COMMON_DOCS = 20  # ... once the window holds this many documents
MAX_MEMBERS = 50     # reports of one story scored against (the latest ones)


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
    bag: Counter[str] = Counter()
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
    return dict(bag)


@dataclass(slots=True)
class StoryDoc:
    """What story assignment needs of an article."""

    id: str
    published: datetime | None
    terms: dict[str, float]
    cluster_id: str | None = None
    story_id: str | None = None

    @classmethod
    def of(cls, article) -> StoryDoc:
        """From an `Article` (or anything with its enrichment fields)."""
        return cls(article.id, article.published,
                   terms(article.title or "", article.body or "", article.keywords, article.entities,
                         article.places, article.language),
                   article.cluster_id, getattr(article, "story_id", None))


@dataclass(slots=True)
class _Story:
    members: list[str] = field(default_factory=list)   # article ids, in arrival order


class StoryGrouper:
    """In-memory index of the window's reports; `assign` gives each new one its story."""

    def __init__(self, threshold: float = 0.26, window_days: float = 7.0, decay_days: float = 30.0) -> None:
        self.threshold = threshold
        self.window = timedelta(days=window_days)
        self.decay_days = decay_days
        self.docs: dict[str, StoryDoc] = {}
        self.postings: dict[str, set[str]] = {}
        self.stories: dict[str, _Story] = {}
        self.cluster_story: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings) -> StoryGrouper:
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

    def scores(self, doc: StoryDoc) -> dict[str, float]:
        """Story id -> score: the best decayed cosine with one of the story's latest reports."""
        vec, norm = self._vector(doc)
        candidates: set[str] = set()
        for t in vec:
            if not self._common(t):
                candidates |= self.postings.get(t, set())
        candidates.discard(doc.id)
        best: dict[str, float] = {}
        for other_id in candidates:
            other = self.docs[other_id]
            story = other.story_id or other_id
            if other_id not in self.stories.get(story, _Story()).members[-MAX_MEMBERS:]:
                continue
            ovec, onorm = self._vector(other)
            dot = sum(w * ovec[t] for t, w in vec.items() if t in ovec)
            score = dot / (norm * onorm) * self._decay(doc, other)
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
