"""Page bytes to text: the charset reconciled per page, as browsers do, with detection as the last word.

Order of evidence (`decode_page`):
  1. a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) wins over any declaration: the server's
     header and the page's `<meta>` are often copied from templates, the BOM is written with the bytes;
  2. UTF-16/32 without a BOM is recognised by its zero bytes (ASCII markup in a 2- or 4-byte encoding);
  3. declarations: the HTTP `charset`, then `<meta charset>` / `http-equiv` / `<?xml encoding?>`, with
     labels read the way browsers read them (WHATWG: iso-8859-1, latin1 and ascii are windows-1252;
     gb2312 is gb18030; a `<meta>` saying utf-16 on an ASCII-compatible page means utf-8);
  4. bytes that are valid UTF-8 with multi-byte sequences are UTF-8 whatever the declaration says
     (random single-byte text almost never forms valid UTF-8 sequences; a template declaring
     iso-8859-1 over UTF-8 content is common);
  5. a declared charset the bytes do not decode in, or no declaration at all: mostly-UTF-8 pages with a
     few stray bytes keep UTF-8 (the stray bytes alone read as windows-1252), otherwise the encoding
     is detected (charset-normalizer, on the page's text); UTF-8 with replacement characters is the
     very last resort. Never one fallback charset for the whole web.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# WHATWG Encoding Standard label aliases that differ from Python's codec of the same name.
BROWSER_LABELS = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "iso_8859-1": "cp1252", "cp819": "cp1252", "ibm819": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
    "x-sjis": "cp932", "windows-31j": "cp932", "big5": "big5hkscs", "x-mac-roman": "mac-roman",
    "unicode": "utf-16-le", "utf-16": "utf-16-le", "x-user-defined": "cp1252",
}
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.()+-]+)""", re.I)
XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([a-z0-9_:.()+-]+)""", re.I)
HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-z0-9_:.()+-]+)""", re.I)
UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
HEAD_BYTES = 8192  # browsers look for <meta charset> in the first 1024 bytes; CMSs put it later
DETECT_BYTES = 200_000  # enough text for a detector; the whole page is then decoded in its verdict


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # the Python codec used
    how: str       # bom | utf16-shape | declared | utf8 | utf8+cp1252 | detected | replaced


def codec_for(label: str | None) -> str | None:
    """The Python codec a browser would use for a charset label, or None for an unknown label."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = BROWSER_LABELS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charsets(data: bytes, content_type: str | None) -> list[str]:
    """Codecs named by the HTTP header, then by the page itself (in that order, duplicates dropped)."""
    out: list[str] = []
    header = HEADER_CHARSET.search(content_type or "")
    if header:
        out.append(codec_for(header.group(1)) or "")
    head = data[:HEAD_BYTES]
    found = META_CHARSET.search(head) or XML_ENCODING.search(head)
    if found:
        codec = codec_for(found.group(1).decode("ascii", "ignore"))
        if codec and codec.startswith("utf-16"):  # an ASCII-compatible page cannot be UTF-16 (WHATWG)
            codec = "utf-8"
        out.append(codec or "")
    return list(dict.fromkeys(c for c in out if c))


def _bom(data: bytes) -> tuple[str, int] | None:
    for bom, codec in BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    return None


def _utf16_shape(data: bytes) -> str | None:
    """UTF-16/32 without a BOM: ASCII markup leaves a zero byte beside every character."""
    sample = data[:400]
    if len(sample) < 8 or sample.count(0) < len(sample) // 4:
        return None
    if sample[1:4] == b"\x00\x00\x00":
        return "utf-32-le"
    if sample[:3] == b"\x00\x00\x00":
        return "utf-32-be"
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return "utf-16-le" if odd > even * 4 else "utf-16-be" if even > odd * 4 else None


def _stray_cp1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):  # registered for decoding only
        raise error
    bad = error.object[error.start:error.end]
    return bad.decode("cp1252", "replace"), error.end


codecs.register_error("ingest-stray-cp1252", _stray_cp1252)


def _mostly_utf8(data: bytes) -> bool:
    """Valid UTF-8 sequences far outnumber the bytes that are not (a page pasted together from two sources)."""
    good = len(UTF8_MULTIBYTE.findall(data))
    if not good:
        return False
    text = data.decode("utf-8", "replace")
    return text.count("\ufffd") * 4 <= good


# Legacy code pages by the page's declared language: the detector's close candidates are decided by them,
# as browsers fall back on the locale's code page (Spanish is never cp1250, Polish never cp1252).
LANGUAGE_CODEPAGES = {
    **dict.fromkeys(("en", "de", "fr", "es", "it", "pt", "nl", "da", "sv", "no", "nb", "fi", "is", "ca", "ga",
                     "eu", "gl", "af", "id", "ms"), ("cp1252", "iso8859-15", "iso8859-1")),
    **dict.fromkeys(("pl", "cs", "sk", "hu", "sl", "hr", "bs", "ro", "sq"), ("cp1250", "iso8859-2", "iso8859-16")),
    **dict.fromkeys(("ru", "uk", "bg", "be", "sr", "mk"), ("cp1251", "koi8-r", "koi8-u", "iso8859-5", "mac-cyrillic")),
    "el": ("cp1253", "iso8859-7"), "tr": ("cp1254", "iso8859-9"), "he": ("cp1255", "iso8859-8"),
    "ar": ("cp1256", "iso8859-6"), "lt": ("cp1257", "iso8859-13"), "lv": ("cp1257", "iso8859-13"),
    "et": ("cp1257", "iso8859-15"), "vi": ("cp1258",), "th": ("cp874", "tis-620"),
    "zh": ("gb18030", "big5hkscs", "big5"), "ja": ("cp932", "euc_jp", "iso2022_jp"), "ko": ("cp949", "euc_kr"),
}
HTML_LANG = re.compile(rb"""<html[^>]*\slang\s*=\s*["']?([a-z]{2,3})""", re.I)


def _detect(data: bytes, exclude: set[str]) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency; without it we go straight to the last resort
        return None
    found = HTML_LANG.search(data[:HEAD_BYTES])
    preferred = {codec_for(c) for c in LANGUAGE_CODEPAGES.get(found.group(1).decode().lower(), ())} if found else set()
    candidates = [c for c in (codec_for(m.encoding) for m in from_bytes(data[:DETECT_BYTES], cp_exclusion=sorted(exclude) or None))
                  if c and c not in exclude]
    for codec in candidates:
        if codec in preferred:
            return codec
    return candidates[0] if candidates else None


def decode_page(data: bytes | str, content_type: str | None = None) -> Decoded:
    """Page bytes as text, the charset decided for this page (module docstring)."""
    if isinstance(data, str):
        return Decoded(data, "str", "text")
    bom = _bom(data)
    if bom:
        return Decoded(data[bom[1]:].decode(bom[0], "replace"), bom[0], "bom")
    wide = _utf16_shape(data)
    if wide:
        return Decoded(data.decode(wide, "replace"), wide, "utf16-shape")
    declared = declared_charsets(data, content_type)
    declared = [c for c in declared if not (c.startswith("utf-16") or c.startswith("utf-32"))]
    if data.isascii():
        return Decoded(data.decode("ascii"), "ascii", "declared" if declared else "utf8")
    try:
        text = data.decode("utf-8")
        if UTF8_MULTIBYTE.search(data):
            return Decoded(text, "utf-8", "utf8" if declared[:1] != ["utf-8"] else "declared")
    except UnicodeDecodeError:
        pass
    failed: set[str] = {"utf-8"}
    for codec in declared:
        if codec == "utf-8":
            continue
        try:
            return Decoded(data.decode(codec), codec, "declared")
        except UnicodeDecodeError:
            failed.add(codec)
    if _mostly_utf8(data):
        return Decoded(data.decode("utf-8", "ingest-stray-cp1252"), "utf-8", "utf8+cp1252")
    detected = _detect(data, failed)
    if detected:
        try:
            return Decoded(data.decode(detected), detected, "detected")
        except UnicodeDecodeError:
            return Decoded(data.decode(detected, "replace"), detected, "detected")
    return Decoded(data.decode("utf-8", "replace"), "utf-8", "replaced")
