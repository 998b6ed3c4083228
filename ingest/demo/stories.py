"""Load the sample site's outlets and stories from `content/*.yaml` and check them.

The data is plain YAML so stories can be added without touching code. Story files hold one
outlet each; `copy_of: outlet/slug` makes an agency copy of another outlet's story (same body
paragraphs, the copy's own headline, intro, date and optionally tags, caption, credit and
`append`ed closing paragraphs). A body item starting with "## " is a subheading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingest.config import read_yaml

CONTENT = Path(__file__).resolve().parent / "content"
SUBHEADING = "## "


class ContentError(ValueError):
    """The bundled content files are inconsistent (names the file and story)."""


@dataclass
class OutletSpec:
    key: str
    name: str
    language: str
    charset: str
    url: str
    feeds: list[dict]
    body: dict[str, str]
    chrome: dict


@dataclass
class StorySpec:
    outlet: str
    slug: str
    section: str
    title: str
    author: str
    published: datetime
    tags: list[str]
    lead: str
    caption: str
    credit: str
    body: list[str]  # paragraphs, subheadings prefixed with "## "
    syndication: str | None = None
    status: int = 200
    feed_content: bool = False
    copy_of: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def paragraphs(self) -> list[str]:
        return [p[len(SUBHEADING):] if p.startswith(SUBHEADING) else p for p in self.body]

    @property
    def subheadings(self) -> list[str]:
        return [p[len(SUBHEADING):] for p in self.body if p.startswith(SUBHEADING)]


def load_outlets(folder: Path = CONTENT) -> list[OutletSpec]:
    data = read_yaml(folder / "outlets.yaml")
    return [OutletSpec(**o) for o in data["outlets"]]


def load_stories(outlets: list[OutletSpec], folder: Path = CONTENT) -> list[StorySpec]:
    keys = {o.key for o in outlets}
    raw: list[tuple[str, dict]] = []
    for key in keys:
        path = folder / f"{key}.yaml"
        data = read_yaml(path)
        if data.get("outlet") != key:
            raise ContentError(f"{path.name}: outlet must be {key!r}")
        raw += [(key, item) for item in data["articles"]]
    originals = {f"{k}/{item['slug']}": item for k, item in raw if "copy_of" not in item}
    stories = []
    for key, item in raw:
        where = f"{key}.yaml: {item.get('slug')}"
        src = item
        if "copy_of" in item:
            original = originals.get(item["copy_of"])
            if original is None:
                raise ContentError(f"{where}: copy_of {item['copy_of']!r} is not an original story")
            src = original
            if not src.get("syndication"):
                raise ContentError(f"{where}: {item['copy_of']} needs a `syndication` key to be copied")
        try:
            story = StorySpec(
                outlet=key, slug=item["slug"], section=item["section"], title=item["title"],
                author=item["author"], published=datetime.fromisoformat(str(item["published"])),
                tags=list(item.get("tags", src["tags"])), lead=item["lead"],
                caption=item.get("caption", src["caption"]), credit=item.get("credit", src["credit"]),
                body=list(src["body"]) + list(item.get("append", [])), syndication=src.get("syndication"),
                status=int(item.get("status", 200)), feed_content=bool(item.get("feed_content", False)),
                copy_of=item.get("copy_of"))
        except KeyError as exc:
            raise ContentError(f"{where}: missing {exc}") from None
        _check(story, where)
        stories.append(story)
    seen: set[tuple[str, str]] = set()
    for s in stories:
        if (s.outlet, s.slug) in seen:
            raise ContentError(f"{s.outlet}.yaml: slug {s.slug!r} twice")
        seen.add((s.outlet, s.slug))
    return stories


def _check(s: StorySpec, where: str) -> None:
    if s.published.tzinfo is None:
        raise ContentError(f"{where}: published needs a time zone")
    if not all(isinstance(p, str) and p.strip() for p in s.body):
        raise ContentError(f"{where}: empty or non-text body item (quote items starting with '##')")
    if s.status == 200 and not (4 <= len(s.body) <= 10 and 3 <= len(s.tags) <= 6):
        raise ContentError(f"{where}: a page needs 4-10 body items and 3-6 tags")
    if s.status == 200 and not (s.caption and s.credit and s.lead):
        raise ContentError(f"{where}: a page needs lead, caption and credit")
