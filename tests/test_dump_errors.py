"""Dump errors say what is wrong: garbage after a bz2 header is not "empty", and a page without a
title is reported as such, not under the next page's title (issue 18, item 7)."""
from __future__ import annotations

import bz2
import random
from pathlib import Path

import pytest

from wikisearch.errors import DumpFormatError
from wikisearch.ingest.dump import iter_pages

SAMPLE = Path(__file__).resolve().parents[1] / "wikisearch" / "data" / "sample-enwiki.xml.bz2"


def _error(path) -> DumpFormatError:
    with pytest.raises(DumpFormatError) as e:
        for _ in iter_pages(path):
            pass
    return e.value


@pytest.mark.parametrize("size", [100, 4000, 200_000])
def test_random_bytes_after_a_bz2_header(tmp_path, size):
    head = SAMPLE.read_bytes()[:4]                 # "BZh9" of the real sample
    rnd = random.Random(size)
    p = tmp_path / "garbage.xml.bz2"
    p.write_bytes(head + bytes(rnd.getrandbits(8) for _ in range(size)))
    err = _error(p)
    assert "empty" not in str(err) and "corrupt" in str(err)


def test_an_empty_bz2_file_is_still_empty(tmp_path):
    p = tmp_path / "empty.xml.bz2"
    p.write_bytes(bz2.compress(b""))
    assert "empty file" in str(_error(p))


def test_page_without_title_is_not_named_after_the_next_page(tmp_path):
    xml = bz2.decompress(SAMPLE.read_bytes())
    first = xml.index(b"<page>")
    a = xml.index(b"<title>", first)
    b = xml.index(b"</title>", a) + len(b"</title>")
    next_title = xml[xml.index(b"<title>", b) + 7:xml.index(b"</title>", xml.index(b"<title>", b))]
    p = tmp_path / "notitle.xml"
    p.write_bytes(xml[:a] + xml[b:])
    err = _error(p)
    assert "page without <title>" in str(err)
    assert err.title is None and next_title.decode() not in str(err)
    assert err.offset == first
