"""Tests of the dump stage: real samples against an independent XML parser, block cutting,
re-reading blocks, siteinfo and titles, WikiExtractor input, stdin, and damaged input."""
from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import json
import lzma
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

import pytest

from wikisearch.ingest.dump import (
    Block, Dump, SiteInfo, iter_pages, pages_from_block, read_block, redirect_target)
from wikisearch.errors import DumpFormatError

from conftest import SHARED_DATA as SHARED, requires_shared  # noqa: E402  (tests/conftest.py)

HERE = Path(__file__).parent
REPO = HERE.parent
ENWIKI = sorted((SHARED / "enwiki-xml").glob("*")) if SHARED.exists() else []
OTHERWIKI = sorted((SHARED / "otherwiki-xml").glob("*")) if SHARED.exists() else []
real_data = requires_shared("enwiki-xml", "otherwiki-xml")
WIKIEXTRACTOR_AA = "enwiki-text/enwiki-2015-wikiextractor-first30k-AA.txt.xz"

# data/README.md: pages / articles (namespace 0, not redirects) / redirects
README_COUNTS = {
    "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2": (206, 106, 100),
    "enwik8-head-4MB.xml.bz2": (491, 248, 243),
    "enwiki-minidump-dbpedia-extraction-framework.xml.bz2": (27, 24, 2),
    "enwiki-pages-articles-sample.wikipedia2vec.xml.bz2": (3, 2, 1),
    "enwiki-table-markup.xml.bz2": (5, 5, 0),
}


def sample(name: str) -> Path:
    return next(p for p in ENWIKI + OTHERWIKI if p.name.startswith(name))


@lru_cache(maxsize=None)
def raw(path: Path) -> bytes:
    """The decompressed file, by the standard library (independent of indexed_bzip2)."""
    data = path.read_bytes()
    return bz2.decompress(data) if data[:3] == b"BZh" else lzma.decompress(data)


@lru_cache(maxsize=None)
def fast_pages(path: Path) -> tuple:
    with Dump(path) as dump:
        return dump.siteinfo, tuple(dump.pages())


def oracle(data: bytes) -> list[dict]:
    """Every page by xml.etree: slow, independent, spec-following (entities, CRLF)."""
    pages = []
    for _, el in ET.iterparse(io.BytesIO(data)):
        if el.tag.rsplit("}", 1)[-1] != "page":
            continue
        kids = {c.tag.rsplit("}", 1)[-1]: c for c in el}
        revision = [c for c in el if c.tag.endswith("revision")][-1]
        rev = {c.tag.rsplit("}", 1)[-1]: c for c in revision}
        redirect = kids.get("redirect")
        pages.append({"page_id": int(kids["id"].text), "title": kids["title"].text,
                      "ns": int(kids["ns"].text) if "ns" in kids else None,
                      "redirect": None if redirect is None else redirect.get("title"),
                      "timestamp": rev["timestamp"].text, "text": rev["text"].text or ""})
        el.clear()
    return pages


# --- real samples against the oracle -------------------------------------------------------

@real_data
@pytest.mark.parametrize("path", ENWIKI + OTHERWIKI, ids=lambda p: p.name[:24])
def test_every_page_matches_the_xml_parser(path):
    site, pages = fast_pages(path)
    expected = oracle(raw(path))
    assert len(pages) == len(expected) > 0
    for page, want in zip(pages, expected):
        assert (page.page_id, page.title, page.timestamp, page.text) == \
            (want["page_id"], want["title"], want["timestamp"], want["text"])
        assert page.ns == (want["ns"] if want["ns"] is not None
                           else site.split_namespace(want["title"])[0])
        if want["redirect"] is not None:
            assert page.redirect == site.normalize_title(want["redirect"])
        elif site.schema != "0.3":
            assert page.redirect is None
    data = raw(path)
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff"):   # offsets index the (UTF-8) stream
        assert all(data.startswith(b"<page>", p.offset) for p in pages)


@real_data
@pytest.mark.parametrize("name", sorted(README_COUNTS), ids=lambda n: n[:24])
def test_enwiki_counts_from_the_readme(name):
    _, pages = fast_pages(sample(name))
    pages_n, articles, redirects = README_COUNTS[name]
    assert len(pages) == pages_n
    assert sum(p.redirect is not None for p in pages) == redirects
    assert sum(p.ns == 0 and p.redirect is None for p in pages) == articles


@real_data
def test_enwik8_redirects_come_from_the_text():
    site, pages = fast_pages(sample("enwik8"))
    assert site.schema == "0.3" and b"<redirect" not in raw(sample("enwik8"))
    slow = [re.match(r"\s*#redirect\s*:?\s*\[\[([^\]|#]*)", p.text, re.I) for p in pages]
    assert [p.redirect for p in pages] == [site.normalize_title(m[1]) if m else None for m in slow]
    assert pages[0].title == "AaA" and pages[0].redirect == "AAA"


@real_data
@pytest.mark.parametrize("path", [p for p in ENWIKI + OTHERWIKI if "enwik8" not in p.name],
                         ids=lambda p: p.name[:24])
def test_redirect_magic_words_agree_with_redirect_elements(path):
    """Read the text as an 0.3 dump would be: localized magic words and namespace aliases."""
    site, pages = fast_pages(path)
    assert [redirect_target(p.text, site) for p in pages] == [p.redirect for p in pages]


# --- siteinfo, titles, URLs ------------------------------------------------------------------

@real_data
def test_siteinfo_ukwiki_and_jawiki():
    uk, _ = fast_pages(sample("ukwiki"))
    assert (uk.lang, uk.dbname, uk.sitename, uk.schema) == ("uk", "ukwiki", "Вікіпедія", "0.10")
    assert uk.namespaces[14] == "Категорія" and uk.namespaces[0] == ""
    assert uk.base_url == "https://uk.wikipedia.org/wiki/"
    assert uk.split_namespace("Категорія:Історія України") == (14, "Історія України")
    assert uk.split_namespace("категорія:x") == (14, "x")
    assert uk.normalize_title("Category:foo_bar") == "Категорія:Foo bar"
    assert uk.normalize_title("image:Герб.svg") == "Файл:Герб.svg"
    assert uk.url("Київ") == "https://uk.wikipedia.org/wiki/%D0%9A%D0%B8%D1%97%D0%B2"
    ja, _ = fast_pages(sample("jawiki"))
    assert (ja.lang, ja.dbname, ja.case) == ("ja", "jawiki", "first-letter")
    assert ja.namespaces[6] == "ファイル" and ja.split_namespace("ファイル:x.png") == (6, "x.png")
    assert ja.base_url == "https://ja.wikipedia.org/wiki/"


@real_data
def test_siteinfo_of_old_utf16_and_bare_exports():
    en8, _ = fast_pages(sample("enwik8"))
    assert en8.base_url == "https://en.wikipedia.org/wiki/" and en8.namespaces[6] == "Image"
    assert en8.normalize_title("File:X.jpg") == "Image:X.jpg"
    bg, pages = fast_pages(sample("bgwiki"))            # a UTF-16 file
    assert (bg.lang, bg.namespaces[14], len(pages)) == ("bg", "Категория", 3)
    bare, _ = fast_pages(sample("enwiki-table"))         # no <siteinfo> at all
    assert (bare.lang, bare.base_url, bare.namespaces[14]) == \
        ("en", "https://en.wikipedia.org/wiki/", "Category")


def test_normalize_title():
    site = SiteInfo.synthesize("en", "0.10")
    cases = {"category:foo_bar": "Category:Foo bar", "  lata  mangeshkar ": "Lata mangeshkar",
             "Image:X.jpg": "File:X.jpg", ":Category:Foo": "Category:Foo",
             "Foo#History": "Foo", "Category : foo": "Category:Foo",
             "template:Infobox_person": "Template:Infobox person",
             "Star Wars: Episode I": "Star Wars: Episode I", "iPod": "IPod",
             "wikipedia:about": "Wikipedia:About", "straße": "Straße", "ßx": "ßx"}
    assert {t: site.normalize_title(t) for t in cases} == cases
    sensitive = dataclasses.replace(site, case="case-sensitive")
    assert sensitive.normalize_title("iPod_touch") == "iPod touch"


def test_split_namespace_and_url():
    site = SiteInfo.synthesize("en")
    assert site.split_namespace("Category:Foo") == (14, "Foo")
    assert site.split_namespace("Foo: a story") == (0, "Foo: a story")
    assert site.split_namespace("Talk:Foo") == (1, "Foo")
    assert site.url("Angela Merkel") == "https://en.wikipedia.org/wiki/Angela_Merkel"
    assert site.url("AC/DC") == "https://en.wikipedia.org/wiki/AC/DC"
    assert site.url("Ender's Game") == "https://en.wikipedia.org/wiki/Ender%27s_Game"
    assert site.url("C++ (language)") == "https://en.wikipedia.org/wiki/C%2B%2B_(language)"
    assert site.url("Category:A&B?") == "https://en.wikipedia.org/wiki/Category:A%26B%3F"


@real_data
def test_angela_merkel_url_from_the_dump():
    site, pages = fast_pages(sample("enwiki-minidump"))
    assert "Angela Merkel" in {p.title for p in pages}
    assert site.url("Angela Merkel") == "https://en.wikipedia.org/wiki/Angela_Merkel"


def test_siteinfo_json_round_trip():
    site = Dump(HERE / "data" / "dump_old_uk.xml").siteinfo
    back = SiteInfo.from_json(json.loads(json.dumps(site.to_json())))
    assert back == site and back.namespaces[14] == "Категорія"


# --- hand-written fixtures ----------------------------------------------------------------

def test_small_fixture_by_hand():
    with Dump(HERE / "data" / "dump_small.xml") as dump:
        pages = list(dump.pages())
    assert [(p.page_id, p.ns, p.title, p.redirect) for p in pages] == [
        (1, 0, "Entities & Co", None), (2, 0, "Old name", "Entities & Co"),
        (3, 14, "Category:Things", None), (4, 0, "History page", None),
        (5, 0, "Deleted text", None), (6, 0, "Looks like a redirect", None)]
    assert pages[0].text == "<ref>a</ref> &lt;b&gt; \"q\" it's AB naïve Київ 東京"
    assert pages[2].text == "" and pages[4].text == ""             # self-closing <text />
    assert (pages[3].text, pages[3].timestamp) == ("second & last", "2002-02-02T00:00:00Z")
    data = (HERE / "data" / "dump_small.xml").read_bytes()
    assert [p.text for p in pages] == [p["text"] for p in oracle(data)]


def test_old_schema_localized_redirects():
    with Dump(HERE / "data" / "dump_old_uk.xml") as dump:
        pages = list(dump.pages())
    assert [(p.title, p.ns, p.redirect) for p in pages] == [
        ("Київ", 0, None), ("Kyiv", 0, "Київ"), ("Столиці", 0, "Категорія:Столиці європи"),
        ("Kiev", 0, "Київ"), ("Категорія:Міста", 14, None)]


def test_redirect_target_magic_words():
    site = SiteInfo.synthesize("ja")
    assert redirect_target("#転送 [[東京]]", site) == "東京"
    assert redirect_target("＃リダイレクト[[京都]]", site) == "京都"
    assert redirect_target("#REDIRECT[[foo bar]] {{R from move}}", site) == "Foo bar"
    assert redirect_target("#WEITERLEITUNG [[Berlin]]", site) == "Berlin"
    assert redirect_target("#NUMBER [[One]]", site) is None
    assert redirect_target("see #REDIRECT [[One]]", site) is None
    assert redirect_target("#REDIRECT [[#Only a section]]", site) is None


def test_wikiextractor_text_and_json_fixtures():
    for name, fmt in (("dump_wikiextractor.txt", "wikiextractor"),
                      ("dump_wikiextractor.jsonl", "wikiextractor-json")):
        with Dump(HERE / "data" / name) as dump:
            assert dump.format == fmt and dump.siteinfo.schema == fmt
            assert dump.siteinfo.base_url == "https://en.wikipedia.org/wiki/"
            pages = list(dump.pages())
        assert [(p.page_id, p.ns, p.title, p.redirect) for p in pages] == [
            (12, 0, "Anarchism", None), (4729, 0, "Batman & Robin (film)", None),
            (99, 0, "No title line", None)]
        assert [p.text for p in pages] == [
            "Anarchism is a political philosophy.\nIt has many currents.",
            "Batman & Robin is a 1997 film.", "A body that does not repeat its title."]
    assert Dump(HERE / "data" / "dump_wikiextractor.txt", lang="de").siteinfo.lang == "de"


@requires_shared(WIKIEXTRACTOR_AA)
def test_wikiextractor_real_sample_head(tmp_path):
    path = SHARED / WIKIEXTRACTOR_AA
    with lzma.open(path) as f:
        head = f.read(3_000_000)
    head = head[:head.rfind(b"</doc>\n") + 7]
    (tmp_path / "we.txt").write_bytes(head)
    pages = list(iter_pages(tmp_path / "we.txt"))
    assert len(pages) == head.count(b"<doc ") > 50
    assert (pages[0].page_id, pages[0].title) == (12, "Anarchism")
    assert pages[0].text.startswith("Anarchism is a political philosophy")
    # the same documents as JSON lines (the --json output) give the same pages
    lines = [json.dumps({"id": str(p.page_id), "url": f"http://en.wikipedia.org/wiki?curid="
                         f"{p.page_id}", "title": p.title, "text": p.title + "\n\n" + p.text})
             for p in pages]
    (tmp_path / "we.json").write_text("\n".join(lines) + "\n")
    again = list(iter_pages(tmp_path / "we.json"))
    assert [(p.page_id, p.title, p.text) for p in again] == \
        [(p.page_id, p.title, p.text) for p in pages]


@requires_shared(WIKIEXTRACTOR_AA)
@pytest.mark.slow
def test_wikiextractor_real_sample_whole_file():
    path = SHARED / WIKIEXTRACTOR_AA
    pages = list(iter_pages(path))
    assert len(pages) == 6514
    assert "Batman & Robin (film)" in {p.title for p in pages}
    assert all(p.text and p.ns == 0 for p in pages[:100])


# --- blocks -------------------------------------------------------------------------------

@real_data
@pytest.mark.parametrize("name", ["enwik8", "enwiki-latest", "ukwiki"])
@pytest.mark.parametrize("block_bytes", [1, 5_000, 300_000, 1 << 40])
def test_blocks_hold_whole_pages_and_rebuild_pages(name, block_bytes):
    path = sample(name)
    data = raw(path)
    with Dump(path) as dump:
        blocks = list(dump.blocks(block_bytes))
        site, fmt = dump.siteinfo, dump.format
    pages = [p for block, b in blocks for p in pages_from_block(b, block, site, fmt)]
    assert pages == list(fast_pages(path)[1])
    assert [b.index for b, _ in blocks] == list(range(len(blocks)))
    for i, (block, b) in enumerate(blocks):
        assert data[block.start:block.end] == b
        assert b.startswith(b"<page>") and b.endswith(b"</page>")
        if i + 1 < len(blocks):            # only whitespace between blocks; cut at the first
            nxt = blocks[i + 1][0]         # page end at or past block_bytes
            assert block.end <= nxt.start and not data[block.end:nxt.start].strip()
            assert block.end - block.start >= block_bytes
            assert block.end - b.rfind(b"<page>") > 0 and (b.count(b"</page>") == 1 or
                   b.rfind(b"</page>", 0, len(b) - 7) + 7 - 0 < block_bytes)
    if block_bytes == 1:
        assert len(blocks) == len(pages)
    with Dump(path) as again:                       # deterministic
        assert [b for b, _ in again.blocks(block_bytes)] == [b for b, _ in blocks]


@real_data
@pytest.mark.parametrize("name", ["enwiki-latest", "ukwiki", "bgwiki"])
def test_read_block_gives_the_same_bytes(name):
    path = sample(name)
    with Dump(path) as dump:
        blocks = list(dump.blocks(1_000_000))
    for block, data in [blocks[0], blocks[len(blocks) // 2], blocks[-1]]:
        assert read_block(path, block, threads=1) == data
    with pytest.raises(DumpFormatError, match="not whole pages"):
        read_block(path, Block(0, blocks[0][0].start + 1, blocks[0][0].end))


def test_read_block_plain_and_gzip(tmp_path):
    xml = (HERE / "data" / "dump_small.xml").read_bytes()
    (tmp_path / "d.xml.gz").write_bytes(gzip.compress(xml))
    for path in (HERE / "data" / "dump_small.xml", tmp_path / "d.xml.gz"):
        with Dump(path) as dump:
            blocks = list(dump.blocks(1))
        assert all(read_block(path, b) == data for b, data in blocks)


@real_data
def test_multistream_bz2_and_multimember_gzip(tmp_path):
    data = raw(sample("enwiki-latest"))
    cuts = [0, 1234, len(data) // 2, len(data) - 10, len(data)]   # streams cut anywhere
    parts = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    (tmp_path / "multi.bz2").write_bytes(b"".join(bz2.compress(p) for p in parts))
    (tmp_path / "multi.gz").write_bytes(b"".join(gzip.compress(p) for p in parts))
    want = list(fast_pages(sample("enwiki-latest"))[1])
    for name in ("multi.bz2", "multi.gz"):
        assert list(iter_pages(tmp_path / name)) == want
    assert list(iter_pages(tmp_path / "multi.bz2", threads=1)) == want


# --- streams: stdin, progress, re-reading ------------------------------------------------

@real_data
def test_stdin_through_a_subprocess():
    code = ("from wikisearch.ingest.dump import Dump\n"
            "with Dump('-') as d:\n"
            "    n = sum(1 for p in d.pages())\n"
            "    print(n, d.siteinfo.lang, d.input_bytes, d.compressed_position())\n")
    with open(sample("enwiki-pages-articles-sample"), "rb") as stdin:
        out = subprocess.run([sys.executable, "-c", code], stdin=stdin, capture_output=True,
                             text=True, cwd=REPO, check=True).stdout.split()
    assert out == ["3", "en", "None", "None"]


def test_stdin_monkeypatched(monkeypatch):
    xml = (HERE / "data" / "dump_small.xml").read_bytes()

    class FakeStdin:
        buffer = io.BytesIO(lzma.compress(xml))

    monkeypatch.setattr(sys, "stdin", FakeStdin)
    with Dump("-") as dump:
        assert dump.input_bytes is None
        assert len(list(dump.pages())) == 6
        with pytest.raises(DumpFormatError, match="only once"):
            list(dump.pages())


@real_data
def test_progress_and_second_pass():
    path = sample("ukwiki")
    with Dump(path) as dump:
        seen = [dump.compressed_position() for _ in dump.blocks(1_000_000)]
        assert dump.input_bytes == path.stat().st_size
        assert seen == sorted(seen) and dump.compressed_position() == dump.input_bytes
        assert len(list(dump.pages())) == len(fast_pages(path)[1])   # the input is re-read


# --- damaged input -------------------------------------------------------------------------

def read_until_error(path, **kw) -> tuple[list, DumpFormatError]:
    pages = []
    with pytest.raises(DumpFormatError) as info:
        with Dump(path, **kw) as dump:
            for page in dump.pages():
                pages.append(page)
    assert "\n" not in str(info.value)                          # one line for the CLI
    return pages, info.value


@real_data
@pytest.mark.parametrize("codec", ["bz2", "gz", "xz"])
def test_truncated_compressed_file_delivers_every_whole_page(tmp_path, codec):
    path, data = sample("enwiki-latest"), raw(sample("enwiki-latest"))
    packed = {"bz2": bz2.compress, "gz": gzip.compress,
              "xz": lambda d: lzma.compress(d, preset=1)}[codec](data)
    cut = tmp_path / f"cut.xml.{codec}"
    cut.write_bytes(packed[:int(len(packed) * 0.6)])
    unpack = {"bz2": bz2.BZ2Decompressor, "xz": lzma.LZMADecompressor}.get(codec)
    decodable = (unpack().decompress(cut.read_bytes()) if unpack else
                 __import__("zlib").decompressobj(31).decompress(cut.read_bytes()))
    pages, err = read_until_error(cut)
    full = list(fast_pages(path)[1])
    k = decodable.count(b"</page>")
    assert pages == full[:k] and k > 50
    assert "ends early" in err.reason and err.offset == len(decodable)
    assert err.title == full[k].title and err.path == str(cut)


@real_data
def test_corrupt_bz2_in_the_middle(tmp_path):
    packed = bytearray(sample("enwiki-latest").read_bytes())
    packed[len(packed) // 2: len(packed) // 2 + 64] = bytes(64)
    (tmp_path / "bad.bz2").write_bytes(packed)
    pages, err = read_until_error(tmp_path / "bad.bz2")
    full = list(fast_pages(sample("enwiki-latest"))[1])
    assert 0 < len(pages) < len(full) and pages[:-1] == full[:len(pages) - 1]
    assert "bz2" in str(err) and err.offset is not None


@real_data
def test_xml_cut_mid_page(tmp_path):
    data = raw(sample("enwiki-latest"))
    cut = int(len(data) * 0.6)
    (tmp_path / "cut.xml").write_bytes(data[:cut])
    pages, err = read_until_error(tmp_path / "cut.xml")
    full = list(fast_pages(sample("enwiki-latest"))[1])
    k = data[:cut].count(b"</page>")
    assert pages == full[:k]
    assert "inside a page" in err.reason and err.offset == full[k].offset
    assert err.title == full[k].title and f"byte {full[k].offset:,}" in str(err)


@real_data
def test_invalid_utf8_names_the_page(tmp_path):
    data = bytearray(raw(sample("enwiki-latest")))
    full = list(fast_pages(sample("enwiki-latest"))[1])
    bad = data.find(b"</text>", full[5].offset)
    data[bad - 3] = 0xFF
    (tmp_path / "bad.xml").write_bytes(data)
    pages, err = read_until_error(tmp_path / "bad.xml")
    assert pages == full[:5]
    assert "invalid UTF-8" in err.reason and err.title == full[5].title
    assert err.offset == bad - 3 and err.path == str(tmp_path / "bad.xml")


def test_missing_end_of_dump(tmp_path):
    xml = (HERE / "data" / "dump_small.xml").read_bytes()
    (tmp_path / "noend.xml").write_bytes(xml.replace(b"</mediawiki>", b""))
    pages, err = read_until_error(tmp_path / "noend.xml")
    assert len(pages) == 6 and err.reason == "dump ends without </mediawiki> (truncated?)"


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"), (b"  \n\n", "empty file"),
    (b"<?xml version='1.0'?>\n<rss><channel/></rss>", "root element is <rss>"),
    (b"hello world", "not a MediaWiki XML export"),
    (b'{\n  "title": "x"\n}\n', "not WikiExtractor JSON lines"),
    (b"<mediawiki><siteinfo><sitename>x", "inside its header"),
])
def test_not_a_dump(tmp_path, content, message):
    (tmp_path / "x").write_bytes(content)
    with pytest.raises(DumpFormatError, match=message):
        Dump(tmp_path / "x")


def test_missing_file_and_junk(tmp_path):
    with pytest.raises(DumpFormatError, match="cannot open dump"):
        Dump(tmp_path / "nope.xml.bz2")
    xml = (HERE / "data" / "dump_small.xml").read_bytes()
    third = xml.index(b"  <page>", xml.index(b"  <page>", xml.index(b"  <page>") + 1) + 1)
    (tmp_path / "junk.xml").write_bytes(xml[:third] + b"junk" + xml[third:])
    pages, err = read_until_error(tmp_path / "junk.xml")
    assert len(pages) == 2 and "unexpected content between pages" in err.reason
    (tmp_path / "after.xml").write_bytes(xml + b"<mediawiki>again")
    pages, err = read_until_error(tmp_path / "after.xml")
    assert len(pages) == 6 and "after </mediawiki>" in err.reason


def test_pages_run_together(tmp_path):
    xml = (HERE / "data" / "dump_small.xml").read_bytes()
    cut = xml.index(b"second &amp;")      # page 4 breaks off inside its text, page 5 follows
    (tmp_path / "x.xml").write_bytes(xml[:cut] + xml[xml.index(b"  <page>", cut):])
    pages, err = read_until_error(tmp_path / "x.xml")
    assert [p.page_id for p in pages] == [1, 2, 3] and err.title == "History page"
