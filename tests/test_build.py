"""The build: hand-checked postings, determinism, merge exactness, resume after kill -9, corruption."""
import bz2
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from wikisearch.build import Builder, build_index
from wikisearch.config import FIELDS, BuildConfig, RankConfig
from wikisearch.errors import (
    CorruptIndexError, FormatTooNewError, FormatTooOldError, IndexNotFoundError, WikisearchError)
from wikisearch.index.invert import postings_as_dict
from wikisearch.index.reader import IndexReader
from wikisearch.index.segment import SegmentReader
from wikisearch.index.stats import index_stats, verify_index
from wikisearch.search.searcher import Searcher

DATA = Path(__file__).parent / "data"
from conftest import SHARED_DATA as SHARED, requires_shared  # noqa: E402  (tests/conftest.py)
ENWIK8 = SHARED / "enwiki-xml" / "enwik8-head-4MB.xml.bz2"
GENSIM = SHARED / "enwiki-xml" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
F = {name: i for i, name in enumerate(FIELDS)}


def _files(index: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(index.iterdir())}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "idx"
    build_index([DATA / "tiny.xml"], out)
    return IndexReader(out)


def _postings(reader, term):
    t = reader.term_ordinal(term)
    assert t >= 0, term
    return {reader.title(d): {FIELDS[f]: tf for f, tf in fields.items()}
            for d, fields in postings_as_dict(*reader.postings(t))}


def test_tiny_documents(tiny):
    # articles in dump order; the redirect "Lata" and the Template page are not documents
    assert [tiny.title(d) for d in range(tiny.n_docs)] == [
        "Lata Mangeshkar", "Playback singer", "Москва", "Empty page"]
    assert tiny.page_ids.tolist() == [101, 103, 105, 106]
    assert tiny.redirects(0) == ["Lata"]
    assert tiny.docid_for_title("Москва") == 2 and tiny.docid_for_title("Lata") == -1
    assert tiny.url(0) == "https://en.wikipedia.org/wiki/Lata_Mangeshkar"
    # "Playback singer" links to the redirect "Lata": counts for Lata Mangeshkar;
    # Москва links to Playback singer; Lata Mangeshkar links to it too
    assert tiny.inlinks.tolist() == [1, 2, 0, 0]
    assert tiny.field_lengths[3].sum() == 2   # "Empty page": title only


def test_tiny_postings_by_hand(tiny):
    # "mangeshkar": title of doc 0, its lead ("Lata Mangeshkar was..."), infobox name value,
    # the <ref> ("Lata Mangeshkar: a biography"); the category sort key is not text
    assert _postings(tiny, "mangeshkar") == {
        "Lata Mangeshkar": {"title": 1, "opening": 1, "infobox": 1, "reference": 1}}
    # "lata": as above plus the redirect alias "Lata" and the link text [[Lata]] in doc 1
    assert _postings(tiny, "lata") == {
        "Lata Mangeshkar": {"title": 1, "redirect": 1, "opening": 1, "infobox": 1, "reference": 1},
        "Playback singer": {"opening": 1, "link": 1}}
    # "singer" (stemmed "singers"): categories of docs 0 and 1, titles, links
    s = _postings(tiny, "singer")
    assert s["Lata Mangeshkar"]["category"] == 2 and s["Lata Mangeshkar"]["link"] == 1
    assert s["Playback singer"]["title"] == 1 and s["Playback singer"]["category"] == 1
    assert s["Москва"] == {"link": 1, "body": 1} or s["Москва"] == {"link": 1, "opening": 1}
    assert _postings(tiny, "москва") == {"Москва": {"title": 1, "opening": 1}}
    assert tiny.term_ordinal("template") == -1   # the Template: page is not indexed
    assert tiny.term_ordinal("the") == -1        # stopword


def test_tiny_stats(tiny):
    s = index_stats(tiny.path)
    assert s["documents"] == 4 and s["redirects"] == 1
    assert s["postings"] == sum(tiny.doc_freq(t) for t in range(tiny.n_terms))
    assert s["terms"] == tiny.n_terms


@requires_shared(GENSIM)
def test_workers_give_identical_bytes(tmp_path):
    a = build_index([GENSIM], tmp_path / "w1", workers=1, block_bytes=300_000)
    b = build_index([GENSIM], tmp_path / "w2", workers=2, block_bytes=300_000)
    c = build_index([GENSIM], tmp_path / "big", workers=1)     # one block
    assert _files(a) == _files(b) == _files(c)


@requires_shared(GENSIM)
def test_progress_counts_every_input_in_turn(tmp_path, monkeypatch):
    """The progress bar's position runs over all the inputs: the second file's bytes come after
    the first's (it once restarted at 0 with each file, so a two-part full-scale build's bar
    stood still at the first part's size until the end)."""
    from wikisearch import build as B
    docs = (DATA / "dump_wikiextractor.txt").read_text().split("</doc>\n")[:-1]
    parts = [tmp_path / "wiki_00", tmp_path / "wiki_01"]
    parts[0].write_text(docs[0] + "</doc>\n")
    parts[1].write_text("".join(d + "</doc>\n" for d in docs[1:]))
    seen = []
    advance = B._Progress.advance

    def spy(self, position, pages=0, xml=0):
        seen.append(position)
        return advance(self, position, pages, xml)

    monkeypatch.setattr(B._Progress, "advance", spy)
    build_index(parts, tmp_path / "idx", progress=True)
    total = sum(p.stat().st_size for p in parts)
    assert seen and all(a <= b for a, b in zip(seen, seen[1:]))
    assert max(seen) == total


def test_pool_shut_while_titles_and_redirects_are_resolved(tmp_path, monkeypatch):
    """The pool's idle workers are gone while the main process alone resolves the titles and
    redirects (their heaps would sit beside its tables); a fresh pool merges, and is closed before
    the main process joins the parts (the merge's largest step); same bytes."""
    import wikisearch.build as B
    monkeypatch.setattr(Builder, "_search_groups", lambda self: [])    # (not a first run)
    seen = {}
    builder = Builder([str(GENSIM)], tmp_path / "w2", BuildConfig(workers=2, block_bytes=300_000),
                      RankConfig(), False, None)
    finalize, lookups, merge_postings = Builder._finalize, B.title_lookups, Builder._merge_postings

    def at_finalize(self):
        seen["block_pids"] = set(self.pool._processes)
        return finalize(self)

    def at_lookups(*a):
        seen["pool_at_lookups"] = builder.pool
        return lookups(*a)

    def at_merge(self, *a):
        seen["merge_pool"] = self.pool
        seen["merge_pids"] = set(self.pool._processes)     # (the alias segments ran on it)
        out = merge_postings(self, *a)
        seen["pool_after_merge"] = self.pool               # closed before the parts are joined
        return out
    monkeypatch.setattr(Builder, "_finalize", at_finalize)
    monkeypatch.setattr(B, "title_lookups", at_lookups)
    monkeypatch.setattr(Builder, "_merge_postings", at_merge)
    builder.run()
    assert seen["block_pids"] and seen["pool_at_lookups"] is None
    assert seen["merge_pool"] is not None and seen["merge_pids"] and not seen["merge_pids"] & seen["block_pids"]
    assert seen["pool_after_merge"] is None      # assemble_parts ran here, no idle worker beside it
    monkeypatch.undo()
    a = build_index([GENSIM], tmp_path / "w1", workers=1, block_bytes=300_000)
    assert _files(a) == _files(tmp_path / "w2")


@requires_shared(GENSIM)
def test_blocks_of_a_dump_share_one_link_cache(tmp_path):
    """A worker's blocks of one dump share one SiteInfo, so one Site and its bounded link-target
    cache (a new SiteInfo per block made a Site and a cache per block: a 16x build's workers
    grew ~5 MB a block)."""
    import wikisearch.build as B
    from wikisearch.ingest import wikitext
    from wikisearch.ingest.dump import Dump
    builder = Builder([str(GENSIM)], tmp_path / "idx", BuildConfig(block_bytes=300_000), RankConfig(), False, None)
    wikitext._SITES.clear()
    with Dump(str(GENSIM)) as dump:
        ctx = builder._context(dump)
        for k, (block, data) in enumerate(dump.blocks(300_000)):
            B.build_block(data, block, dict(ctx, siteinfo=dict(ctx["siteinfo"])), str(tmp_path / f"b{k}"))
            if k == 2:
                break
    assert k == 2 and len(wikitext._SITES) == 1
    site = next(iter(wikitext._SITES.values()))[1]
    assert site.cache                                   # the blocks' link targets, in the one cache


@requires_shared(ENWIK8)
def test_merged_index_equals_unmerged_segments(tmp_path):
    cfg = BuildConfig(block_bytes=200_000)
    builder = Builder([str(ENWIK8)], tmp_path / "idx", cfg, RankConfig(), False, None)
    builder._run_blocks(builder._prepare_workdir())
    final = builder._finalize()
    merged = SegmentReader(final)
    blocks = [SegmentReader(builder.work / "blocks" / f"{k:06d}") for k in range(builder.n_blocks)]
    assert len(blocks) > 5
    base = np.cumsum([0] + [b.n_docs for b in blocks])
    expected = {}
    for k, blk in enumerate(blocks):
        for t, term in enumerate(blk.all_terms()):
            d, m, tf = blk.postings(t)
            expected.setdefault(term, []).extend(postings_as_dict(d + int(base[k]), m, tf))
    checked = 0
    for t, term in enumerate(merged.all_terms()):
        got = [(d, {f: v for f, v in fl.items() if f != F["redirect"]})
               for d, fl in postings_as_dict(*merged.postings(t))]
        got = [(d, fl) for d, fl in got if fl]
        assert got == expected.get(term, []), term
        checked += 1
    assert checked >= len(expected)
    assert merged.n_docs == base[-1]


@requires_shared(ENWIK8)
def test_kill_and_resume_gives_same_bytes(tmp_path):
    ref = build_index([ENWIK8], tmp_path / "ref", block_bytes=150_000)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "wikisearch", "index", str(ENWIK8), "-o", str(out),
           "--block-size", "150000", "-q"]
    rng = random.Random(11)
    for _ in range(3):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 4.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        # whatever is on disk now is never a valid index unless the build finished
        if out.exists():
            IndexReader(out).close()
        with pytest.raises(IndexNotFoundError):
            IndexReader(out.parent / f".{out.name}.building")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _files(out) == _files(ref)
    assert not (out.parent / f".{out.name}.building").exists()


@pytest.mark.parametrize("name", ["terms.bin", "postings.bin", "docs.bin", "store.bin", "blocks.bin",
                                  "suggest.bin", "manifest.json"])
def test_flipped_byte_is_reported_as_corruption(tmp_path, name):
    out = build_index([DATA / "tiny.xml"], tmp_path / "idx")
    path = out / name
    raw = path.read_bytes()
    rng = random.Random(name)
    for pos in sorted(rng.sample(range(len(raw)), 12)):
        damaged = bytearray(raw)
        damaged[pos] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        with pytest.raises((CorruptIndexError, FormatTooNewError, FormatTooOldError)):
            verify_index(out)
            # the checks made on every open and read also catch it
        try:
            r = IndexReader(out)
            for t in range(r.n_terms):
                r.postings(t)
            for d in range(r.n_docs):
                r.stored_text(d)
            Searcher(r).suggest("a")                # suggest.bin
        except WikisearchError:
            pass
        else:
            pytest.fail(f"flipped bit at byte {pos} of {name} went unnoticed")
    path.write_bytes(raw)
    verify_index(out)


def test_half_built_directory_is_not_an_index(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(IndexNotFoundError, match="not a complete"):
        IndexReader(tmp_path / "x")
    with pytest.raises(IndexNotFoundError, match="no index"):
        IndexReader(tmp_path / "missing")


def test_refuses_to_replace_a_non_index(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(WikisearchError, match="not a wikisearch index"):
        build_index([DATA / "tiny.xml"], tmp_path / "precious")
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


@requires_shared(GENSIM)
def test_rebuild_replaces_old_index(tmp_path):
    out = build_index([DATA / "tiny.xml"], tmp_path / "idx")
    build_index([GENSIM], out)
    assert IndexReader(out).n_docs == 106


@requires_shared(GENSIM)
def test_block_transports_give_the_same_bytes(tmp_path):
    # a worker reads a plain file's block itself; other blocks come through shared memory,
    # or pickled when /dev/shm has no room
    from wikisearch.workers import drop_shared as _drop_shared, share_block as _share_block, take_block as _take_block
    from wikisearch.ingest.dump import Dump
    plain = tmp_path / "plain.xml"
    plain.write_bytes(bz2.decompress(GENSIM.read_bytes()))
    for path, kinds in ((plain, {"file"}), (GENSIM, {"shm", "bytes"})):
        with Dump(path) as dump:
            for block, data in dump.blocks(300_000):
                for room in (True, False):
                    src = _share_block(data, block, dump, room)
                    assert src[0] in kinds
                    assert _take_block(src) == data
                    _drop_shared(src)            # already unlinked by the taker: a no-op
    a = build_index([plain], tmp_path / "w1", workers=1, block_bytes=300_000)
    b = build_index([plain], tmp_path / "w2", workers=2, block_bytes=300_000)
    assert _files(a) == _files(b)


def test_errors_cross_a_process_pool_intact():
    # a worker's DumpFormatError / CorruptIndexError must reach the user as itself, not as a
    # "result has failed to un-serialize" broken pool
    import pickle
    from wikisearch.errors import DumpFormatError
    for e in (CorruptIndexError("/x/terms.bin", "damaged", expected=3, found=4),
              DumpFormatError("bad page", offset=3, title="T", path="/p")):
        f = pickle.loads(pickle.dumps(e))
        assert type(f) is type(e) and str(f) == str(e) and vars(f) == vars(e)


def test_sparse_reader_reads_the_store_only_when_a_document_is_asked_for(tiny):
    """The build's readers (sparse) leave the store's tables and zstd dictionary unread until a
    document is asked for: the merge opens every block (~550 at full scale), and ~0.7 MB of
    them per block put the merge's process tree over --memory 2GB (issue #13)."""
    sparse = SegmentReader(tiny.path, sparse=True)
    mapped = SegmentReader(tiny.path)
    try:
        assert sparse.store_c is not None and sparse.store_c.arrays == {}
        assert sparse._store_reader is None
        for d in range(sparse.n_docs):
            assert sparse.stored_doc(d) == mapped.stored_doc(d)
        assert sparse._store_reader is not None
    finally:
        sparse.close()
        mapped.close()


@requires_shared(GENSIM)
def test_merge_reads_no_store_tables_of_the_blocks(tmp_path, monkeypatch):
    """No block's store is opened as a reader in the build (the stores are joined from their
    containers, one dictionary held at a time; only the merged store is read, by forward.bin's
    step); the bytes are those of a one-block build."""
    import wikisearch.index.segment as S
    opened = []
    real = S.StoreReader

    def counting(container):
        opened.append(container.path)
        return real(container)
    monkeypatch.setattr(S, "StoreReader", counting)
    a = build_index([GENSIM], tmp_path / "w1", workers=1, block_bytes=300_000)
    assert len(list((tmp_path / "w1").iterdir())) and opened
    assert all(p.parent.name == "final" and p.name == "store.bin" for p in opened), opened
    monkeypatch.setattr(S, "StoreReader", real)
    b = build_index([GENSIM], tmp_path / "big", workers=1)
    assert _files(a) == _files(b)
