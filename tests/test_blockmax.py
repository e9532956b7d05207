"""Block-max search (blocks.bin + _blockmax_kernels) against exhaustive scoring, bit for bit.

The index is built from a generated MediaWiki dump whose few words follow a Zipf law, so that many
lists run over several 128-posting blocks, some end in a one-posting tail, and words sit in
several fields (title, headings, body) with varied lengths.
"""
from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from wikisearch.config import FIELDS, PriorConfig, RankConfig
from wikisearch.errors import CorruptIndexError, InvalidQueryError
from wikisearch.index.reader import IndexReader
from wikisearch.popularity.priors import Priors
from wikisearch.search import _blockmax_kernels as BK
from wikisearch.search.blockmax import ALL_FIELDS
from wikisearch.search.query import parse_query
from wikisearch.search.rank import combine, field_tf, length_norm
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
from _oracle import oracle_search, run_with_and_without_jit  # noqa: E402

VOCAB = [f"w{i:02d}" for i in range(60)]
_HEAD = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">
<siteinfo><sitename>Wikipedia</sitename><dbname>enwiki</dbname>
<base>https://en.wikipedia.org/wiki/Main_Page</base><case>first-letter</case>
<namespaces><namespace key="0" case="first-letter" /></namespaces></siteinfo>
"""


def _words(rng, n):
    return " ".join(VOCAB[min(int(rng.paretovariate(0.9)) - 1, len(VOCAB) - 1)] for _ in range(n))


def write_dump(path: Path, n_pages: int, seed: int) -> Path:
    rng = random.Random(seed)
    parts = [_HEAD]
    for p in range(n_pages):
        body = [_words(rng, rng.randint(3, 120))]
        for _ in range(rng.randint(0, 2)):
            body.append(f"== {_words(rng, rng.randint(1, 3))} ==\n{_words(rng, rng.randint(5, 60))}")
        title = f"P{p} {_words(rng, rng.randint(0, 2))}".strip()
        parts.append(f"<page><title>{title}</title><ns>0</ns><id>{p + 1}</id><revision><id>{p + 1}</id>"
                     f"<text xml:space=\"preserve\">{chr(10).join(body)}</text></revision></page>\n")
    parts.append("</mediawiki>\n")
    path.write_text("".join(parts), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from wikisearch.build import build_index
    tmp = tmp_path_factory.mktemp("blockmax")
    return build_index([str(write_dump(tmp / "zipf.xml", 1500, 7))], str(tmp / "idx"))


def _pre_score(reader, rank, d, fields_tf):
    acc = 0.0
    avg = reader.avg_field_lengths
    for f in sorted(fields_tf):
        norm = length_norm(rank.b[f], float(reader.field_lengths[d, f]), float(avg[f]))
        acc += field_tf(float(fields_tf[f]), rank.weights[f], norm, rank.model)
    return combine(acc, 1.0, rank.k1, rank.model)


def test_blocks_bin_by_hand(index):
    """Every long list's block data, recomputed in plain Python from its decoded postings."""
    r = IndexReader(index)
    m = r.block_maxima
    rank = r.rank_config
    assert m.rank == rank.to_json() and len(m.terms) > 20
    for i, o in enumerate(m.terms.tolist()):
        docids, masks, tfs = r.postings(o)
        n = len(docids)
        assert n > 128
        g0, g1 = int(m.offsets[i]), int(m.offsets[i + 1])
        assert g1 - g0 == -(-n // 128)
        j = 0
        scores = []
        for d, mask in zip(docids.tolist(), masks.tolist()):
            per = {}
            for f in range(len(FIELDS)):
                if mask >> f & 1:
                    per[f] = int(tfs[j])
                    j += 1
            scores.append(_pre_score(r, rank, d, per))
        pos, last, bounds = m.list_blocks(g0, g1)
        for b in range(g1 - g0):
            chunk = scores[b * 128:(b + 1) * 128]
            assert int(last[b]) == int(docids[min(n, (b + 1) * 128) - 1])
            bound = float(bounds[b])
            # format 10: the least code whose bound (code x the list's step, about 1/255 of its
            # largest) is at least the float32 bound (rounded up from the exact maximum: within
            # 2^-23 of it)
            code = int(m.bound_code[g0 + b])
            step = float(m.list_step[i])
            assert bound >= max(chunk) and abs(bound - code * step) <= bound * 2.0 ** -23
            assert code == 0 or (code - 1) * step < max(chunk) * (1 + 2.0 ** -22)
        assert int(pos[0]) > 0 and list(pos) == sorted(pos)
        assert np.array_equal(pos, m.pos[g0:g1]) and np.array_equal(bounds, m.bound[g0:g1])
    assert r.doc_freq(int(m.terms[0])) > 128


def _random_query(rng):
    words = [rng.choice(VOCAB[:30]) for _ in range(rng.randint(1, 6))]
    out = []
    for w in words:
        roll = rng.random()
        out.append(("t:" + w) if roll < 0.1 else ("-" + w) if roll < 0.15 else w)
    return " ".join(out)


def _same(got, want, text):
    assert [(h.docid, h.score) for h in got] == want, text


def test_block_max_equals_exhaustive(index):
    """First-sight queries take the block-max path (no list cache): same top k, same bits."""
    r = IndexReader(index)
    s = Searcher(r, cache_postings=0)
    assert s._blockmax is not None
    calls = []
    real = BK.blockmax_topk

    def counting(*a):
        calls.append(1)
        return real(*a)
    BK_mod = sys.modules["wikisearch.search.blockmax"]
    BK_mod.BK.blockmax_topk = counting
    try:
        rng = random.Random(3)
        for _ in range(250):
            text = _random_query(rng)
            k = rng.choice([1, 2, 3, 10, 50, 1000])
            try:
                q = parse_query(text, r.analyzer)
            except InvalidQueryError:            # only exclusions
                continue
            got = s.search(text, k=k)
            want, total = oracle_search(r, q, r.rank_config, k)
            _same(got, want, text)
            assert got.total_matches == total, text
    finally:
        BK_mod.BK.blockmax_topk = real
    assert len(calls) > 150                     # the block-max path did answer


def test_cache_admission_gives_the_same_answers(index):
    """The default searcher: first sight by block-max, the second time from the scored-lists
    cache; the answers agree with each other and with the oracle."""
    r = IndexReader(index)
    s = Searcher(r)
    rng = random.Random(5)
    texts = [" ".join(rng.choice(VOCAB[:25]) for _ in range(rng.randint(1, 4))) for _ in range(40)]
    first = [[(h.docid, h.score) for h in s.search(t, k=10)] for t in texts]
    again = [[(h.docid, h.score) for h in s.search(t, k=10)] for t in texts]
    assert first == again
    for t, got in zip(texts, first):
        assert got == oracle_search(r, parse_query(t, r.analyzer), r.rank_config, 10)[0], t


def test_other_ranking_settings_take_the_exact_path(index):
    r = IndexReader(index)
    s = Searcher(r, cache_postings=0)
    custom = RankConfig(k1=1.2, weights=tuple(1.0 for _ in FIELDS))
    assert not s._blockmax.eligible(custom) and s._blockmax.eligible(r.rank_config)
    for text in ("w00 w01", "w03 w07 w11", "t:w02 w05"):
        q = parse_query(text, r.analyzer)
        _same(s.search(text, k=10, rank=custom), oracle_search(r, q, custom, 10)[0], text)


def test_block_max_with_priors(index):
    r = IndexReader(index)
    rng = np.random.default_rng(9)
    views = np.where(rng.random(r.n_docs) < 0.3, rng.integers(1, 10**6, r.n_docs), 0).astype(np.float64)
    priors = Priors(views, rng.integers(0, 50, r.n_docs).astype(np.uint32), total_views=1e7,
                    config=PriorConfig(pageviews_weight=2.0, inlinks_weight=1.0))
    s = Searcher(r, cache_postings=0, priors=priors)
    prior = priors.scores()
    texts = ["w00", "w00 w01", "w04 w09 w13", "w20 -w00", "w02 w02 w03"]
    for text in texts:
        for k in (1, 10, 100):
            q = parse_query(text, r.analyzer)
            got = s.search(text, k=k)
            matched, _ = oracle_search(r, q, r.rank_config, r.n_docs)
            want = sorted(((d, sc + prior[d]) for d, sc in matched), key=lambda x: (-x[1], x[0]))[:k]
            _same(got, want, text)


def test_damaged_block_data_is_corruption(index):
    """Block data that disagree with the bytes (a wrong last docid) raise CorruptIndexError."""
    r = IndexReader(index)
    s = Searcher(r, cache_postings=0)
    m = r.block_maxima
    o = int(m.terms[0])
    bad = np.array(m.last_step)              # (format 10: the first block's step is its last docid)
    bad[int(m.offsets[0])] += 1
    m.last_step = bad
    with pytest.raises(CorruptIndexError):
        s.search(r.terms.term(o), k=1000)


N_DOCS = 5000


def _lists_of_every_size(seed: int):
    """Bit-packed lists of 1 to 385 postings over N_DOCS documents (one-posting tails, whole
    blocks, a tail after whole blocks), each with its block data: yields ``(n, docids, masks, tfs,
    data, (boff, pos, last, bound, ok), (lengths, w, a, c))``."""
    from wikisearch.index.codec import get_codec
    codec = get_codec("bitpacked")
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 50, (N_DOCS, len(FIELDS))).astype(np.uint32)
    w, a, c = np.ones(len(FIELDS)), np.full(len(FIELDS), 0.5), np.full(len(FIELDS), 0.02)
    for n in (1, 2, 128, 129, 130, 256, 257, 385):
        docids = np.sort(rng.choice(N_DOCS, n, replace=False)).astype(np.int32)
        masks = rng.choice([1, 16, 17, 272], n).astype(np.uint16)
        tfs = rng.integers(1, 5, int(sum(bin(int(x)).count("1") for x in masks))).astype(np.uint32)
        data = np.frombuffer(codec.encode(docids, masks, tfs), np.uint8).copy()
        meta = BK.list_block_meta(data, np.array([0]), np.array([len(data)]), np.array([n]), np.int64(511),
                                  lengths, w, a, c, 1.2, 0)
        yield n, docids, masks, tfs, data, meta, (lengths, w, a, c)


def test_one_posting_tails_and_exact_block_sizes():
    """Lists of 129, 256, 257 and 385 postings (a one-posting tail, whole blocks, a tail after
    whole blocks): the kernel's blocks read back exactly what the codec wrote."""
    for n, docids, _masks, _tfs, data, (boff, pos, last, bound, ok), (lengths, w, a, c) in _lists_of_every_size(1):
        assert ok and boff.tolist() == [0, -(-n // 128)]
        assert last.tolist() == [int(docids[min(n, (b + 1) * 128) - 1]) for b in range(boff[1])]
        got = BK.blockmax_topk(n, data, np.array([0]), np.array([len(data)]), np.array([n]), boff, pos,
                               last, bound, np.array([1.0]), np.array([511]), lengths, w, a, c, 1.2, 0,
                               np.zeros(0, np.int32), np.zeros(0), 0.0)
        assert got[5] == 0 and sorted(got[0].tolist()) == docids.tolist(), n


def _filtered(lists, cands):
    """The oracle of ``candidate_postings``: each whole list, filtered to ``cands``, in CSR."""
    offsets, ds, ms, ts = [0], [], [], []
    for docids, masks, tfs in lists:
        starts = np.concatenate([[0], np.cumsum([bin(int(x)).count("1") for x in masks])])
        for i, d in enumerate(docids.tolist()):
            if d in cands:
                ds.append(d)
                ms.append(int(masks[i]))
                ts.extend(tfs[starts[i]:starts[i + 1]].tolist())
        offsets.append(len(ds))
    return offsets, ds, ms, ts


def test_candidate_postings_equal_whole_lists_filtered(index):
    """The re-ranker's block-at-a-time read of its candidates' postings (``Searcher.candidate_postings``)
    gives exactly the postings of those documents that decoding each list whole gives: lists of one
    block and of many, candidates inside, between and past the lists' documents, the first and
    the last document; and the re-ranker's features are the same either way."""
    from wikisearch.search.rerank import features
    r = IndexReader(index)
    s = Searcher(r, cache_postings=0)
    rng = np.random.default_rng(5)
    ords = [o for o in (r.term_ordinal(w) for w in VOCAB) if o >= 0]
    dfs = {o: r.doc_freq(o) for o in ords}
    assert max(dfs.values()) > 3 * 128 and min(dfs.values()) <= 128      # many blocks and one
    n = r.n_docs
    for trial in range(40):
        terms = [int(o) for o in rng.choice(ords, int(rng.integers(1, 5)), replace=False)]
        size = int(rng.choice([1, 5, 100, 300]))
        cands = np.unique(np.concatenate([rng.choice(n, size), [0, n - 1][:trial % 3]])).astype(np.int32)
        got = s.candidate_postings(terms, cands)
        want = _filtered([r.postings(o) for o in terms], set(cands.tolist()))
        assert [a.tolist() for a in got] == list(want), (terms, cands[:5])
        docids = rng.permutation(cands)[:100]
        assert np.array_equal(features(r, terms, docids, r.rank_config, postings=s.candidate_postings),
                              features(r, terms, docids, r.rank_config))
    assert s.candidate_postings(ords[:2], np.array([3, 3, 7], np.int32)) is None     # not distinct


def test_candidate_postings_of_tails_and_exact_block_sizes():
    """``BK.candidate_postings`` over lists of 1 to 385 postings (one-posting tails, whole blocks),
    every posting a candidate, none, or one in three."""
    n_docs = N_DOCS
    for n, docids, masks, tfs, data, (boff, pos, last, _bound, ok), _params in _lists_of_every_size(3):
        assert ok
        for cands in (docids, np.zeros(0, np.int32), np.unique(np.concatenate([docids[::3], docids[::3] + 1])),
                      np.arange(n_docs, dtype=np.int32)):
            cands = cands[cands < n_docs].astype(np.int32)
            *got, n_dec, status = BK.candidate_postings(data, np.array([0]), np.array([len(data)]), np.array([n]),
                                                        boff, pos, last, cands, np.int64(n_docs))
            assert status == 0
            assert [x.tolist() for x in got] == list(_filtered([(docids, masks, tfs)], set(cands.tolist()))), n
            assert n_dec <= len(pos) and (n_dec == 0) == (len(cands) == 0)


def test_damaged_block_data_is_corruption_for_the_reranker(index):
    """A block whose last docid disagrees with blocks.bin raises CorruptIndexError in the
    re-ranker's read as in search."""
    r = IndexReader(index)
    s = Searcher(r, cache_postings=0)
    m = r.block_maxima
    o = int(m.terms[0])
    bad = np.array(m.last_step)
    bad[int(m.offsets[0])] += 1
    m.last_step = bad
    with pytest.raises(CorruptIndexError):
        s.candidate_postings([o], np.arange(r.n_docs, dtype=np.int32))


def test_one_posting_scored_alone_equals_its_block(index):
    """A probe scores just the posting it lands on (_posting_score): bit-equal to the same posting
    scored with its whole block (_score_run) and to the plain path (_field_sum then _combine), for
    every posting of every list, BM25 and TF-IDF, every field and a one-field selection."""
    from wikisearch.index._codec_kernels import _read_mask_table
    from wikisearch.search import _search_kernels as K
    from wikisearch.search._prescore_kernels import _code_tables, _term_tables
    from wikisearch.search.rank import kernel_params
    r = IndexReader(index)
    fl = np.ascontiguousarray(r.field_lengths)
    data = r.postings_data
    checked = 0
    for rank in (r.rank_config, RankConfig(model="tfidf")):
        w, a, c, k1, model = kernel_params(rank, r.avg_field_lengths)
        for sel in (int(ALL_FIELDS), 1 << FIELDS.index("body")):
            for word in VOCAB[:40]:
                o = r.term_ordinal(word)
                if o < 0:
                    continue
                e = r.terms.entry(o)
                table, at = _read_mask_table(data, e.start, e.start + e.length)
                counts, kept = _code_tables(table, np.int64(sel))
                tables = _term_tables(table, kept, w, a, c)
                gaps, codes, tfs, _vals, kd, kcode, kstart = BK._scratch()
                fields = np.empty(BK.BLOCK, np.uint16)
                scores = np.empty(BK.BLOCK, np.float64)
                last, n, end = np.int64(-1), e.df, e.start + e.length
                nb = BK.n_blocks_of(n)
                for b in range(nb):
                    count = min(BK.BLOCK, n - b * BK.BLOCK)
                    tail = n % BK.BLOCK == 1 and b == nb - 1
                    at, last, m = BK._decode_block(data, at, end, count, tail, last, table.size, counts, kept,
                                                   gaps, codes, tfs, r.n_docs, kd, kcode, kstart, fields)
                    assert at >= 0
                    BK._score_run(0, m, kd, kcode, kstart, tfs, 0, *tables, fl, k1, model, scores)
                    masks = table[kcode[:m]].astype(np.int64)
                    for i in range(m):
                        one = BK._posting_score(kd[i], kcode[i], kstart[i], tfs, *tables, fl, k1, model)
                        plain = K._combine(K._field_sum(i, kd[i], sel, masks, kstart, tfs, fl, w, a, c, model),
                                           1.0, k1, model)
                        assert one == scores[i] == plain, (word, b, i)
                        assert int(fields[i]) == (int(masks[i]) & sel) and fields[i] != 0
                        checked += 1
    assert checked > 10_000


def test_docs_bin_before_format_8_is_still_read(index, tmp_path):
    """Format 8 keeps the field lengths field by field (read as a Fortran-order view, which the
    kernels take as it is); a format 7 docs.bin (``field_lengths``, document by document) is still
    read, and every path answers the same, bit for bit."""
    import json
    import shutil
    from wikisearch.index.container import Container, write_container
    from wikisearch.index.manifest import MANIFEST, file_checksums, manifest_checksum
    from wikisearch.index.publish import resolve_index
    from wikisearch.index.segment import LENGTHS
    src = resolve_index(index)
    old = tmp_path / "old"
    shutil.copytree(src, old)
    c = Container(src / "docs.bin", b"DOCS")
    arrays = {name: np.array(c[name]) for name in c.specs}
    meta = dict(c.meta)
    lengths = np.zeros((len(FIELDS), meta["n_docs"]), np.uint32)     # (format 9 leaves out fields all 0)
    lengths[meta.pop("length_fields")] = arrays.pop(LENGTHS)
    arrays["field_lengths"] = np.ascontiguousarray(lengths.T)
    write_container(old / "docs.bin", b"DOCS", arrays, meta=meta)
    manifest = json.loads((old / MANIFEST).read_text())
    manifest["format_version"] = 7
    manifest["files"] = file_checksums(old, list(manifest["files"]))
    manifest["checksum"] = manifest_checksum(manifest)
    (old / MANIFEST).write_text(json.dumps(manifest))
    new_r, old_r = IndexReader(index), IndexReader(old)
    assert new_r.field_lengths.flags.f_contiguous and not new_r.field_lengths.flags.c_contiguous
    assert old_r.field_lengths.flags.c_contiguous
    assert np.array_equal(new_r.field_lengths, old_r.field_lengths)
    rng = random.Random(11)
    for cache in (0, None):                     # block-max first sight; the scored-lists cache
        a = Searcher(new_r) if cache is None else Searcher(new_r, cache_postings=cache)
        b = Searcher(old_r) if cache is None else Searcher(old_r, cache_postings=cache)
        for _ in range(60):
            text = _random_query(rng)
            k = rng.choice([1, 10, 100])
            try:
                got = [(h.docid, h.score) for h in a.search(text, k=k)]
            except InvalidQueryError:
                continue
            assert got == [(h.docid, h.score) for h in b.search(text, k=k)], text
        for text in ("w01 AND w02", "t:w03 w04", '"w01 w02"'):
            assert [(h.docid, h.score) for h in a.search(text, k=20)] == \
                [(h.docid, h.score) for h in b.search(text, k=20)], text


def test_kernels_without_jit(index):
    """The block-max kernels run as plain Python (NUMBA_DISABLE_JIT=1) and give the same answers."""
    code = f"""
import json, random
import numpy as np
from wikisearch.search.searcher import Searcher
s = Searcher({str(index)!r}, cache_postings=0)
rng = random.Random(2)
words = ["w%02d" % i for i in range(20)]
out = []
for _ in range(12):
    q = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
    out.append([q, [(h.docid, h.score) for h in s.search(q, k=7)]])
    ords = [s.reader.term_ordinal(w) for w in sorted(set(q.split()))]
    out.append([a.tolist() for a in s.candidate_postings([o for o in ords if o >= 0],
                                                          np.arange(0, 1500, 7, dtype=np.int32))])
print(json.dumps(out))
"""
    runs = run_with_and_without_jit(code)
    assert runs[0] == runs[1]


def test_a_one_mask_list_after_a_many_mask_list_regression():
    """One kernel call over a list with several masks, then a list with one (no Codes stream):
    the second must not read the first's codes (it crashed the 30k build: codes index the table)."""
    from wikisearch.index.codec import get_codec
    codec = get_codec("bitpacked")
    rng = np.random.default_rng(2)
    n_docs = 3000
    lengths = rng.integers(1, 50, (n_docs, len(FIELDS))).astype(np.uint32)
    w, a, c = np.ones(len(FIELDS)), np.full(len(FIELDS), 0.5), np.full(len(FIELDS), 0.02)
    parts, starts, dfs = [], [], []
    for masks in ([1, 16, 17, 272, 3, 5], [16]):
        n = 300
        docids = np.sort(rng.choice(n_docs, n, replace=False)).astype(np.int32)
        m = rng.choice(masks, n).astype(np.uint16)
        tfs = np.ones(int(sum(bin(int(x)).count("1") for x in m)), np.uint32)
        starts.append(sum(len(p) for p in parts))
        parts.append(codec.encode(docids, m, tfs))
        dfs.append(n)
    data = np.frombuffer(b"".join(parts), np.uint8).copy()
    lens = [len(p) for p in parts]
    boff, pos, last, bound, ok = BK.list_block_meta(data, np.array(starts), np.array(lens), np.array(dfs),
                                                    np.int64(511), lengths, w, a, c, 1.2, 0)
    assert ok and boff.tolist() == [0, 3, 6] and (bound > 0).all()


def test_format_example():
    """docs/FORMAT.md's blocks.bin example, value for value."""
    from wikisearch.index.codec import get_codec
    n = 300
    data = np.frombuffer(get_codec("bitpacked").encode((np.arange(n) * 3).astype(np.int32),
                                                         np.full(n, 16, np.uint16), np.ones(n, np.uint32)),
                         np.uint8).copy()
    lengths = np.ones((1000, len(FIELDS)), np.uint32)
    boff, pos, last, bound, ok = BK.list_block_meta(
        data, np.array([0]), np.array([len(data)]), np.array([n]), np.int64(511), lengths,
        np.ones(len(FIELDS)), np.zeros(len(FIELDS)), np.ones(len(FIELDS)), 1.0, 0)
    assert ok and len(data) == 82 and boff.tolist() == [0, 3]
    assert pos.tolist() == [1, 35, 69] and last.tolist() == [381, 765, 897] and bound.tolist() == [0.5] * 3
    # format 10's columns of the same list
    from wikisearch.index.blockmax import BlockMaxima, write_block_maxima
    with tempfile.TemporaryDirectory() as tmp:
        write_block_maxima(Path(tmp) / "blocks.bin", [7], boff, pos, last, bound, {})
        m = BlockMaxima(Path(tmp) / "blocks.bin")
        assert m.pos_step.dtype == np.uint8 and m.pos_step.tolist() == [1, 34, 34]
        assert m.last_step.tolist() == [381, 384, 132] and len(m.last_exc_at) == len(m.last_exc) == 0
        assert m.list_step.tolist() == [np.float32(0.5) / np.float32(255)] and m.bound_code.tolist() == [255, 255, 255]
        assert m.terms.dtype == np.uint8 and m.blocks(7) == (0, 3) and m.blocks(6) is None and m.blocks(-1) is None
        p, la, bo = m.list_blocks(0, 3)
        assert p.tolist() == [1, 35, 69] and la.tolist() == [381, 765, 897] and bo.tolist() == [0.5] * 3
        m.close()


def test_bound_codes_round_up_and_steps_sum_back():
    """blocks.bin format 10: each bound is the least code c whose float32(c) * step is at least
    it (step: M / 255 for the list's largest bound M, rounded up as far as 255 steps reach M);
    the pos and last docid steps of each list sum back to them."""
    from wikisearch.index.blockmax import bound_codes, decode_bounds, last_steps, pos_steps, sum_steps
    rng = np.random.default_rng(5)
    for bound, offs in ((rng.random(5000).astype(np.float32), np.array([0, 1000, 1001, 4000, 5000])),
                        (np.float32([0.5, 0.25, 0.5, 0, 0]), np.array([0, 3, 5])),
                        (rng.random(300).astype(np.float32) * np.float32(1e-30), np.array([0, 300])),
                        (np.zeros(0, np.float32), np.array([0]))):
        codes, steps = bound_codes(bound, offs)
        assert len(steps) == len(offs) - 1
        for i, (a, z) in enumerate(zip(offs[:-1].tolist(), offs[1:].tolist())):
            top = bound[a:z].max()
            assert decode_bounds(255, steps[i]) >= top and (steps[i] == 0) == (top == 0)
            assert steps[i] == np.float32(top / 255) or decode_bounds(255, np.nextafter(steps[i], np.float32(0))) < top
            for b, c in zip(bound[a:z].tolist(), codes[a:z].tolist()):
                assert decode_bounds(c, steps[i]) >= b
                assert c == 0 or decode_bounds(c - 1, steps[i]) < b
            if top > 0:
                assert codes[a:z].max() >= 254
    pos = np.array([3, 40, 90, 1, 30, 70, 120])
    offs = np.array([0, 3, 7])
    steps = pos_steps(pos, offs)
    assert steps.tolist() == [3, 37, 50, 1, 29, 40, 50]
    assert [np.cumsum(steps[a:z]).tolist() for a, z in zip(offs[:-1], offs[1:])] == [[3, 40, 90], [1, 30, 70, 120]]
    assert sum_steps(steps, offs).tolist() == pos.tolist() and sum_steps(steps[:0], offs[:1]).tolist() == []
    # last docids: steps over 65,535 are exceptions (0 in last_step, kept apart)
    last = np.array([70000, 70200, 200000, 300, 65835, 65900, 140000])
    l_steps, at, exc = last_steps(last, offs)
    assert l_steps.dtype == np.uint16 and l_steps.tolist() == [0, 200, 0, 300, 65535, 65, 0]
    assert at.tolist() == [0, 2, 6] and exc.tolist() == [70000, 129800, 74100]


def test_format_9_blocks_bin_is_still_read(tmp_path, index):
    """A blocks.bin of format 3-9 (``pos`` uint32, ``bound`` float32) gives its own numbers."""
    from wikisearch.index.blockmax import BlockMaxima, KIND
    from wikisearch.index.container import write_container
    m = IndexReader(index).block_maxima
    rng = np.random.default_rng(1)
    bound = rng.random(len(m.last)).astype(np.float32)
    write_container(tmp_path / "blocks.bin", KIND, {"term": m.terms, "block_offsets": m.offsets,
                    "pos": m.pos.astype(np.uint32), "last": m.last, "bound": bound},
                    meta={"block": 128, "rank": m.rank, "n_lists": len(m.terms)})
    old = BlockMaxima(tmp_path / "blocks.bin")
    assert not old.coded and np.array_equal(old.bound, bound) and np.array_equal(old.pos, m.pos)
    g0, g1 = int(m.offsets[1]), int(m.offsets[2])
    p, la, bo = old.list_blocks(g0, g1)
    assert np.array_equal(p, m.pos[g0:g1]) and np.array_equal(la, m.last[g0:g1]) and np.array_equal(bo, bound[g0:g1])


def test_last_docids_past_uint16_steps_read_back(tmp_path):
    """blocks.bin format 10: lists whose blocks' last docids step by more than 65,535 (an
    exception) read back the same starts, last docids and bounds, list by list and whole."""
    from wikisearch.index.blockmax import BlockMaxima, write_block_maxima
    rng = np.random.default_rng(3)
    offs = np.array([0, 2, 7, 7 + 40])
    n = int(offs[-1])
    last = np.concatenate([np.sort(rng.choice(5_000_000, k, replace=False)) for k in np.diff(offs)]).astype(np.int32)
    pos = np.concatenate([np.cumsum(rng.integers(1, 400, k)) for k in np.diff(offs)])
    bound = rng.random(n).astype(np.float32)
    write_block_maxima(tmp_path / "blocks.bin", [3, 9, 12], offs, pos, last, bound, {})
    m = BlockMaxima(tmp_path / "blocks.bin")
    assert len(m.last_exc) > 3 and np.array_equal(m.last, last) and np.array_equal(m.pos, pos)
    for i in range(3):
        p, la, bo = m.list_blocks(int(offs[i]), int(offs[i + 1]), i)
        assert np.array_equal(la, last[offs[i]:offs[i + 1]]) and np.array_equal(p, pos[offs[i]:offs[i + 1]])
        assert (bo >= bound[offs[i]:offs[i + 1]]).all()
    m.close()



def test_postings_stream_cost_model_matches_the_bytes_written(index):
    """benchmarks/bench_postings_streams.py's size model of a Stream (format 11's packed
    exceptions), at the Width the writer chose, gives the bytes the writer wrote, for every stream
    of every long list's blocks, and no Width gives fewer (the writer minimises the exact size);
    the model of format 10's VInt pairs prices the same values too."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_postings_streams as S
    from wikisearch.index.blockmax import BlockMaxima
    from wikisearch.index.segment import SegmentReader

    src = Path(index)
    r = SegmentReader(src, store=False)
    m = BlockMaxima(src / "blocks.bin")
    data = r.postings_data
    offs = np.asarray(m.offsets, np.int64)
    checked = with_exceptions = 0
    for i, o in enumerate(np.asarray(m.terms, np.int64).tolist()):
        e = r.terms.entry(o)
        masks, _ = S.mask_table(data, e.start)
        per_mask = np.array([bin(x).count("1") for x in masks])
        g0, g1 = int(offs[i]), int(offs[i + 1])
        pos = m.list_blocks(g0, g1, i)[0]
        for g in range(g0, g1):
            c = 128 if g < g1 - 1 else e.df - 128 * (g1 - g0 - 1)
            if c == 1:
                continue
            at = e.start + int(pos[g - g0])
            end = e.start + (int(pos[g - g0 + 1]) if g + 1 < g1 else e.length)
            buf = data[at:end].tobytes()
            p, count = 0, c                                   # DocGaps, [Codes], TfMinus1s
            n_tfs = int(per_mask[0]) * c
            for k in range(3 if len(masks) >= 2 else 2):
                width = buf[p] & 63
                q, _h, _nb, _ex, vals = S.stream(buf, p, count, True)
                assert S.stream_bytes(vals, width)[1] == q - p, (o, g, k, width)
                assert S.best_bytes(vals)[1] == q - p
                with_exceptions += bool(buf[p] & 128)
                if len(masks) >= 2 and k == 1:
                    n_tfs = int(per_mask[vals].sum())
                count = n_tfs if (k == 1 or len(masks) < 2) else c
                p = q
                checked += 1
            assert p == len(buf)
    assert checked > 100 and with_exceptions > 10, (checked, with_exceptions)
