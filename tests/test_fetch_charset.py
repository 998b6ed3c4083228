"""Page decoding (issue 13 item 5 = issue 16 item 6): BOM, HTTP charset, <meta charset> and detection
reconciled per page; never one blanket fallback charset."""

from __future__ import annotations

import pytest

from ingest.extract.extractor import decode_html
from ingest.fetch.charset import codec_for, decode_page

DE = "„Größere Brücken“ – sagte er, 12 € pro Meter. Straßenbahn über die Mühle, Öl und Äpfel."
PL = "Zażółć gęślą jaźń, powiedział burmistrz. Łączny koszt przekroczy miliard złotych, ściśle tajne."
ZH = "中国国家统计局周二公布的数据显示，十月份工业生产同比增长百分之五点三，高于市场预期。"
RU = "Министерство транспорта объявило о строительстве новой линии метро в северной части города."


def html(text: str, meta: str | None = None, lang: str = "de") -> str:
    head = f'<meta charset="{meta}">' if meta else ""
    return f'<html lang="{lang}"><head>{head}<title>t</title></head><body><p>{text}</p><p>{text}</p></body></html>'


@pytest.mark.parametrize("label,codec", [("ISO-8859-1", "cp1252"), ("latin1", "cp1252"), ("us-ascii", "cp1252"),
                                         ("gb2312", "gb18030"), ("utf8", "utf-8"), ("Shift_JIS", "cp932"), ("nonsense", None)])
def test_labels_are_read_as_browsers_read_them(label, codec):
    assert codec_for(label) == codec


def test_iso_8859_1_label_over_windows_1252_bytes_keeps_quotes_dashes_and_euro():
    page = html(DE, "iso-8859-1").encode("cp1252")
    got = decode_page(page, "text/html; charset=ISO-8859-1")
    assert DE in got.text and got.encoding == "cp1252"


def test_bom_wins_over_the_header_and_the_meta():
    page = b"\xef\xbb\xbf" + html(DE, "iso-8859-1").encode("utf-8")
    got = decode_page(page, "text/html; charset=iso-8859-1")
    assert DE in got.text and got.how == "bom" and not got.text.startswith("\ufeff")


@pytest.mark.parametrize("codec,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-32-le", b"\xff\xfe\x00\x00"),
                                       ("utf-16-le", b""), ("utf-16-be", b"")])
def test_utf16_and_utf32_with_and_without_bom(codec, bom):
    page = bom + html(DE, "utf-16").encode(codec)
    assert DE in decode_page(page, "text/html").text


def test_utf8_bytes_under_a_latin1_label_are_utf8():
    page = html(DE, "iso-8859-1").encode("utf-8")
    assert DE in decode_page(page, "text/html; charset=iso-8859-1").text


def test_a_meta_saying_utf16_on_an_ascii_compatible_page_means_utf8():
    assert DE in decode_page(html(DE, "utf-16").encode("utf-8")).text


@pytest.mark.parametrize("text,codec,lang", [(PL, "cp1250", "pl"), (PL, "iso-8859-2", "pl"), (DE, "cp1252", "de"),
                                             (RU, "cp1251", "ru"), (RU, "koi8-r", "ru"), (ZH, "gb18030", "zh")])
def test_bytes_that_do_not_decode_in_the_declared_charset_are_detected(text, codec, lang):
    page = html(text, "utf-8", lang).encode(codec)
    got = decode_page(page, "text/html; charset=utf-8")
    assert text in got.text, (got.encoding, got.text[:200])


def test_chinese_declared_gb2312_decodes_as_gb18030():
    page = html(ZH, "gb2312", "zh").encode("gb18030")
    assert ZH in decode_page(page).text


def test_mostly_utf8_with_a_stray_windows_1252_byte_keeps_utf8():
    page = html(DE, "utf-8").encode("utf-8").replace("Öl".encode(), b"\x92\xd6l")  # a stray ’ pasted in cp1252
    got = decode_page(page)
    assert "Straßenbahn" in got.text and "’Öl" in got.text and got.how == "utf8+cp1252"


def test_text_is_passed_through_and_extract_uses_the_same_decoder():
    assert decode_page("schon Text").text == "schon Text"
    assert DE in decode_html(html(DE, "iso-8859-1").encode("cp1252"))
