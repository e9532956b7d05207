"""Damage in a file too large to check whole on open is caught where it is read (issue 18,
item 3): the large-file path is forced on the real sample index (``FULL_CHECK_BYTES = 0``), then
bytes of ``docs.bin`` and bits of one term-dictionary block are flipped. Every answer (term
lookups, postings, titles, redirects, title lookups, ranked searches with their scores) is then
either exactly the intact index's or a ``CorruptIndexError``; never a different answer."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from wikisearch import build_index
from wikisearch.errors import CorruptIndexError
from wikisearch.index import container
from wikisearch.index.container import Container
from wikisearch.index.publish import resolve_index
from wikisearch.index.reader import IndexReader
from wikisearch.search.searcher import Searcher

SAMPLE = Path(__file__).resolve().parents[1] / "wikisearch" / "data" / "sample-enwiki.xml.bz2"
QUERIES = ["science", "ocean atlantic", "merkel chancellor", "film", "philosophy will", "retail"]


@pytest.fixture(scope="module")
def intact(tmp_path_factory):
    out = build_index([SAMPLE], tmp_path_factory.mktemp("lf") / "idx")
    return resolve_index(out)


def _answers(path: Path, terms: list[str]):
    r = IndexReader(path)
    try:
        out = []
        for t in terms:
            o = r.term_ordinal(t)
            out.append((t, o, r.doc_freq(o) if o >= 0 else None,
                        [a.tolist() for a in r.postings(o)] if o >= 0 else None))
        titles = [r.title(d) for d in range(r.n_docs)]
        out.append(titles)
        out.append([r.redirects(d) for d in range(r.n_docs)])
        out.append(r.docids_for_titles(titles + ["Nothing such"]).tolist())
        out.append((r.page_ids.tolist(), r.field_lengths.tolist(), r.inlinks.tolist()))
        s = Searcher(r)
        out.append([[(h.docid, h.score, h.title) for h in s.search(q, k=10, priors=False)]
                    for q in QUERIES])
        return out
    finally:
        r.close()


def _outcome(path, terms):
    try:
        return _answers(path, terms)
    except CorruptIndexError:
        return "caught"


@pytest.fixture
def large_path(monkeypatch):
    monkeypatch.setattr(container, "FULL_CHECK_BYTES", 0)


def _terms(path: Path) -> list[str]:
    r = IndexReader(path)
    try:
        every = r.all_terms()
    finally:
        r.close()
    rnd = random.Random(3)
    return sorted(rnd.sample(every, 150)) + ["zzzz-not-a-term", "aaaa-not-a-term"]


def _flip(src: Path, dst: Path, name: str, pos: int, bit: int | None) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    data = bytearray((dst / name).read_bytes())
    data[pos] ^= (1 << bit) if bit is not None else 0xFF
    (dst / name).write_bytes(bytes(data))


def test_large_path_is_taken(intact, large_path):
    c = Container(intact / "docs.bin", b"DOCS")
    assert not c.verified_all
    c.close()


def test_docs_byte_flips(intact, tmp_path, large_path):
    terms = _terms(intact)
    base = _answers(intact, terms)
    size = (intact / "docs.bin").stat().st_size
    rnd = random.Random(18)
    outcomes = []
    for pos in rnd.sample(range(size - 24), 40):          # the footer is checked on open anyway
        _flip(intact, tmp_path / "bad", "docs.bin", pos, None)
        got = _outcome(tmp_path / "bad", terms)
        assert got == "caught" or got == base, f"byte {pos} of docs.bin changed an answer"
        outcomes.append(got == "caught")
    assert sum(outcomes) >= 20          # most bytes are read by something; padding is not


def test_dictionary_block_bit_flips(intact, tmp_path, large_path):
    terms = _terms(intact)
    base = _answers(intact, terms)
    c = Container(intact / "terms.bin", b"TERM")
    blob_at = c.offsets["blob"]
    offsets = np.asarray(c["block_offsets"]).astype(np.int64)
    c.close()
    b = len(offsets) // 2                                   # one block in the middle
    lo, hi = blob_at + int(offsets[b]), blob_at + int(offsets[b + 1])
    rnd = random.Random(18)
    bits = rnd.sample([(p, k) for p in range(lo, hi) for k in range(8)], 60)
    caught = 0
    terms = terms + _block_terms(intact, b)
    base = _answers(intact, terms)
    for pos, bit in bits:
        _flip(intact, tmp_path / "bad", "terms.bin", pos, bit)
        got = _outcome(tmp_path / "bad", terms)
        assert got == "caught" or got == base, \
            f"bit {bit} of byte {pos} of terms.bin changed an answer"
        caught += got == "caught"
    assert caught == len(bits)          # every lookup of that block's terms reads the flip


def _block_terms(path: Path, b: int) -> list[str]:
    r = IndexReader(path)
    try:
        return [r.term(o) for o in range(b * 32, min(r.n_terms, (b + 1) * 32))]
    finally:
        r.close()
