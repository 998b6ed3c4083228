"""Hostile inputs from issue 21, built on demand (shared by tests/test_hostile.py and bench/hostile.py).

Each builder returns bytes or text exactly as an attacker would serve or send it.
"""

from __future__ import annotations

import base64

ENTITY_REFS = 2000  # references to one 2,000-character entity: 40 KB in, ~4 MB out when expanded


def entity_feed(refs: int = ENTITY_REFS, value_chars: int = 2000) -> str:
    """An RSS document whose internal subset declares one large entity referenced `refs` times."""
    return ('<!DOCTYPE rss [<!ENTITY a "' + "A" * value_chars + '">]><rss version="2.0"><channel><title>t</title>'
            "<item><title>" + "&a;" * refs + "</title><link>http://x.example/1</link></item></channel></rss>")


def utf7(text: str) -> bytes:
    """UTF-7 with every markup character base64-encoded (`<` -> `+ADw-`), so no `<!ENTITY` byte shows."""
    out = []
    for ch in text:
        if ch == "+":
            out.append("+-")
        elif ch in "<>!&\"=[]":
            out.append("+" + base64.b64encode(ch.encode("utf-16-be")).decode().rstrip("=") + "-")
        else:
            out.append(ch)
    return "".join(out).encode("ascii")


def entity_feeds() -> dict[str, tuple[bytes, str | None]]:
    """name -> (document, Content-Type header): the entity feed in every encoding that hides it."""
    doc = entity_feed()
    decl = '<?xml version="1.0" encoding="{}"?>'
    return {
        "utf-7 (declared)": (decl.format("utf-7").encode() + utf7(doc), None),
        "utf-7 (HTTP charset)": (utf7(doc), "application/rss+xml; charset=utf-7"),
        "ebcdic cp500 (declared)": (decl.format("cp500").encode("cp500") + doc.encode("cp500"), None),
        "ebcdic cp037 (declared)": (decl.format("cp037").encode("cp037") + doc.encode("cp037"), None),
        "ebcdic cp500 (HTTP charset)": ('<?xml version="1.0"?>'.encode("cp500") + doc.encode("cp500"),
                                        "application/xml; charset=cp500"),
        "utf-16 (BOM)": ((decl.format("utf-16") + doc).encode("utf-16"), None),
        "utf-32 (BOM)": ((decl.format("utf-32") + doc).encode("utf-32"), None),
        "utf-16-be (no BOM)": ((decl.format("utf-16") + doc).encode("utf-16-be"), None),
    }


def entity_opml(encoding: str) -> bytes:
    doc = ('<!DOCTYPE opml [<!ENTITY a "' + "A" * 2000 + '">]><opml version="2.0"><head><title>&a;&a;</title></head>'
           '<body><outline text="x" xmlUrl="http://a.example/feed"/></body></opml>')
    return (f'<?xml version="1.0" encoding="{encoding}"?>' + doc).encode(encoding)


PANIC_TEXT = "word " * 100_000          # made yake-rust panic (BacktrackLimitExceeded)
REGEX_TEXT = "D" * 80_000               # junk.URL took 10.5 s on it


def pathological_page(repeats: int = 900_000) -> bytes:
    """`<p>a</p><b>` x 900k: 9.9 MB of unclosed <b> that ran trafilatura for over 600 s."""
    return b"<html><body>" + b"<p>a</p><b>" * repeats + b"</body></html>"


def big_feed(entries: int = 100_000, link: str = "http://x.example/a/{i}") -> bytes:
    items = "".join(f"<item><title>t{i}</title><link>{link.format(i=i)}</link></item>" for i in range(entries))
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>big</title>{items}</channel></rss>".encode()


BAD_URLS = {
    "http://h:99999/feed": "port must be",
    "http://h:0/feed": "port must be",
    "http://h:abc/feed": "port must be",
    "http://[::1/feed": "Invalid IPv6",
    "http://[zz::1]/feed": "IPv4 or IPv6",
    "http://a.example/\x00feed": "control characters",
    "http://a.example/fe ed": "control characters",
    "http://a.example/" + "a" * 70_000: "longer than",
    "ftp://a.example/feed": "not an http(s) URL",
    "javascript:alert(1)": "not an http(s) URL",
    "http:///feed": "no host",
    "http://ex%41mple.com/feed": "not a valid host name",
}

OVERFLOW_QUERIES = ["published:[9999-12-31 TO *]", "published:>now+100000000d", "published:>now-99999999y",
                    "published:<0001-01-01", "published:>now+" + "9" * 400 + "d"]
