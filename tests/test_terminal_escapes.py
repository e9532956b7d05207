"""Titles from a dump reach the terminal escaped: ESC sequences, NUL, DEL and C1 controls in a
title are printed as ``\\x1b``-style escapes by query, suggest and show (issue 18, item 8)."""
from __future__ import annotations

import bz2
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wikisearch.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "wikisearch" / "data" / "sample-enwiki.xml.bz2"
HOSTILE = "Anarchism&#27;[2J&#27;]0;owned&#7;&#0;\x7f\u009b31m"   # as the XML carries it
RAW = {"\x1b", "\x07", "\x00", "\x7f", "\u009b"}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """The real sample's first three pages, the first retitled with control characters."""
    xml = bz2.decompress(SAMPLE.read_bytes()).decode()
    head, pages = xml[:xml.index("<page>")], xml.split("<page>")[1:4]
    pages = ["<page>" + p.split("</page>")[0] + "</page>\n" for p in pages]
    t0 = pages[0].index("<title>") + 7
    pages[0] = pages[0][:t0] + HOSTILE + pages[0][pages[0].index("</title>"):]
    base = tmp_path_factory.mktemp("esc")
    (base / "dump.xml").write_text(head + "".join(pages) + "</mediawiki>\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["index", str(base / "dump.xml"), "-o", str(base / "idx"), "-q"])
    assert r.exit_code == 0, r.output
    return base / "idx"


@pytest.mark.parametrize("args", [["query", "anarchism"], ["suggest", "anarch"],
                                  ["query", "--json", "anarchism"], ["suggest", "--json", "anarch"]])
def test_control_characters_are_escaped(index, args):
    r = CliRunner().invoke(main, [args[0], "-i", str(index), *args[1:]])
    assert r.exit_code == 0, r.output
    assert not RAW & set(r.output), repr(r.output)
    if "--json" in args:
        found = json.dumps(json.loads(r.output), ensure_ascii=True)
        assert "Anarchism\\u001b[2J\\u001b]0;owned\\u0007\\u0000\\u007f\\u009b31m" in found
    else:
        assert "Anarchism\\x1b[2J\\x1b]0;owned\\x07\\x00\\x7f\\x9b31m" in r.output
