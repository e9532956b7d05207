"""Search: BM25F against a hand computation, pruned top-k against brute force, the query language
applied end to end, odd queries. Unit tests use an in-memory index; the end-to-end ones build real
indexes (tests/data/search_tiny.xml and the bundled sample)."""
from __future__ import annotations

import json
import math
import random
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from wikisearch.search import _blockmax_kernels as BK
from wikisearch.search import _maxscore_kernels as MK
from wikisearch.search import _search_kernels as K
from wikisearch.config import FIELDS, RankConfig
from wikisearch.errors import InvalidQueryError
from wikisearch.search.query import parse_query
from wikisearch.search.rank import kernel_params
from wikisearch.search.searcher import Hit, SearchResult, Searcher

sys.path.insert(0, str(Path(__file__).parent))
from _memindex import MemoryIndex  # noqa: E402
from _oracle import oracle_search, run_with_and_without_jit  # noqa: E402

DATA = Path(__file__).parent / "data"

# --------------------------------------------------------------------------------------------
# in-memory index: exact arithmetic checks
# --------------------------------------------------------------------------------------------
DOCS = [
    {"title": "Angela Merkel", "opening": "Angela Merkel is a German politician",
     "body": "She was Chancellor of Germany. Merkel led the CDU.",
     "category": "Chancellors of Germany\nWomen"},
    {"title": "Helmut Kohl", "body": "Chancellor of Germany before Schroeder; Merkel was his protege",
     "category": "Chancellors of Germany"},
    {"title": "Berlin", "opening": "Berlin is the capital of Germany", "redirect": "Berlin Germany",
     "infobox": "country Germany"},
    {"title": "Lata Mangeshkar", "body": "Indian singer Lata sang songs", "category": "Indian singers"},
    {"title": "Asha Bhosle", "body": "Indian singer, sister of Lata Mangeshkar",
     "category": "Indian singers"},
]


@pytest.fixture(scope="module")
def mem():
    return Searcher(MemoryIndex(DOCS))


def test_bm25f_by_hand(mem):
    # t:merkel: only doc 0 has merkel in title/redirect.  title len 2, avg title len 9/5
    cfg = RankConfig()
    n, df = 5, 2                                 # merkel appears in docs 0 and 1 (body)
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    tf_title = cfg.weights[0] * 1 / (1 - cfg.b[0] + cfg.b[0] * 2 / (9 / 5))
    expected = idf * tf_title / (cfg.k1 + tf_title)
    r = mem.search("t:merkel")
    assert [h.title for h in r] == ["Angela Merkel"]
    assert r[0].score == pytest.approx(expected, rel=1e-12)
    assert r[0].matched_fields == ["title"]
    # merkel anywhere: doc 0 title+opening+body, doc 1 body.  opening lens: 4,0,3,0,0 -> avg 7/5
    body = [len(x.split()) for x in ("she chancellor germany merkel led cdu",
                                     "chancellor germany before schroeder merkel his protege",
                                     "", "indian singer lata sang songs", "indian singer sister lata mangeshkar")]
    avg_body = sum(body) / 5
    norm = lambda f, ln, avg: 1 - cfg.b[f] + cfg.b[f] * ln / avg
    w = cfg.weights
    acc0 = (w[0] * 1 / norm(0, 2, 9 / 5) + w[2] * 1 / norm(2, 4, 7 / 5) + w[4] * 1 / norm(4, body[0], avg_body))
    acc1 = w[4] * 1 / norm(4, body[1], avg_body)
    r = mem.search("merkel")
    assert [h.docid for h in r] == [0, 1]
    assert r[0].score == pytest.approx(idf * acc0 / (cfg.k1 + acc0), rel=1e-12)
    assert r[1].score == pytest.approx(idf * acc1 / (cfg.k1 + acc1), rel=1e-12)
    assert r.total_matches == 2 and r.total_relation == "eq"


def test_tfidf_by_hand(mem):
    cfg = RankConfig(model="tfidf", weights=(20.0,) + RankConfig().weights[1:],
                     b=(0.3,) + RankConfig().b[1:])
    r = mem.search("t:merkel", rank=cfg)
    idf = math.log(1 + 5 / 2)
    expected = idf * 20 * (1 + math.log(1)) / (1 - 0.3 + 0.3 * 2 / (9 / 5))
    assert r[0].score == pytest.approx(expected, rel=1e-12)
    assert r.rank_config == cfg and r.to_json()["rank_config"]["model"] == "tfidf"


def test_rank_config_per_query_changes_the_order(mem):
    # "germany": Berlin (opening+redirect+infobox) vs the chancellors (body+category)
    title_heavy = RankConfig(weights=(0, 50, 0, 0, 0, 0, 0, 0, 0))
    assert mem.search("germany", rank=title_heavy)[0].title == "Berlin"
    category_heavy = RankConfig(weights=(0, 0, 0, 0, 0, 0, 50, 0, 0))
    assert mem.search("germany", rank=category_heavy)[0].title in ("Angela Merkel", "Helmut Kohl")
    with pytest.raises(InvalidQueryError, match="k1"):
        mem.search("germany", rank=RankConfig(k1=0.0))
    with pytest.raises(InvalidQueryError, match="weight"):
        mem.search("germany", rank=RankConfig(weights=(-1,) + (1,) * 8))


def test_syntax_applied(mem):
    titles = lambda q, **kw: [h.title for h in mem.search(q, **kw)]
    assert titles("lata") == ["Lata Mangeshkar", "Asha Bhosle"]
    assert titles("t:lata") == ["Lata Mangeshkar"]
    assert titles("lata -sister") == ["Lata Mangeshkar"]
    assert titles("lata NOT t:lata") == ["Asha Bhosle"]
    assert titles("indian AND sister") == ["Asha Bhosle"]
    assert sorted(titles("incategory:\"Indian singers\"")) == ["Asha Bhosle", "Lata Mangeshkar"]
    assert titles('c:"singers indian"') == []                      # phrase order matters
    assert titles('"lata mangeshkar"') == ["Lata Mangeshkar", "Asha Bhosle"]
    assert titles('"mangeshkar lata"') == []
    assert titles('b:"lata mangeshkar"') == ["Asha Bhosle"]
    assert titles('"singer lata"') == ["Lata Mangeshkar"]          # "Indian singer Lata sang"
    assert titles('merkel -"german politician"') == ["Helmut Kohl"]
    assert titles("i:germany") == ["Berlin"]
    assert titles("germany", fields=["t"]) == ["Berlin"]             # redirect "Berlin Germany"
    assert titles("germany", fields="category") == ["Helmut Kohl", "Angela Merkel"]  # shorter field
    assert titles("zzzunknown") == []
    assert titles("zzzunknown OR lata") == ["Lata Mangeshkar", "Asha Bhosle"]
    assert titles("zzzunknown AND lata") == []


def test_phrase_without_stored_text_falls_back_to_and():
    s = Searcher(MemoryIndex(DOCS, store_text=False))
    r = s.search('"mangeshkar lata"')
    assert [h.title for h in r] == ["Lata Mangeshkar", "Asha Bhosle"]
    assert r.flags.get("phrase_fallback") and any("stores no text" in w for w in r.warnings)


def test_k_and_result_shape(mem):
    r = mem.search("germany OR lata", k=2)
    assert isinstance(r, SearchResult) and len(r) == 2 and [h.rank for h in r] == [1, 2]
    assert r.total_matches == 5
    assert all(isinstance(h, Hit) for h in r)
    d = json.loads(json.dumps(r.to_json()))
    assert d["hits"][0]["url"].startswith("https://") and d["total_matches"] == 5
    assert mem.search("germany", k=0) == [] and mem.search("germany", k=0).total_matches == 3
    for bad in (-1, 1.5, "3", None, True):
        with pytest.raises(InvalidQueryError, match="k must be"):
            mem.search("germany", k=bad)


@pytest.mark.parametrize("text", ["", "the", "AND", "-", "NOT", "-germany", "c:", '""', "   "])
def test_queries_without_result_raise_invalid_query(mem, text):
    with pytest.raises(InvalidQueryError):
        mem.search(text)


@pytest.mark.parametrize("text", ['"lata', "foo:lata", "lata AND", "OR lata", "lata c:", "T:lata",
                                  "lata -", "lata NOT", "((lata))", "lata*", "lata~2", "\x00lata\uffff"])
def test_odd_queries_give_results(mem, text):
    r = mem.search(text)
    assert r and r[0].title == "Lata Mangeshkar"


def test_huge_query(mem):
    words = " ".join(f"w{i}" for i in range(10_000)) + " lata"
    r = mem.search(words)
    assert any("distinct terms" in w for w in r.warnings)
    assert mem.search("lata " + words)[0].title == "Lata Mangeshkar"


# --------------------------------------------------------------------------------------------
# pruned top-k == brute force
# --------------------------------------------------------------------------------------------
def _random_docs(rng, n_docs, vocab):
    docs = []
    for i in range(n_docs):
        doc = {}
        for f in FIELDS:
            if rng.random() < 0.5:
                n = rng.randint(1, 3 if f in ("title", "redirect") else 40)
                doc[f] = " ".join(rng.choice(vocab) for _ in range(n))
        docs.append(doc)
    return docs


VOCAB = [f"w{i}" for i in range(40)]


@pytest.fixture(scope="module")
def random_index():
    rng = random.Random(7)
    return MemoryIndex(_random_docs(rng, 300, VOCAB))


def _random_query(rng, vocab, boolean=True):
    parts = []
    for _ in range(rng.randint(1, 6)):
        w = rng.choice(vocab)
        r = rng.random()
        if r < 0.15:
            w = rng.choice(["t:", "b:", "c:", "intitle:", "i:"]) + w
        elif r < 0.22:
            w = "-" + w
        parts.append(w)
        if boolean and rng.random() < 0.15:
            parts.append(rng.choice(["AND", "OR"]))
    return " ".join(parts)


def _configs():
    return [RankConfig(), RankConfig(k1=0.5, b=(1.0,) * 9), RankConfig(model="tfidf"),
            RankConfig(weights=(1, 0, 0, 0, 1, 0, 0, 0, 0), b=(0,) * 9)]


def _check_against_oracle(searcher, reader, text, k, rank):
    try:
        q = parse_query(text, reader.analyzer)
    except InvalidQueryError:
        with pytest.raises(InvalidQueryError):
            searcher.search(text, k=k, rank=rank)
        return
    got = searcher.search(text, k=k, rank=rank)
    want, total = oracle_search(reader, q, rank, k)
    assert [(h.docid, h.score) for h in got] == want, text
    assert got.total_matches == total, text


def test_pruned_equals_exhaustive_seeded(random_index):
    s = Searcher(random_index)
    rng = random.Random(1)
    for i in range(300):
        text = _random_query(rng, VOCAB)
        rank = rng.choice(_configs())
        _check_against_oracle(s, random_index, text, rng.choice([1, 3, 10, 50]), rank)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(terms=st.lists(st.sampled_from(VOCAB[:12]), min_size=1, max_size=8), k=st.integers(1, 30),
       cfg=st.sampled_from(_configs()))
def test_pruned_equals_exhaustive_property(random_index, terms, k, cfg):
    s = Searcher(random_index)
    _check_against_oracle(s, random_index, " ".join(terms), k, cfg)


def _synthetic_lists(rng, n_docs, n_terms):
    """Posting lists long enough to span many blocks and windows of _maxscore_kernels, with
    tied tfs (so equal scores) and field masks of one to three fields."""
    lists = []
    for _ in range(n_terms):
        df = int(rng.choice([1, 5, MK.BLOCK - 1, MK.BLOCK, MK.BLOCK + 1, 700, 3000, n_docs // 2]))
        docids = np.sort(rng.choice(n_docs, size=min(df, n_docs), replace=False)).astype(np.int32)
        masks = np.array([sum(1 << f for f in rng.choice(9, size=rng.integers(1, 4), replace=False))
                          for _ in docids], np.uint16)
        tfs = rng.integers(1, 4, size=int(sum(bin(m).count("1") for m in masks.tolist()))).astype(np.uint32)
        lists.append((docids, masks, tfs))
    return lists


def _prescored(lists, fsel, field_lengths, params):
    """The lists scored into arenas as search.py's cache does: (arenas, starts, ends, bstarts, maxes)."""
    n = sum(len(d) for d, _, _ in lists)
    arenas = (np.empty(n, np.int32), np.empty(n, np.float64), np.empty(n, np.uint16),
              np.empty(n // MK.BLOCK + len(lists) + 1, np.float64))
    starts, ends, bstarts, maxes = [], [], [], []
    pos = bpos = 0
    for (d, m, tf), sel in zip(lists, fsel):
        kept, nb, vmax = MK.prescore_into(d, m, tf, int(sel), field_lengths, *params, *arenas[:3], pos,
                                          arenas[3], bpos)
        starts.append(pos)
        ends.append(pos + kept)
        bstarts.append(bpos)
        maxes.append(vmax)
        pos += kept
        bpos += nb
    i64 = lambda v: np.array(v, np.int64)
    return arenas, i64(starts), i64(ends), i64(bstarts), np.array(maxes)


def test_prescored_maxscore_equals_exhaustive_kernel():
    """The plain-OR kernel (pre-scored lists, block maxima, windows) against exhaustive scoring of
    the raw postings: same documents, bit-identical scores, the fields each matched in, the count."""
    rng = np.random.default_rng(11)
    n_docs = 3 * BK.WINDOW + 77
    field_lengths = rng.integers(1, 60, size=(n_docs, len(FIELDS))).astype(np.uint32)
    avg = field_lengths.mean(axis=0)
    for i in range(40):
        cfg = _configs()[i % 4]
        params = kernel_params(cfg, avg)
        lists = _synthetic_lists(rng, n_docs, int(rng.integers(1, 7)))
        fsel = rng.choice([511, 511, 1, 3, 16, 64], size=len(lists)).astype(np.int64)
        idf = rng.uniform(0.1, 3, size=len(lists))
        arenas, starts, ends, bstarts, maxes = _prescored(lists, fsel, field_lengths, params)
        upper = idf * maxes * (1 + 1e-5) + 1e-12
        excluded = np.sort(rng.choice(n_docs, size=int(rng.integers(0, 200)), replace=False)).astype(np.int32)
        prior = np.zeros(0) if i % 3 else rng.choice([0.0, 0.3, 1.5], size=n_docs)
        pmax = float(prior.max()) if len(prior) else 0.0
        k = int(rng.choice([0, 1, 10, 100]))
        d1, s1, f1, _ = BK.maxscore_topk(k, starts, ends, arenas[0], arenas[1], arenas[2], bstarts,
                                         arenas[3], idf, upper, excluded, prior, pmax)
        offsets = np.cumsum([0] + [len(d) for d, _, _ in lists]).astype(np.int64)
        docids, masks, tfs = (np.concatenate([l[j] for l in lists]) for j in range(3))
        d2, s2, _ = K.exhaustive_topk_prior(k, offsets, docids, masks, K.tf_positions(masks), tfs, fsel,
                                            idf, field_lengths, *params, excluded, prior)
        assert d1.tolist() == d2.tolist() and s1.tolist() == s2.tolist()
        for d, f in zip(d1.tolist(), f1.tolist()):
            want = 0
            for (ld, lm, _), sel in zip(lists, fsel):
                j = np.searchsorted(ld, d)
                if j < len(ld) and ld[j] == d:
                    want |= int(lm[j]) & int(sel)
            assert f == want
        want = K.count_union(offsets, docids, masks, fsel, excluded)
        assert MK.count_union(starts, ends, arenas[0], excluded) == want
        assert MK.count_union_bitset(starts, ends, arenas[0], excluded, n_docs) == want


def test_count_union_bitset_counts_the_plain_union():
    """The bitset count is the size of the lists' union less ``excluded``, as a set says; at the
    edges of its 64-bit words and of ``n_docs`` too."""
    rng = np.random.default_rng(11)
    for n_docs in (1, 63, 64, 65, 128, 1000):
        for _ in range(20):
            lists = [np.unique(rng.choice([0, 63, 64, n_docs - 1] + list(rng.integers(0, n_docs, 30)),
                                          size=int(rng.integers(0, 40)))).astype(np.int32) % n_docs
                     for _ in range(int(rng.integers(1, 5)))]
            lists = [np.unique(l) for l in lists]
            docids = np.concatenate(lists).astype(np.int32)
            ends = np.cumsum([len(l) for l in lists]).astype(np.int64)
            starts = ends - [len(l) for l in lists]
            excluded = np.unique(rng.integers(0, n_docs, int(rng.integers(0, 10)))).astype(np.int32)
            want = len(set(docids.tolist()) - set(excluded.tolist()))
            assert MK.count_union_bitset(starts, ends, docids, excluded, n_docs) == want
            assert MK.count_union(starts, ends, docids, excluded) == want


def test_seeded_threshold_is_a_real_score_at_most_the_kth():
    """The pre-scored kernel starts from ``_seed_threshold``: the exact score of a real document
    (never above the k-th best, ties included: scores tie often here), or -inf; and with it the
    kernel still gives exhaustive scoring's top k for every k it is used for, and past it."""
    rng = np.random.default_rng(5)
    n_docs = 4 * BK.WINDOW + 13
    field_lengths = rng.integers(1, 9, size=(n_docs, len(FIELDS))).astype(np.uint32)
    params = kernel_params(_configs()[0], field_lengths.mean(axis=0))
    seeded = used = 0
    for i in range(25):
        lists = _synthetic_lists(rng, n_docs, int(rng.integers(1, 6)))
        fsel = rng.choice([511, 1, 16], size=len(lists)).astype(np.int64)
        idf = rng.choice([0.5, 1.0, 2.0], size=len(lists))
        arenas, starts, ends, bstarts, maxes = _prescored(lists, fsel, field_lengths, params)
        upper = idf * maxes * (1 + 1e-5) + 1e-12
        excluded = np.sort(rng.choice(n_docs, size=int(rng.integers(0, 50)), replace=False)).astype(np.int32)
        prior = np.zeros(0) if i % 2 else rng.choice([0.0, 0.25], size=n_docs)
        pmax = float(prior.max()) if len(prior) else 0.0
        offsets = np.cumsum([0] + [len(d) for d, _, _ in lists]).astype(np.int64)
        docids, masks, tfs = (np.concatenate([l[j] for l in lists]) for j in range(3))
        _d, every, _f = K.exhaustive_topk_prior(n_docs, offsets, docids, masks, K.tf_positions(masks), tfs,
                                                fsel, idf, field_lengths, *params, excluded, prior)
        order = np.arange(len(lists))
        BK._insertion_sort_by(order, upper)
        for k in sorted({1, 2, 7, BK.SEED_MAX_K, BK.SEED_MAX_K + 1, int(rng.integers(1, 60))}):
            if k <= BK.SEED_MAX_K:
                floor = BK._seed_threshold(k, order, starts, ends, arenas[0], arenas[1], bstarts, arenas[3],
                                           idf, excluded, prior)
                if floor != -np.inf:
                    seeded += 1
                    assert floor in set(every.tolist()) and len(every) >= k and floor <= every[k - 1]
                    used += len(lists) > 1 and int((ends - starts).sum()) >= BK.SEED_MIN_POSTINGS
            d1, s1, _f1, _ = BK.maxscore_topk(k, starts, ends, arenas[0], arenas[1], arenas[2], bstarts,
                                              arenas[3], idf, upper, excluded, prior, pmax)
            d2, s2, _ = K.exhaustive_topk_prior(k, offsets, docids, masks, K.tf_positions(masks), tfs, fsel,
                                                idf, field_lengths, *params, excluded, prior)
            assert d1.tolist() == d2.tolist() and s1.tolist() == s2.tolist()
    assert seeded > 50 and used > 20          # (the kernel starts from it: >= SEED_MIN_POSTINGS)


@pytest.mark.parametrize("capacity", [0, 40, 100, 400])
def test_scored_cache_of_any_size_answers_alike(random_index, capacity):
    """A cache too small for a query (scored privately), ones that start over often, a roomy one;
    a word under several field prefixes needs room once per prefix. The arenas never overflow."""
    s = Searcher(random_index, cache_postings=capacity)
    rng = random.Random(capacity)
    for i in range(120):
        text = _random_query(rng, VOCAB, boolean=False)
        if i % 3 == 0:
            w = rng.choice(VOCAB)
            text = f"{w} t:{w} b:{w} c:{w} " + text
        _check_against_oracle(s, random_index, text, 10, rng.choice(_configs()))
        c = s._scored
        assert c.pos <= c.capacity and c.bpos <= len(c.arenas[3])
        assert c.pos <= c.ready <= c.capacity and c.bpos <= c.bready <= len(c.arenas[3])


@pytest.mark.parametrize("dtype", [np.int32, np.float64, np.uint16])
def test_arena_memory_made_ready_keeps_what_is_written(dtype):
    """``cache._populate`` backs a stretch of an arena with memory ahead of the kernel's writes:
    what was written stays, the rest reads 0 (fresh anonymous memory), any stretch, any
    alignment; an array not of ``_fresh`` (no mapping of its own) is left alone."""
    from wikisearch.search.cache import _fresh, _populate

    n = 5000
    a = _fresh(n, dtype)
    a[:700] = np.arange(700) % 97 + 1
    for start, stop in [(0, 10), (699, 2049), (3, 3), (4000, n), (0, n), (n - 1, n + 100)]:
        _populate(a, start, stop)
        assert (a[:700] == np.arange(700) % 97 + 1).all() and not a[700:].any()
    a[n - 1] = 5
    assert a[n - 1] == 5
    b = np.zeros(10, dtype)
    _populate(b, 0, 10)
    assert not b.any()


def test_arena_memory_made_ready_ahead_between_queries():
    """After a query writes lists into the cache, the background preparer makes the arenas'
    memory ready ``AHEAD_POSTINGS`` beyond what is written (so the next query pays for no page);
    what is written is untouched, results stay the oracle's, and a searcher dropped while its
    request waits is skipped."""
    from wikisearch.search import cache as C

    docs = [{"title": f"w{i % 7} v{i % 3}", "body": f"w{i % 5} u{i % 11} x"} for i in range(600)]
    s = Searcher(MemoryIndex(docs))
    c = s._scored
    first = s.search("x w1 u3", k=5)
    C._PREPARER.wait()
    assert c.ready >= min(c.capacity, c.pos + C.AHEAD_POSTINGS) and c.ready % C.POPULATE_POSTINGS == 0
    assert c.bready >= min(len(c.arenas[3]), c.bpos + C.AHEAD_POSTINGS // MK.BLOCK)
    ready = c.ready
    for text in ["v1 u4", "x w1 u3", "t:w2 b:u7 v0"]:
        got = s.search(text, k=5)
        want, _ = oracle_search(s.reader, parse_query(text, s.reader.analyzer), s.reader.rank_config, 5)
        assert [(h.docid, h.score) for h in got] == want
    assert [(h.docid, h.score) for h in s.search("x w1 u3", k=5)] == [(h.docid, h.score) for h in first]
    C._PREPARER.wait()
    assert c.ready == ready                    # (a few hundred postings: no further stretch)
    s.search("w3 u5 v2")
    del s, c
    C._PREPARER.wait()                         # (a dropped searcher's request: skipped)
    small = Searcher(MemoryIndex(docs), cache_postings=C.POPULATE_POSTINGS // 2)
    small.search("x w1")
    C._PREPARER.wait()
    assert small._scored.ready == small._scored.capacity


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="os.fork: POSIX only")
def test_scored_cache_usable_in_a_forked_child_whatever_the_background_thread_held():
    """A server forks its workers after warm-up searches, while the background thread may hold a
    cache's lock: the child gets each lock afresh (and a thread of its own), so its searches do
    not wait forever. The lock is held here by another thread across the fork, as that thread
    may hold it."""
    import os
    from wikisearch.search import cache as C

    s = Searcher(MemoryIndex([{"title": f"w{i % 7}", "body": f"w{i % 5} x"} for i in range(200)]))
    want = [(h.docid, h.score) for h in s.search("x w1", k=5)]
    C._PREPARER.wait()
    held, release = threading.Event(), threading.Event()

    def hold():
        with s._scored.lock:
            held.set()
            release.wait()
    t = threading.Thread(target=hold)
    t.start()
    held.wait()
    pid = os.fork()
    if pid == 0:                               # the child: exit 0 if the searches are right
        ok = False
        try:
            ok = [(h.docid, h.score) for h in s.search("x w1", k=5)] == want and len(s.search("w3 w2"))
        finally:
            os._exit(0 if ok else 1)
    release.set()
    t.join()
    deadline = __import__("time").monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if __import__("time").monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's search waited for a lock held in the parent")
        __import__("time").sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


def test_scored_cache_makes_room_for_each_field_selection():
    """Regression: room was counted once per term, not once per (term, fields); "x t:x b:x" writes
    three lists of x, and with the arenas nearly full they overflowed."""
    s = Searcher(MemoryIndex([{"title": "x p", "body": "x q r s"}] * 10), cache_postings=64)
    for w in "pqrs":
        s.search(w)
    assert s._scored.pos == 40
    got = s.search("x t:x b:x")
    want, _ = oracle_search(s.reader, parse_query("x t:x b:x", s.reader.analyzer), s.reader.rank_config, 10)
    assert [(h.docid, h.score) for h in got] == want
    assert s._scored.pos <= 64


def test_ties_break_by_docid():
    docs = [{"title": "same"} for _ in range(30)]
    s = Searcher(MemoryIndex(docs))
    assert [h.docid for h in s.search("same", k=7)] == list(range(7))
    assert [h.docid for h in s.search("same AND same", k=7)] == list(range(7))


def test_seeded_maxscore_without_jit():
    """The pre-scored kernel where it starts from a seeded threshold (lists long enough) gives the
    same answers as plain Python (NUMBA_DISABLE_JIT=1)."""
    code = r"""
import json, numpy as np
from wikisearch.config import FIELDS, RankConfig
from wikisearch.search import _blockmax_kernels as BK, _maxscore_kernels as MK
from wikisearch.search.rank import kernel_params
rng = np.random.default_rng(3)
n_docs = 9000
fl = rng.integers(1, 9, size=(n_docs, len(FIELDS))).astype(np.uint32)
params = kernel_params(RankConfig(), fl.mean(axis=0))
i64 = lambda v: np.array(v, np.int64)
out = []
for it in range(2):
    lists = []
    for df in (3000, 2500, 700):
        d = np.sort(rng.choice(n_docs, size=df, replace=False)).astype(np.int32)
        m = np.array([1 << int(f) for f in rng.choice([0, 4, 6], size=df)], np.uint16)
        lists.append((d, m, rng.integers(1, 4, size=df).astype(np.uint32)))
    ar = (np.empty(6200, np.int32), np.empty(6200), np.empty(6200, np.uint16), np.empty(110))
    starts, ends, bst, mx, pos, bpos = [], [], [], [], 0, 0
    for d, m, tf in lists:
        kept, nb, vmax = MK.prescore_into(d, m, tf, 511, fl, *params, *ar[:3], pos, ar[3], bpos)
        starts.append(pos); ends.append(pos + kept); bst.append(bpos); mx.append(vmax)
        pos, bpos = pos + kept, bpos + nb
    assert pos >= BK.SEED_MIN_POSTINGS
    idf = np.array([1.5, 1.0, 2.5])
    upper = idf * np.array(mx) * (1 + 1e-5) + 1e-12
    excluded = np.sort(rng.choice(n_docs, size=40, replace=False)).astype(np.int32)
    for k in (1, 10, BK.SEED_MAX_K):
        d, sc, f, _ = BK.maxscore_topk(k, i64(starts), i64(ends), *ar[:3], i64(bst), ar[3], idf, upper,
                                       excluded, np.zeros(0), 0.0)
        out.append([d.tolist(), sc.tolist(), f.tolist()])
print(json.dumps(out))
"""
    runs = run_with_and_without_jit(code)
    assert runs[0] == runs[1] and len(runs[0]) == 6


def test_kernels_without_jit():
    """The kernels run as plain Python (NUMBA_DISABLE_JIT=1) and give the same answers."""
    code = r"""
import json, random, sys
sys.path.insert(0, "tests")
from _memindex import MemoryIndex
from test_search import _random_docs, _random_query, VOCAB
from wikisearch.search import Searcher
rng = random.Random(5)
s = Searcher(MemoryIndex(_random_docs(rng, 60, VOCAB[:15])))
out = []
for i in range(25):
    q = _random_query(rng, VOCAB[:15])
    try:
        r = s.search(q, k=5)
        out.append([q, [(h.docid, h.score) for h in r], r.total_matches])
    except Exception as e:
        out.append([q, type(e).__name__])
print(json.dumps(out))
"""
    runs = run_with_and_without_jit(code)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("capacity", [None, 60])
def test_threads_share_a_searcher(random_index, capacity):
    """Also with a cache so small that threads keep starting it over under each other's feet."""
    s = Searcher(random_index) if capacity is None else Searcher(random_index, cache_postings=capacity)
    rng = random.Random(11)
    queries = [_random_query(rng, VOCAB, boolean=False) for _ in range(40)]
    expected = {}
    for q in queries:
        try:
            expected[q] = [(h.docid, h.score) for h in s.search(q)]
        except InvalidQueryError:
            pass
    errors = []

    def work():
        for q in expected:
            if [(h.docid, h.score) for h in s.search(q)] != expected[q]:
                errors.append(q)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# --------------------------------------------------------------------------------------------
# real indexes built from dumps
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("idx") / "tiny"
    build_index([str(DATA / "search_tiny.xml")], str(out), workers=1)
    s = Searcher(str(out))
    s.warmup()
    return s


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from wikisearch import sample_dump
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("idx") / "sample"
    build_index([sample_dump()], str(out), workers=1)
    return Searcher(str(out))


TINY_TITLES = ["Lata Mangeshkar", "Asha Bhosle", "Angela Merkel", "Berlin", "Mumbai"]


def test_tiny_bm25f_by_hand(tiny):
    r = tiny.reader
    cfg = r.rank_config
    assert [r.title(d) for d in range(r.n_docs)] == TINY_TITLES
    # title lengths 2,2,2,1,1 (avg 1.6); the redirect "Merkel" is Angela Merkel's alias (avg 0.2)
    assert r.field_lengths[:, 0].tolist() == [2, 2, 2, 1, 1]
    assert r.field_lengths[:, 1].tolist() == [0, 0, 1, 0, 0]
    assert r.redirects(2) == ["Merkel"]
    n = 5
    idf = lambda df: math.log(1 + (n - df + 0.5) / (df + 0.5))
    norm = lambda f, ln, avg: (1 - cfg.b[f]) + cfg.b[f] * ln / avg
    sat = lambda x: x / (cfg.k1 + x)
    # t:mangeshkar: title of Lata only; df 3 (Lata, Asha's text and link, Mumbai's text)
    got = tiny.search("t:mangeshkar")
    assert [h.title for h in got] == ["Lata Mangeshkar"] and got[0].matched_fields == ["title"]
    assert got[0].score == pytest.approx(idf(3) * sat(cfg.weights[0] / norm(0, 2, 1.6)), rel=1e-9)
    # t:merkel: title (len 2) and redirect (len 1) of Angela Merkel; df 1
    got = tiny.search("t:merkel")
    tf = cfg.weights[0] / norm(0, 2, 1.6) + cfg.weights[1] / norm(1, 1, 0.2)
    assert [h.title for h in got] == ["Angela Merkel"] and got[0].matched_fields == ["title", "redirect"]
    assert got[0].score == pytest.approx(idf(1) * sat(tf), rel=1e-9)
    assert got[0].url == "https://en.wikipedia.org/wiki/Angela_Merkel" and got[0].page_id == 13


def _stored_term_counts(reader, docid):
    texts = reader.stored_text(docid)
    return {f: reader.analyzer.terms(texts.get(f, "")) for f in FIELDS}


def test_tiny_scores_match_an_independent_formula(tiny):
    """Every score recomputed from the stored text, re-analyzed, with the textbook formula."""
    r = tiny.reader
    cfg = r.rank_config
    terms = {d: _stored_term_counts(r, d) for d in range(r.n_docs)}
    for query in ["lata mangeshkar", "indian singer", "germany chancellor berlin", "city", "sister"]:
        qterms = list(dict.fromkeys(r.analyzer.terms(query)))
        expected = {}
        for d in range(r.n_docs):
            score = 0.0
            for t in qterms:
                df = sum(1 for e in range(r.n_docs) if any(t in v for v in terms[e].values()))
                tf = 0.0
                for i, f in enumerate(FIELDS):
                    c = terms[d][f].count(t)
                    if c:
                        norm = 1 - cfg.b[i] + cfg.b[i] * r.field_lengths[d, i] / r.avg_field_lengths[i]
                        tf += cfg.weights[i] * c / norm
                if tf:
                    score += math.log(1 + (r.n_docs - df + 0.5) / (df + 0.5)) * tf / (cfg.k1 + tf)
            if score:
                expected[d] = score
        got = tiny.search(query, k=10)
        assert {h.docid: pytest.approx(h.score, rel=1e-9) for h in got} == expected, query
        assert [h.docid for h in got] == sorted(expected, key=lambda d: (-round(expected[d], 9), d))


@pytest.mark.parametrize("query, titles", [
    ("t:merkel", ["Angela Merkel"]),
    ("merkel", ["Angela Merkel"]),
    ("intitle:lata", ["Lata Mangeshkar"]),
    ('"lata mangeshkar"', ["Lata Mangeshkar", "Asha Bhosle", "Mumbai"]),
    ('"mangeshkar lata"', []),
    ('incategory:"Indian singers"', ["Asha Bhosle", "Lata Mangeshkar"]),
    ('c:"singers indian"', []),
    ("incategory:Indian_singers -sister", ["Lata Mangeshkar"]),
    ("singer NOT t:lata", ["Asha Bhosle", "Mumbai"]),
    ("indian AND sister", ["Asha Bhosle"]),
    ("i:country", ["Berlin"]),
    ("i:germany", ["Berlin", "Angela Merkel"]),
    ("linksto:Germany", ["Berlin", "Angela Merkel"]),
    ("l:mumbai", ["Lata Mangeshkar"]),
    ("r:guide", ["Mumbai"]),
    ("b:wall", ["Berlin"]),
    ("insource:playback", ["Lata Mangeshkar"]),
    ("capital OR wall AND divided", ["Berlin"]),
])
def test_tiny_syntax(tiny, query, titles):
    got = [h.title for h in tiny.search(query)]
    if query.startswith("incategory:\"") or query == "linksto:Germany":
        assert sorted(got) == sorted(titles)
    else:
        assert got == titles


def test_tiny_pruned_equals_exhaustive_with_phrases(tiny):
    r = tiny.reader
    vocab = sorted({t for d in range(r.n_docs) for v in _stored_term_counts(r, d).values() for t in v})

    def phrase_ok(lit, d):
        texts = r.stored_text(d)
        for f in (lit.fields or FIELDS):
            for line in texts.get(f, "").split("\n"):
                toks = r.analyzer.terms(line)
                n = len(lit.terms)
                if any(tuple(toks[i:i + n]) == lit.terms for i in range(len(toks) - n + 1)):
                    return True
        return False
    rng = random.Random(2)
    for _ in range(150):
        words = [rng.choice(vocab) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            words.insert(0, '"' + " ".join(rng.choice(vocab) for _ in range(2)) + '"')
        text = " ".join(words)
        rank = rng.choice(_configs())
        q = parse_query(text, r.analyzer)
        got = tiny.search(text, k=5, rank=rank)
        want, total = oracle_search(r, q, rank, 5, phrase_ok)
        assert [(h.docid, h.score) for h in got] == want, text
        assert got.total_matches == total, text


def test_sample_pruned_equals_exhaustive(sample):
    r = sample.reader
    vocab = [t for t in r.all_terms() if t.isalpha()]
    rng = random.Random(3)
    common = sorted(vocab, key=lambda t: -r.doc_freq(r.term_ordinal(t)))[:300]
    for i in range(300):
        pool = common if i % 2 else vocab
        text = _random_query(rng, pool, boolean=i % 3 == 0)
        _check_against_oracle(sample, r, text, rng.choice([1, 5, 10, 20]), rng.choice(_configs()))


def test_sample_queries(sample):
    assert sample.search("t:merkel")[0].title == "Angela Merkel"
    assert sample.search("merkel")[0].title == "Angela Merkel"
    assert sample.search("intitle:berlin")[0].title == "Berlin"
    r = sample.search('"federal republic of germany"')
    assert r and all(h.title for h in r)
    cats = sample.reader.stored_text(sample.reader.docid_for_title("Angela Merkel"))["category"]
    name = cats.split("\n")[0]
    got = sample.search(f'incategory:"{name}"')
    assert "Angela Merkel" in [h.title for h in got]
    assert all("category" in h.matched_fields for h in got)


def test_open_and_warmup(sample):
    from wikisearch.search.searcher import open as ws_open
    s = ws_open(sample.reader.path)
    s.warmup()
    assert s.search("berlin", k=3)[0].title == "Berlin"


def test_warmup_words_are_the_rarest_title_pair(sample):
    """warmup()'s phrase is two terms of one of the first titles, the one whose rarer term the
    fewest documents hold (the phrase is counted in every candidate's text: few, not hundreds)."""
    titles = [list(dict.fromkeys(sample.analyzer.terms(sample.reader.title(d))))
              for d in range(min(sample.n_docs, 64))]
    pairs = [t[:2] for t in titles if len(t) >= 2]

    def rarer(pair):
        return min(int(sample.reader.doc_freq(sample.reader.term_ordinal(w))) for w in pair)
    words = sample._warmup_words()
    assert pairs and words in pairs and rarer(words) == min(rarer(p) for p in pairs)


def test_phrase_fallback_on_an_index_without_text(tmp_path):
    from wikisearch.build import build_index
    out = tmp_path / "nostore"
    build_index([str(DATA / "search_tiny.xml")], str(out), workers=1, store_text=False)
    s = Searcher(str(out))
    r = s.search('"mangeshkar lata"')                  # all the words, in any order
    assert {h.title for h in r} == {"Lata Mangeshkar", "Asha Bhosle", "Mumbai"}
    assert r.flags["phrase_fallback"] and any("stores no text" in w for w in r.warnings)
    assert s.search("t:merkel")[0].title == "Angela Merkel"


def test_evaluate_on_a_real_index(tiny, tmp_path):
    from wikisearch.evaluate import run_eval
    (tmp_path / "q.txt").write_text("q1\tindian singer\nq2\tgerman chancellor\n")
    (tmp_path / "qrels.txt").write_text("q1 0 <dbpedia:Lata_Mangeshkar> 2\nq1 0 <dbpedia:Asha_Bhosle> 1\n"
                                        "q2 0 <dbpedia:Angela_Merkel> 1\nq2 0 <dbpedia:Helmut_Kohl> 1\n")
    r = run_eval(tiny.reader.path, tmp_path / "q.txt", tmp_path / "qrels.txt")
    assert r["n_queries"] == 2
    assert r["per_query"]["q2"]["RR@10"] == 1.0 and r["per_query"]["q1"]["R@100"] == 1.0
    (tmp_path / "qrels_id.txt").write_text("q2 0 13 1\nq2 0 99 1\n")
    r = run_eval(tiny.reader.path, tmp_path / "q.txt", tmp_path / "qrels_id.txt", key="page_id")
    assert r["n_queries"] == 1 and r["per_query"]["q2"]["nDCG@10"] == 1.0


def test_threads_share_a_real_searcher(sample):
    queries = ["t:merkel", "berlin wall", '"federal republic"', "germany AND chancellor",
               "ikea -furniture", "incategory:companies"]
    expected = {q: [(h.docid, h.score) for h in sample.search(q)] for q in queries}
    errors = []

    def work():
        for _ in range(5):
            for q in queries:
                if [(h.docid, h.score) for h in sample.search(q)] != expected[q]:
                    errors.append(q)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# --------------------------------------------------------------------------------------------
# bit-packed lists decoded and pre-scored in one pass (_prescore_kernels)
# --------------------------------------------------------------------------------------------
def _decode_with(decoder, buf, n, tf_room=None):
    docids, masks = np.zeros(n, np.int32), np.zeros(n, np.uint16)
    tfs = np.zeros(16 * n + 8 if tf_room is None else tf_room, np.uint32)
    end, n_tfs = decoder(buf, 0, n, docids, masks, tfs)
    return int(end), int(n_tfs), docids, masks, tfs[:max(int(n_tfs), 0)]


def _same_decoding(buf, n, tf_room=None):
    from wikisearch.index import _codec_kernels as CK
    from wikisearch.search import _prescore_kernels as PK
    a = _decode_with(CK.bitpacked_decode_into, buf, n, tf_room)
    b = _decode_with(PK.bitpacked_decode_into, buf, n, tf_room)
    assert a[0] == b[0], (n, a[0], b[0])
    if a[0] >= 0:
        assert a[1] == b[1] and all(np.array_equal(x, y) for x, y in zip(a[2:], b[2:]))
    return a


def _fused_equals_prescore(buf, n, sel, field_lengths, params, decoded):
    """The fused kernel against the codec's decoder then prescore_into: the same bits, or (for
    bytes that are not exactly one well-formed list) an end other than the list's."""
    from wikisearch.search import _prescore_kernels as PK
    cap = max(n, 1)
    want = (np.zeros(cap, np.int32), np.zeros(cap, np.float64), np.zeros(cap, np.uint16),
            np.zeros(cap // MK.BLOCK + 2, np.float64))
    got = tuple(np.zeros_like(a) for a in want)
    end, kept, nb, vmax = PK.bitpacked_score_into(buf, n, sel, field_lengths, *params, *got[:3], 0,
                                                  got[3], 0)
    ok = decoded[0] == len(buf) and (n == 0 or 0 <= decoded[2].min() and
                                     decoded[2].max() < len(field_lengths))
    if not ok:
        assert end != len(buf)
        return
    assert end == len(buf)
    w_kept, w_nb, w_vmax = MK.prescore_into(decoded[2], decoded[3], decoded[4], sel, field_lengths,
                                            *params, *want[:3], 0, want[3], 0)
    assert (kept, nb) == (w_kept, w_nb) and np.float64(vmax).tobytes() == np.float64(w_vmax).tobytes()
    for a, b, m in zip(got, want, (kept, kept, kept, nb)):
        assert a[:m].tobytes() == b[:m].tobytes()


def test_fused_kernels_equal_decoder_and_prescore_on_every_list(sample):
    """Every list of a real index: the re-implemented decoder gives what the codec's gives, and
    decoding + pre-scoring in one pass the very bits of decoding then prescore_into, for each
    ranking of _configs() and field selections (all, body, title + category, one rare field)."""
    from wikisearch.search import _prescore_kernels as PK
    r = sample.reader
    assert sample.reader.codec_name == "bitpacked"
    lengths = np.ascontiguousarray(r.field_lengths)
    assert len(lengths) < PK.PREFETCH_MIN_DOCS      # (the loop without prefetches; with: below)
    params = [kernel_params(cfg, r.avg_field_lengths) for cfg in _configs()]
    sels = [(1 << len(FIELDS)) - 1, 1 << FIELDS.index("body"),
            1 << FIELDS.index("title") | 1 << FIELDS.index("category"), 1 << FIELDS.index("infobox")]
    for o in range(r.n_terms):
        buf, n = np.ascontiguousarray(r.raw_postings(o)), r.doc_freq(o)
        decoded = _same_decoding(buf, n)
        assert decoded[0] == len(buf)
        for i, p in enumerate(params):
            _fused_equals_prescore(buf, n, sels[(o + i) % len(sels)], lengths, p, decoded)


def _damaged(rng, buf):
    """Bytes near ``buf``: cut short, one byte changed, a byte added."""
    out = [buf[:cut] for cut in sorted(set(rng.integers(0, len(buf), 6).tolist()))]
    for _ in range(6):
        b = buf.copy()
        b[rng.integers(len(b))] = rng.integers(256)
        out.append(b)
    out.append(np.concatenate([buf, rng.integers(0, 256, 1).astype(np.uint8)]))
    return out


def _varied_lists(r, count):
    """Ordinals of lists of many shapes: lengths around the 128-posting blocks, one and many masks."""
    by_len: dict = {}
    for o in range(r.n_terms):
        n = r.doc_freq(o)
        key = (min(n, 300), n % 128 < 2)
        by_len.setdefault(key, o)
    return sorted(by_len.values())[:count]


def test_fused_kernels_on_damaged_bytes_report_like_the_codec(sample):
    """Damaged lists: the re-implemented decoder reports what the codec's reports (corrupt, tfs
    full, or the same postings), and the fused kernel never reports a well-formed list."""
    r = sample.reader
    rng = np.random.default_rng(7)
    lengths = np.ascontiguousarray(r.field_lengths)
    params = kernel_params(RankConfig(), r.avg_field_lengths)
    for o in _varied_lists(r, 400):
        buf, n = np.ascontiguousarray(r.raw_postings(o)), r.doc_freq(o)
        _same_decoding(buf, n, tf_room=n)             # tfs too small: TFS_FULL alike
        for bad in _damaged(rng, buf):
            bad = np.ascontiguousarray(bad)
            for m in {n, max(n - 1, 0), n + 1}:
                decoded = _same_decoding(bad, m)
                _fused_equals_prescore(bad, m, (1 << len(FIELDS)) - 1, lengths, params, decoded)


def test_fused_kernels_without_jit_read_nothing_out_of_bounds():
    """Without the JIT every read is checked (numpy indexing, load_u64): cut and damaged lists
    read nothing out of bounds, and the kernels give what they give under numba, bit for bit."""
    code = r"""
import hashlib, json
import numpy as np
from wikisearch.search import _prescore_kernels as PK
from wikisearch.index.codec import get_codec
rng = np.random.default_rng(1)
c = get_codec("bitpacked")
lengths = rng.integers(1, 50, size=(5000, 9)).astype(np.uint32)
params = (np.linspace(0.5, 3, 9), np.full(9, 0.4), np.full(9, 0.03), 1.2, 0)
out = []
for n in (1, 2, 129, 300):
    docids = np.sort(rng.choice(5000, n, replace=False)).astype(np.int32)
    masks = rng.choice([16, 17, 48, 1, 272], n).astype(np.uint16)
    tfs = rng.integers(1, 40, int(sum(bin(m).count("1") for m in masks))).astype(np.uint32)
    buf = np.frombuffer(c.encode(docids, masks, tfs), np.uint8).copy()
    cases = [buf] + [buf[:k].copy() for k in range(len(buf))]
    for _ in range(40):
        b = buf.copy(); b[rng.integers(len(b))] = rng.integers(256); cases.append(b)
    for b in cases:
        arenas = (np.zeros(n, np.int32), np.zeros(n, np.float64), np.zeros(n, np.uint16),
                  np.zeros(n, np.float64))
        d, m, t = np.zeros(n, np.int32), np.zeros(n, np.uint16), np.zeros(16 * n, np.uint32)
        e = PK.bitpacked_decode_into(b, 0, n, d, m, t)
        r = PK.bitpacked_score_into(b, n, 511, lengths, *params, *arenas[:3], 0, arenas[3], 0)
        h = hashlib.sha1(b"".join(a.tobytes() for a in (d, m, t) + arenas)).hexdigest()
        out.append([int(e[0]), int(e[1]), int(r[0]), int(r[1]), int(r[2]), float(r[3]).hex(), h])
print(json.dumps(out))
"""
    runs = run_with_and_without_jit(code, timeout=600)
    assert runs[0] == runs[1]
    ends = [case[2] for case in runs[0]]
    assert ends.count(-1) > 100 and sum(e > 0 for e in ends) >= 4   # damaged and intact alike


def test_a_list_only_the_fused_kernel_can_tell_is_damaged_raises_corrupt_index(sample):
    """Bytes the codec decodes but whose docids run past the last document: CorruptIndexError."""
    from wikisearch.index.codec import get_codec
    from wikisearch.errors import CorruptIndexError

    class Wrong:
        def __init__(self, reader):
            self.reader = reader

        def __getattr__(self, name):
            return getattr(self.reader, name)

        def raw_postings(self, o, entry=None):
            n = self.reader.doc_freq(o)
            far = np.arange(self.reader.n_docs, self.reader.n_docs + n, dtype=np.int32)
            data = get_codec("bitpacked").encode(far, np.full(n, 16, np.uint16), np.ones(n, np.uint32))
            return np.frombuffer(data, np.uint8)

        def postings(self, o):
            return get_codec("bitpacked").decode(self.raw_postings(o), self.reader.doc_freq(o))

    s = Searcher(Wrong(sample.reader))
    assert s.reader.codec_name == "bitpacked"
    with pytest.raises(CorruptIndexError, match="past the last document"):
        s.search("berlin")


def test_fused_kernels_on_lists_of_every_shape():
    """Lists the sample is too small to hold: whole 128-posting blocks with a packed or a one-posting
    tail, one mask or more than 32, wide docid gaps and tfs (exceptions), intact and damaged."""
    from wikisearch.index.codec import get_codec
    rng = np.random.default_rng(5)
    codec = get_codec("bitpacked")
    n_docs = 200_000
    from wikisearch.search import _prescore_kernels as PK
    assert n_docs >= PK.PREFETCH_MIN_DOCS           # (the loop that prefetches field lengths)
    lengths = rng.integers(0, 300, size=(n_docs, len(FIELDS))).astype(np.uint32)
    avg = lengths.mean(axis=0) + 1
    for n in (1, 2, 127, 128, 129, 130, 255, 256, 257, 1000, 3000):
        for n_masks in (1, 3, 40):
            docids = np.sort(rng.choice(n_docs, n, replace=False)).astype(np.int32)
            choices = rng.choice(np.arange(1, 512), n_masks, replace=False)
            masks = rng.choice(choices, n).astype(np.uint16)
            n_tfs = int(sum(bin(int(m)).count("1") for m in masks))
            tfs = np.where(rng.random(n_tfs) < 0.05, rng.integers(1, 2**31, n_tfs),
                           rng.integers(1, 4, n_tfs)).astype(np.uint32)
            lengths[docids] = np.maximum(lengths[docids], 1)   # a field with a posting is not empty
            buf = np.frombuffer(codec.encode(docids, masks, tfs), np.uint8).copy()
            decoded = _same_decoding(buf, n)
            assert decoded[0] == len(buf) and np.array_equal(decoded[2], docids)
            for cfg in _configs():
                params = kernel_params(cfg, avg)
                for sel in ((1 << len(FIELDS)) - 1, int(rng.integers(1, 512))):
                    _fused_equals_prescore(buf, n, sel, lengths, params, decoded)
            for bad in _damaged(rng, buf):
                bad = np.ascontiguousarray(bad)
                _fused_equals_prescore(bad, n, (1 << len(FIELDS)) - 1, lengths, params,
                                       _same_decoding(bad, n))


@pytest.mark.parametrize("model", [0, 1])
def test_score_kept_equals_field_sum_posting_by_posting(model):
    """The fused kernel's scorer (terms of each mask code from _term_tables, two slots branch-free,
    more in a loop) against the plain path, _field_sum then _combine, bit for bit: masks of one to
    nine fields, fields of weight 0 (left out where their norm is >= norm_a > 0), norm_a 0,
    selections that keep a few."""
    from wikisearch.search import _prescore_kernels as PK
    rng = np.random.default_rng(11 + model)
    n_f, n_docs = 9, 400
    lengths = rng.integers(1, 60, size=(n_docs, n_f)).astype(np.uint32)
    table = np.unique(np.concatenate([1 << np.arange(n_f), rng.integers(1, 1 << n_f, 40),
                                      [(1 << n_f) - 1]])).astype(np.uint16)
    seen = set()
    for trial in range(30):
        weights = rng.choice([0.0, 0.5, 1.0, 2.5, 7.0], n_f)
        norm_a = rng.choice([0.0, 0.25, 1.0, 3.0], n_f) if trial % 3 else np.full(n_f, 0.5)
        norm_c = rng.choice([0.01, 0.3], n_f)
        k1 = [1.2, 0.5, 2.0][trial % 3]
        sel = (1 << n_f) - 1 if trial % 4 == 0 else int(rng.integers(1, 1 << n_f))
        counts, kept = PK._code_tables(table, np.int64(sel))
        n_terms, t_field, t_off, t_w, t_a, t_c = PK._term_tables(table, kept, weights, norm_a, norm_c)
        codes = rng.integers(0, len(table), 128).astype(np.uint32)
        codes = codes[kept[codes] != 0]
        m = len(codes)
        docids = np.sort(rng.choice(n_docs, m, replace=False)).astype(np.int32)
        starts = np.concatenate([[0], np.cumsum(counts[codes])[:-1]]).astype(np.int64)
        tfs = rng.integers(1, 30, 128 * 16).astype(np.uint32)
        vals = np.full(128, 99.0)
        PK._score_kept(np.int64(m), docids, codes, starts, tfs, n_terms, t_field, t_off, t_w, t_a, t_c,
                       lengths, k1, model, vals)
        masks = table[codes].astype(np.int64)
        want = np.array([K._combine(K._field_sum(p, docids[p], sel, masks, starts, tfs, lengths, weights,
                                                 norm_a, norm_c, model), 1.0, k1, model) for p in range(m)])
        assert vals[:m].tobytes() == want.tobytes(), trial
        seen |= {"3+ terms"} if (n_terms[codes] > 2).any() else set()
        seen |= {"1 term"} if (n_terms[codes] == 1).any() else set()
        seen |= {"weight 0 left out"} if (weights == 0).any() and (norm_a > 0).all() else set()
    assert seen == {"3+ terms", "1 term", "weight 0 left out"}
