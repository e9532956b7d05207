"""Priors: in-links counted across redirects (dump and SQL), page views from every published format,
priors.bin as an atomic add-on, exact pruned top-k with priors (oracle), suggest, the CLI."""
from __future__ import annotations

import gzip
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from wikisearch.cli import main
from wikisearch.config import PriorConfig, RankConfig
from wikisearch.errors import CorruptIndexError, InvalidQueryError, WikisearchError
from wikisearch.popularity.priors import Priors, load_priors, prior_scores, satu
from wikisearch.popularity.update import update_priors
from wikisearch.popularity.sources import Project, Resolver, read_views, sniff
from wikisearch.search.query import parse_query
from wikisearch.search.searcher import Searcher
from wikisearch.index.reader import IndexReader
from wikisearch.popularity.suggest import Suggester, suggest_arrays, suggest_key, suggest_keys
from wikisearch.popularity.suggest_table import load_suggest_table

sys.path.insert(0, str(Path(__file__).parent))
from _memindex import MemoryIndex  # noqa: E402
from _oracle import fuzzy_ranges_slow, oracle_search, run_with_and_without_jit, suggest_arrays_slow  # noqa: E402
from conftest import cli_lines, shared_path  # noqa: E402
from test_search import VOCAB, _configs, _random_docs, _random_query  # noqa: E402

DATA = Path(__file__).parent / "data"
P = DATA / "priors"
SHARED_VIEWS = "pageviews/discernatron-pages-daily_pageviews-2017-09.tsv.gz"   # under SHARED_DATA
TITLES = ["Paris", "Paris, Texas", "France", "Seine", "Eiffel Tower", "Texas", "Paris Hilton"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("priors") / "idx"
    build_index([str(DATA / "priors_links.xml")], str(out), workers=1)
    return out


@pytest.fixture
def index(built, tmp_path):
    """A fresh copy of the built index, for tests that write priors.bin."""
    out = tmp_path / "idx"
    shutil.copytree(built, out)
    return out


def _by_title(reader, values) -> dict:
    return {reader.title(d): v for d, v in enumerate(np.asarray(values).tolist()) if v}


# --------------------------------------------------------------------------------------------
# in-links
# --------------------------------------------------------------------------------------------
# By hand, from tests/data/priors_links.xml. Paris: France (4 links to it, counted once: a page),
# Seine (through the redirect "Paris (France)" and through the double redirect "City of Light":
# two linked titles), Eiffel Tower (the double redirect), Texas (the redirect). Template:Paris
# (namespace 10, not indexed) and redirect pages themselves count for nothing.
DUMP_INLINKS = {"Paris": 5, "Paris, Texas": 2, "France": 1, "Seine": 1, "Eiffel Tower": 1, "Texas": 1}


def test_dump_inlinks_by_hand(built):
    r = IndexReader(built)
    assert [r.title(d) for d in range(r.n_docs)] == TITLES
    assert r.redirects(0) == ["Paris (France)", "City of Light", "Lutèce"]
    assert _by_title(r, r.inlinks) == DUMP_INLINKS


def test_sql_inlinks_new_schema_match_the_dump(index):
    update_priors(index, pagelinks=P / "pagelinks.sql", linktarget=P / "linktarget.sql")
    r = IndexReader(index)
    assert _by_title(r, load_priors(r).inlinks) == DUMP_INLINKS
    assert load_priors(r).meta["inlinks_source"]["counted"] == 11


def test_sql_inlinks_old_schema_match_the_dump(index):
    update_priors(index, pagelinks=P / "pagelinks-old.sql")
    r = IndexReader(index)
    assert _by_title(r, load_priors(r).inlinks) == DUMP_INLINKS


@pytest.mark.parametrize("files", [("pagelinks.sql", "linktarget.sql"), ("pagelinks-old.sql", None)])
def test_sql_inlinks_from_every_page_of_the_namespace(index, files):
    # + the rows of redirect pages 3, 4, 11 and of page 99 (not in the dump) for Paris,
    # + redirect page 10 for Eiffel Tower; the template's rows (namespace 10) still do not count
    pl, lt = files
    update_priors(index, pagelinks=P / pl, linktarget=P / lt if lt else None, link_sources="namespace")
    r = IndexReader(index)
    assert _by_title(r, load_priors(r).inlinks) == {**DUMP_INLINKS, "Paris": 9, "Eiffel Tower": 2}


def test_sql_errors(index, tmp_path):
    with pytest.raises(WikisearchError, match="linktarget"):
        update_priors(index, pagelinks=P / "pagelinks.sql")
    with pytest.raises(WikisearchError, match="no CREATE TABLE `pagelinks`"):
        update_priors(index, pagelinks=P / "linktarget.sql", linktarget=P / "linktarget.sql")
    bad = tmp_path / "bad.sql"
    text = (P / "pagelinks-old.sql").read_text().replace("(1,0,'France',0)", "(1,0,'France' 0)")
    bad.write_text(text)
    with pytest.raises(WikisearchError, match="unreadable INSERT values"):
        update_priors(index, pagelinks=bad)
    with pytest.raises(WikisearchError, match="needs --pagelinks"):
        update_priors(index, linktarget=P / "linktarget.sql")


# --------------------------------------------------------------------------------------------
# page views
# --------------------------------------------------------------------------------------------
# (file, format, views per title by hand, the project's total views in the file)
VIEW_FILES = [
    # Paris: en 100 + en.m 50 + redirect 7 + double redirect 3 + percent-encoded redirect "Lutèce" 5;
    # de and en.b (wikibooks) lines are other projects; Main_Page is not indexed but counts in the total
    ("pageviews-20240101-120000.gz", "pageviews",
     {"Paris": 165, "Paris, Texas": 20, "Eiffel Tower": 32, "Paris Hilton": 40}, 757),
    # by page id first (page 7 is Eiffel Tower whatever the title says), then by title (page 4 is
    # a redirect, "null" has no id); de.wikipedia and en.wiktionary lines skipped
    ("pageviews-20240101-user.bz2", "pageviews-complete",
     {"Paris": 510, "Seine": 5, "Eiffel Tower": 9, "Texas": 15}, 539),
    # page ids only; platforms and days summed; page 404 is not in the index
    ("daily_pageviews.tsv.gz", "pageviews-tsv", {"Paris": 22, "Paris Hilton": 4}, 126),
    # views of curr = sum of n (City_of_Light -> Paris)
    ("clickstream-enwiki-2024-01.tsv", "clickstream", {"Paris": 1212, "Paris, Texas": 30, "France": 40}, 11281),
]


@pytest.mark.parametrize("name, fmt, expected, total", VIEW_FILES)
def test_pageview_formats_by_hand(index, name, fmt, expected, total):
    s = update_priors(index, [P / name])
    r = IndexReader(index)
    assert s["sources"][0]["format"] == fmt
    assert _by_title(r, load_priors(r).pageviews) == expected
    assert load_priors(r).total_views == total and load_priors(r).meta["project"] == "en.wikipedia"
    assert read_views(P / name, fmt).format == fmt              # an explicit format reads it too


def test_pageviews_sum_over_files_and_other_projects(index):
    update_priors(index, [P / "daily_pageviews.tsv.gz", P / "clickstream-enwiki-2024-01.tsv"])
    r = IndexReader(index)
    assert _by_title(r, load_priors(r).pageviews) == {"Paris": 1234, "Paris, Texas": 30, "France": 40, "Paris Hilton": 4}
    assert load_priors(r).total_views == 126 + 11281
    update_priors(index, [P / "pageviews-20240101-120000.gz"], project="de", total_views=1e6)
    r = IndexReader(index)
    assert _by_title(r, load_priors(r).pageviews) == {"Paris": 1000} and load_priors(r).total_views == 1e6


def test_project_names():
    assert Project.parse("en") == Project.parse("en.wikipedia.org") == Project.parse("enwiki")
    assert Project.parse("en").domain_codes() == {"en", "en.m"}
    assert Project.parse("de.wiktionary").domain_codes() == {"de.d", "de.m.d"}
    with pytest.raises(WikisearchError):
        Project.parse("en.nosuchproject")


def test_sniff():
    assert sniff("en Paris 3 0\n") == "pageviews"
    assert sniff("en.wikipedia Paris 1 desktop 3 A3\n") == "pageviews-complete"
    assert sniff("date\tpage_id\tplatform\tviews\n") == "pageviews-tsv"
    assert sniff("2017-09-01\t12\tdesktop\t4\n") == "pageviews-tsv"
    assert sniff("other-empty\tParis\texternal\t3\n") == "clickstream"
    assert sniff("<mediawiki>\n") is None and sniff("a b c\n") is None


def test_real_shared_pageviews_tsv():
    """The real per-article file: September 2017 views of the Discernatron pages."""
    c = read_views(shared_path(SHARED_VIEWS))
    assert c.format == "pageviews-tsv" and c.lines == 391_324 and c.bad_lines == 0
    assert c.total == 73_929_485 and len({pid for pid, _ in c.views}) == 4_375

    two = MemoryIndex([{"title": "India"}, {"title": "United Kingdom"}])   # two pages of that set
    two.page_ids = np.array([14533, 31717], np.int64)
    views, sources = Resolver(two).views([c])
    assert views.tolist() == [899_996, 638_920]
    assert sources[0]["matched_keys"] == 2


def test_pageview_errors(index, tmp_path):
    with pytest.raises(WikisearchError, match="no such file"):
        update_priors(index, [tmp_path / "missing.gz"])
    with pytest.raises(WikisearchError, match="not a page-view file"):
        update_priors(index, [P / "not-pageviews.txt"])
    with pytest.raises(WikisearchError, match="not a page-view file"):
        update_priors(index, [DATA / "priors_links.xml"])
    with pytest.raises(WikisearchError, match="not in the clickstream format"):
        update_priors(index, [P / "pageviews-20240101-user.bz2"], fmt="clickstream")
    mostly_bad = tmp_path / "pv.gz"
    with gzip.open(mostly_bad, "wt") as f:
        f.write("en Paris 3 0\n" + "garbage line\n" * 5)
    with pytest.raises(WikisearchError, match="5 of 6 lines"):
        update_priors(index, [mostly_bad])
    with pytest.raises(WikisearchError, match="total views"):
        update_priors(index, [P / "daily_pageviews.tsv.gz"], total_views=0)
    assert not (index / "priors.bin").exists()                  # nothing written on an error


# --------------------------------------------------------------------------------------------
# priors.bin
# --------------------------------------------------------------------------------------------
def test_priors_bin_is_an_add_on(index):
    before = {p.name: p.read_bytes() for p in index.iterdir()}
    update_priors(index, [P / "pageviews-20240101-120000.gz"])
    after = {p.name: p.read_bytes() for p in index.iterdir()}
    assert set(after) - set(before) == {"priors.bin"}
    assert all(after[n] == before[n] for n in before)           # the index itself is untouched
    assert not [p for p in index.iterdir() if ".tmp" in p.name]
    from wikisearch.index.stats import verify_index
    verify_index(index)
    r = IndexReader(index)
    assert load_priors(r).meta["index_checksum"] == r.manifest["checksum"]
    assert load_priors(r).config == PriorConfig()
    # a second run with links only keeps the views; --dump-links puts the dump's links back
    update_priors(index, pagelinks=P / "pagelinks-old.sql", link_sources="namespace")
    r = IndexReader(index)
    assert load_priors(r).pageviews[0] == 165 and load_priors(r).inlinks[0] == 9
    update_priors(index, dump_links=True)
    r = IndexReader(index)
    assert load_priors(r).pageviews[0] == 165 and load_priors(r).inlinks[0] == 5


def test_priors_bin_from_another_build_or_damaged(index, tmp_path):
    from wikisearch.build import build_index
    update_priors(index, [P / "pageviews-20240101-120000.gz"])
    other = tmp_path / "other"
    build_index([str(DATA / "search_tiny.xml")], str(other), workers=1)
    shutil.copy(index / "priors.bin", other / "priors.bin")
    with pytest.raises(CorruptIndexError, match="another build"):
        Searcher(other)
    raw = bytearray((index / "priors.bin").read_bytes())
    raw[200] ^= 0xFF
    (index / "priors.bin").write_bytes(bytes(raw))
    with pytest.raises(CorruptIndexError):
        Searcher(index)
    s = update_priors(index, [P / "daily_pageviews.tsv.gz"])     # rewritten, with a note
    assert s["notes"] and load_priors(IndexReader(index)).pageviews[0] == 22


def test_prior_formula():
    assert satu(30.0, 30.0, 0.7) == 0.5 and satu(0.0, 8e-6, 0.8) == 0.0
    views = np.array([0.0, 80.0, 800.0, 1e7])
    links = np.array([0, 3, 30, 3000], np.uint32)
    cfg = PriorConfig(pageviews_weight=1.5, inlinks_weight=2.5)
    p = Priors(views, links, total_views=1e7, config=cfg)
    for d in range(4):
        s, n = views[d] / 1e7, float(links[d])
        want = 1.5 * s ** 0.8 / (8e-6 ** 0.8 + s ** 0.8) + 2.5 * n ** 0.7 / (30 ** 0.7 + n ** 0.7)
        assert p.scores()[d] == pytest.approx(want, rel=1e-12)
    assert p.max_score() == p.scores().max() < 4.0
    assert Priors(views, links).scores(cfg.replace(inlinks_weight=0)).tolist() == [0.0] * 4  # no total
    with pytest.raises(ValueError):
        PriorConfig(pageviews_weight=-1)
    with pytest.raises(ValueError):
        PriorConfig(inlinks_k=0)
    assert PriorConfig.from_json(json.loads(json.dumps(cfg.to_json()))) == cfg
    assert RankConfig.from_json(RankConfig().to_json()) == RankConfig()


def test_prior_scores_api(index):
    r = IndexReader(index)
    assert load_priors(r) is None
    assert prior_scores(None, r.n_docs).tolist() == [0.0] * r.n_docs             # no priors.bin: zeros
    update_priors(index, [P / "pageviews-20240101-120000.gz"])
    p = load_priors(IndexReader(index))
    full = prior_scores(p, r.n_docs)
    assert full.shape == (r.n_docs,) and (full > 0).all()           # views or links everywhere
    assert prior_scores(p, r.n_docs, [4, 0]).tolist() == [full[4], full[0]]
    norm = prior_scores(p, r.n_docs, normalized=True)
    assert np.allclose(norm, full / (1.0 + 10.0 / 3.0)) and norm.max() <= 1.0


# --------------------------------------------------------------------------------------------
# ranking with priors
# --------------------------------------------------------------------------------------------
def test_paris_wants_the_city_first(index):
    s = Searcher(IndexReader(index))
    plain = s.search("paris")
    assert plain[0].title == "Paris"                 # text alone: all three are close
    assert [h.title for h in plain[:3]] == ["Paris", "Paris Hilton", "France"]   # (shipped ranking)
    assert s.search("hilton OR texas")[0].title in ("Paris Hilton", "Texas")
    update_priors(index, [P / "pageviews-20240101-120000.gz"])
    s2 = Searcher(IndexReader(index))
    got = s2.search("paris")
    assert got.flags["priors"] and [h.title for h in got[:3]] == ["Paris", "Paris, Texas", "Paris Hilton"]
    prior = prior_scores(s2.priors, s2.n_docs)
    assert {h.docid: h.score for h in got} == {p.docid: p.score + prior[p.docid] for p in plain}
    off = s2.search("paris", priors=False)          # the off switch gives text scores, bit for bit
    assert [(h.docid, h.score) for h in off] == [(h.docid, h.score) for h in plain] and not off.flags
    heavy = PriorConfig(pageviews_weight=0.0, inlinks_weight=100.0)
    assert s2.search("paris OR hilton", priors=heavy)[0].title == "Paris"       # 5 in-links
    with pytest.raises(InvalidQueryError):
        s.search("paris", priors=True)                                          # no priors.bin
    with pytest.raises(InvalidQueryError):
        s2.search("paris", priors="yes")


def _random_priors(rng, n):
    kind = rng.choice(["zero", "small", "large", "ties"])
    views = np.array([0.0 if kind == "zero" or rng.random() < 0.3 else rng.choice([5.0, 5e3, 5e6])
                      * rng.random() for _ in range(n)])
    if kind == "ties":
        views = np.array([rng.choice([0.0, 100.0]) for _ in range(n)])
    links = np.array([rng.choice([0, 0, 1, 30, 1000]) for _ in range(n)], np.uint32)
    cfg = PriorConfig(pageviews_weight=rng.choice([0.0, 0.5, 3.0, 50.0]),
                      inlinks_weight=rng.choice([0.0, 1.0, 10.0]) if kind != "zero" else 0.0)
    return Priors(views, links, total_views=1e6, config=cfg)


def _check_with_priors(searcher, reader, text, k, rank, config=None):
    try:
        q = parse_query(text, reader.analyzer)
    except InvalidQueryError:
        return
    got = searcher.search(text, k=k, rank=rank, priors=config)
    prior = searcher.priors.scores(config)
    matched, total = oracle_search(reader, q, rank, reader.n_docs)
    want = sorted(((d, s + prior[d]) for d, s in matched), key=lambda x: (-x[1], x[0]))[:k]
    assert [(h.docid, h.score) for h in got] == want, text
    assert got.total_matches == total, text


def test_pruned_equals_exhaustive_with_priors_seeded():
    rng = random.Random(17)
    for round_ in range(6):
        reader = MemoryIndex(_random_docs(rng, 250, VOCAB))
        s = Searcher(reader, priors=_random_priors(rng, reader.n_docs))
        for _ in range(80):
            text = _random_query(rng, VOCAB)
            _check_with_priors(s, reader, text, rng.choice([1, 3, 10, 50]), rng.choice(_configs()))
        # an override config on the same stored priors
        _check_with_priors(s, reader, "w1 w2 w3", 5, RankConfig(), PriorConfig(pageviews_weight=7.0))


@pytest.fixture(scope="module")
def prior_index():
    rng = random.Random(23)
    reader = MemoryIndex(_random_docs(rng, 300, VOCAB))
    priors = _random_priors(random.Random(4), reader.n_docs)
    priors.config = PriorConfig(pageviews_weight=3.0, inlinks_weight=2.0)
    return reader, priors


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(terms=st.lists(st.sampled_from(VOCAB[:12]), min_size=1, max_size=8), k=st.integers(1, 30),
       cfg=st.sampled_from(_configs()), w=st.sampled_from([0.0, 0.1, 1.0, 5.0, 100.0]))
def test_pruned_equals_exhaustive_with_priors_property(prior_index, terms, k, cfg, w):
    reader, priors = prior_index
    s = Searcher(reader, priors=priors)
    _check_with_priors(s, reader, " ".join(terms), k, cfg, PriorConfig(pageviews_weight=w))


def test_priors_and_suggest_without_jit():
    """The kernels used with priors run as plain Python (NUMBA_DISABLE_JIT=1), same answers."""
    code = r"""
import json, random, sys
sys.path.insert(0, "tests")
from _memindex import MemoryIndex
from test_search import _random_docs, _random_query, VOCAB
from test_priors import _random_priors
from wikisearch.search import Searcher
rng = random.Random(8)
r = MemoryIndex(_random_docs(rng, 60, VOCAB[:15]))
s = Searcher(r, priors=_random_priors(random.Random(2), r.n_docs))
out = []
for i in range(20):
    q = _random_query(rng, VOCAB[:15])
    try:
        out.append([q, [(h.docid, h.score) for h in s.search(q, k=5)]])
    except Exception as e:
        out.append([q, type(e).__name__])
out.append([str(x) for x in s.suggest("w1", 5)])
print(json.dumps(out))
"""
    runs = run_with_and_without_jit(code)
    assert runs[0] == runs[1]


# --------------------------------------------------------------------------------------------
# suggest
# --------------------------------------------------------------------------------------------
def test_suggest_keys():
    assert suggest_key("Lata  Mangeshkar") == "lata mangeshkar"
    assert suggest_key("Paris, Texas") == "paris texas"
    assert suggest_key("Alzheimer's disease") == "alzheimers disease"
    assert suggest_key("U.S. Route 66") == "us route 66"
    assert suggest_key("Lutèce") == suggest_key("LUTECE") == "lutece"
    assert suggest_key("Москва") == "москва" and suggest_key("—") == ""


def test_suggest_ordering(index):
    s = Searcher(IndexReader(index))
    # no priors.bin: ordered by the dump's in-links (Paris 5, Paris, Texas 2, Paris Hilton 0)
    assert [str(x) for x in s.suggest("pa")] == ["Paris", "Paris, Texas", "Paris Hilton"]
    update_priors(index, [P / "clickstream-enwiki-2024-01.tsv"])
    s = Searcher(IndexReader(index))
    got = s.suggest("PAR")                       # one entry per page: Paris, not its redirect
    assert [str(x) for x in got] == ["Paris", "Paris, Texas", "Paris Hilton"]
    assert got[0].score > got[1].score > got[2].score and got[0].redirect is None
    assert got[0].score == prior_scores(s.priors, s.n_docs)[0] and got[0].page_id == 1
    assert [str(x) for x in s.suggest("paris ")] == ["Paris (France) \u2192 Paris", "Paris, Texas",
                                                      "Paris Hilton"]
    assert [str(x) for x in s.suggest("paris", k=1)] == ["Paris"]
    assert [str(x) for x in s.suggest("lute")] == [str(x) for x in s.suggest("Lutè")] == ["Lut\u00e8ce \u2192 Paris"]
    assert [str(x) for x in s.suggest("city of l")] == ["City of Light \u2192 Paris"]
    assert [x.title for x in s.suggest("tour e")] == ["Eiffel Tower"]
    assert s.suggest("x") == [] and s.suggest("") == [] and s.suggest("---") == []
    assert s.suggest("paris", k=0) == []
    with pytest.raises(InvalidQueryError):
        s.suggest("paris", k=-1)
    assert load_priors(s.reader).suggest is None                      # in the index (suggest.bin), not again
    assert (index / "suggest.bin").exists()
    assert [x.to_json()["title"] for x in s.suggest("e")] == ["Eiffel Tower"]


def test_suggest_on_a_memory_index_and_many_ties():
    docs = [{"title": f"Alpha {i:03d}", "redirect": f"Beta {i:03d}" if i % 2 else ""} for i in range(300)]
    r = MemoryIndex(docs)
    sg = Suggester(r, None)                           # no priors: all popularity 0 -> short, docid
    assert [x.title for x in sg.suggest("alpha", 3)] == ["Alpha 000", "Alpha 001", "Alpha 002"]
    got = sg.suggest("beta 00", 3)
    assert [str(x) for x in got] == ["Beta 001 \u2192 Alpha 001", "Beta 003 \u2192 Alpha 003",
                                     "Beta 005 \u2192 Alpha 005"]
    views = np.zeros(300)
    views[[7, 250, 3]] = [10, 30, 20]
    priors = Priors(views, np.zeros(300, np.uint32), total_views=100.0)
    assert [x.title for x in Suggester(r, priors).suggest("a", 4)] == ["Alpha 250", "Alpha 003", "Alpha 007",
                                                               "Alpha 000"]


@settings(max_examples=150, deadline=None)
@given(pops=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.0]), min_size=1, max_size=90),
       m=st.integers(1, 40), block=st.sampled_from([1, 2, 4, 16]), cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
       seed=st.integers(0, 10))
def test_range_top_selects_like_a_full_sort(pops, m, block, cut, seed):
    """The block-pruned heap keeps exactly the m best entries of a range (ties: the tie key)."""
    rng = np.random.default_rng(seed)
    n = len(pops)
    doc = rng.permutation(n).astype(np.int32)                  # entries -> distinct pages
    popularity = np.asarray(pops)[np.argsort(doc)]             # entry e has popularity pops[e]
    alias = np.where(rng.random(n) < 0.3, 1, -1).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(rng.integers(1, 4, n))]).astype(np.int64)
    lo, hi = sorted(int(c * n) for c in cut)
    hi = max(hi, lo + 1) if lo < n else n
    lo = min(lo, hi - 1)
    _check_range_top(popularity, doc, alias, offsets, block, lo, hi, m)


def _check_range_top(popularity, doc, alias, offsets, block, lo, hi, m):
    from wikisearch.popularity import _priors_kernels as PK
    bmax = PK.block_max(popularity, doc, block)
    got = PK.range_top(popularity, doc, alias, offsets, bmax, block, lo, hi, m)
    e = np.arange(lo, hi)
    tie = np.array([PK._tie(doc, alias, offsets, int(i)) for i in e], np.int64)
    want = e[np.lexsort((tie, -popularity[doc[e]]))][:m]
    assert sorted(got.tolist()) == sorted(want.tolist())


def test_range_top_equal_popularity_reads_every_block():
    # every block's maximum equals the m-th best: the best ties may be in any block
    n = 64
    doc = np.arange(n, dtype=np.int32)[::-1].copy()            # later entries: lower docids
    alias = np.full(n, -1, np.int32)
    offsets = np.arange(n + 1, dtype=np.int64)
    for pops in (np.ones(n), np.zeros(n)):
        _check_range_top(pops, doc, alias, offsets, 4, 0, n, 5)
        _check_range_top(pops, doc, alias, offsets, 4, 3, 61, 9)



@settings(max_examples=150, deadline=None)
@given(pops=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.0]), min_size=1, max_size=120),
       m=st.integers(1, 40), block=st.sampled_from([1, 2, 4, 16]),
       cuts=st.lists(st.floats(0, 1), min_size=0, max_size=12), seed=st.integers(0, 10))
def test_ranges_top_selects_like_a_full_sort_of_the_union(pops, m, block, cuts, seed):
    """One heap over several disjoint ranges (a fuzzy walk's nodes) keeps exactly the m best
    entries of their union, as one range's :func:`range_top` does for a range."""
    from wikisearch.popularity import _priors_kernels as PK
    rng = np.random.default_rng(seed)
    n = len(pops)
    doc = rng.permutation(n).astype(np.int32)
    popularity = np.asarray(pops)[np.argsort(doc)]
    alias = np.where(rng.random(n) < 0.3, 1, -1).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(rng.integers(1, 4, n))]).astype(np.int64)
    bounds = sorted({int(c * n) for c in cuts} | {0, n})
    pairs = [(a, b) for a, b in zip(bounds, bounds[1:]) if rng.random() < 0.6]   # some gaps
    los = np.asarray([a for a, _ in pairs], np.int64)
    his = np.asarray([b for _, b in pairs], np.int64)
    bmax = PK.block_max(popularity, doc, block)
    got = PK.ranges_top(popularity, doc, alias, offsets, bmax, block, los, his, m)
    e = np.asarray([i for a, b in pairs for i in range(a, b)], np.int64)
    tie = np.array([PK._tie(doc, alias, offsets, int(i)) for i in e], np.int64)
    want = e[np.lexsort((tie, -popularity[doc[e]]))][:m] if len(e) else e
    assert sorted(got.tolist()) == sorted(want.tolist())


def _suggest_slow(sg, text: str, k: int) -> list[int]:
    """The definition of ``Suggester.suggest(text, k, fuzzy=True)``'s entries: the k best distinct
    pages among keys starting with the typed key, by (popularity desc, tie asc); then, when fewer
    than k, those of the keys within reach of it (``fuzzy_ranges_slow``), in the same order."""
    from wikisearch.popularity import _priors_kernels as PK
    from wikisearch.popularity.suggest import FUZZY_ANCHOR, FUZZY_MIN, FUZZY_TWO, prefix_key
    key = prefix_key(text)
    kb = key.encode("utf-8", "surrogatepass")
    keys = [bytes(sg.blob[sg.offsets[e]:sg.offsets[e + 1]]) for e in range(len(sg.doc))]

    def order(entries, skip):
        entries = sorted(entries, key=lambda e: (-sg.popularity[sg.doc[e]], PK._tie(sg.doc, sg.alias, sg.offsets, e)))
        out, seen = [], set(skip)
        for e in entries:
            if int(sg.doc[e]) not in seen and len(out) < k - len(skip):
                seen.add(int(sg.doc[e]))
                out.append(e)
        return out

    exact = order([e for e, x in enumerate(keys) if kb and x.startswith(kb)], set()) if k > 0 else []
    n_chars = len(key.rstrip())
    if len(exact) >= k or n_chars < FUZZY_MIN:
        return exact
    dist = 1 if n_chars < FUZZY_TWO else 2
    anchor = FUZZY_ANCHOR if dist == 2 else 0
    inside = [e for e, x in enumerate(keys) if x[:anchor] == kb[:anchor]]
    lo0, hi0 = (inside[0], inside[-1] + 1) if inside else (0, 0)
    los, his, _ = fuzzy_ranges_slow(keys, kb, dist, anchor, lo0, hi0) if hi0 > lo0 else ([], [], [])
    near = [e for a, b in zip(los, his) for e in range(a, b)]
    return exact + order(near, {int(sg.doc[e]) for e in exact})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_fuzzy_suggest_is_its_definition(seed):
    """Exact completions first, then the most popular pages within reach (ties: titles first,
    shorter keys, lower docid), one entry per page: the fuzzy path (one heap over all the walk's
    ranges, block maxima) against a sort of every entry in reach. Few letters, so that typed
    prefixes have many near keys, many shared pages (redirects) and many equal priors."""
    rng = random.Random(seed)
    letters = "abce "
    n = rng.randint(5, 80)
    docs = [{"title": "".join(rng.choice(letters) for _ in range(rng.randint(1, 9))).strip() or "a",
             "redirect": "".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) if rng.random() < 0.4 else ""}
            for _ in range(n)]
    r = MemoryIndex(docs)
    sg = Suggester(r, _random_priors(rng, n) if rng.random() < 0.7 else None)
    for _ in range(25):
        typed = "".join(rng.choice(letters) for _ in range(rng.randint(1, 8)))
        k = rng.choice([1, 3, 10, 40])
        got = sg.suggest(typed, k, fuzzy=True)
        want = _suggest_slow(sg, typed, k)
        assert [(x.docid, x.redirect) for x in got] == \
            [(int(sg.doc[e]), r.alias_title(int(sg.alias[e])) if sg.alias[e] >= 0 else None) for e in want], typed


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_priors_query_suggest(index):
    r = _cli("priors", "-i", index, "--pageviews", P / "pageviews-20240101-120000.gz",
             P / "daily_pageviews.tsv.gz", "--pagelinks", P / "pagelinks.sql",
             "--linktarget", P / "linktarget.sql")
    assert r.exit_code == 0, r.output
    assert "pageviews-20240101-120000.gz: pageviews, 12 lines" in r.output
    assert "daily_pageviews.tsv.gz: pageviews-tsv" in r.output and "(sql)" in r.output
    r = _cli("priors", "-i", index, "--json", "--dump-links")
    assert r.exit_code == 0 and json.loads(r.stdout)["inlinks_source"] == {"source": "dump"}
    r = _cli("query", "-i", index, "paris", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["flags"] == {"priors": True}
    r = _cli("query", "-i", index, "paris", "--json", "--no-priors")
    assert r.exit_code == 0 and json.loads(r.stdout)["flags"] == {}
    r = _cli("suggest", "-i", index, "paris", "t", "--no-fuzzy")
    assert r.exit_code == 0 and r.output == "Paris, Texas\n"
    r = _cli("suggest", "-i", index, "paris", "t")          # then titles within 2 edits
    assert r.exit_code == 0 and r.output.startswith("Paris, Texas\n") and "Paris Hilton" in r.output
    r = _cli("suggest", "-i", index, "lut", "--json")
    assert json.loads(r.stdout)["suggestions"][0]["redirect"] == "Lutèce"
    assert _cli("suggest", "-i", index, "zzz").output == "No titles start with 'zzz'.\n"


@pytest.mark.parametrize("args, message", [
    (["--pageviews", "missing.gz"], "Error: no such file: missing.gz"),
    ([str(P / "not-pageviews.txt")], "not a page-view file"),
    ([str(P / "pagelinks.sql")], "not a page-view file"),
    (["--format", "pageviews", str(P / "clickstream-enwiki-2024-01.tsv")], "not in the pageviews format"),
    (["--pagelinks", str(P / "pagelinks.sql")], "give the linktarget table too"),
    (["--pagelinks", str(P / "linktarget.sql"), "--linktarget", str(P / "linktarget.sql")],
     "no CREATE TABLE `pagelinks`"),
    (["--project", "en.nosuch", str(P / "daily_pageviews.tsv.gz")], "unknown project"),
])
def test_cli_errors_are_one_line(index, args, message):
    r = _cli("priors", "-i", index, *args)
    assert r.exit_code == 1
    lines = cli_lines(r)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], r.output
    assert not (index / "priors.bin").exists()


def test_cli_errors_without_an_index(tmp_path):
    for cmd in (["priors", "-i", tmp_path / "none", P / "daily_pageviews.tsv.gz"],
                ["suggest", "-i", tmp_path / "none", "paris"]):
        r = _cli(*cmd)
        lines = cli_lines(r)
        assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), r.output


def test_docs_bin_format_10_worked_example(built):
    """docs/FORMAT.md's docs.bin example (format 9's narrow columns, format 10's coded titles):
    every integer column at its narrowest width, the fields all zero left out, the reader's table
    the same [n, 9] numbers."""
    from wikisearch.index.container import Container
    from wikisearch.index.publish import resolve_index
    c = Container(resolve_index(built) / "docs.bin", b"DOCS")
    assert c.meta["length_fields"] == [0, 1, 2, 6, 7]
    assert {name: (c[name].dtype.str, c[name].shape) for name in c.specs if name not in ("title_codes", "title_symbols", "title_symbol_lengths", "alias_blob")} == {
        "page_id": ("|u1", (7,)), "field_lengths_by_field": ("<u2", (5, 7)), "title_offsets": ("|u1", (8,)),
        "alias_offsets": ("|u1", (8,)), "alias_title_offsets": ("|u1", (5,)), "inlinks": ("|u1", (7,)),
        "title_order": ("<i4", (7,)), "title_block_crc": ("<u4", (1,)), "alias_block_crc": ("<u4", (1,))}
    assert c.meta["title_codec"] == "fsst" and c.meta["title_bytes"] == 57 and len(c["alias_blob"]) == 45
    assert len(c["title_codes"]) == int(c["title_offsets"][-1]) == 10
    assert c["title_symbols"].shape == (len(c["title_symbol_lengths"]), 8)
    r = IndexReader(built)
    fl = r.field_lengths
    assert fl.shape == (7, 9) and not fl[:, [3, 4, 5, 8]].any() and fl[:, [0, 1, 2, 6, 7]].any(axis=0).all()
    assert np.array_equal(fl[:, [0, 1, 2, 6, 7]], np.asarray(c["field_lengths_by_field"]).T)


def test_format_worked_example(index):
    """The worked example of docs/FORMAT.md's priors.bin section."""
    update_priors(index, [P / "pageviews-20240101-120000.gz"])
    assert (index / "priors.bin").stat().st_size == 916       # container version 2; no keys (suggest.bin has them)
    p = load_priors(IndexReader(index))
    assert p.pageviews.tolist() == [165, 20, 0, 0, 32, 0, 40] and p.total_views == 757
    assert p.inlinks.tolist() == [5, 2, 1, 1, 1, 1, 0] and round(float(p.scores()[0]), 4) == 1.7396
    assert p.suggest is None and (index / "suggest.bin").stat().st_size == 660   # the keys: suggest.bin (format 9; 724 in format 8)
    reader = IndexReader(index)
    s = load_suggest_table(reader)
    o = s["suggest_offsets"]
    keys = [bytes(s["suggest_blob"][o[e]:o[e + 1]]).decode() for e in range(len(o) - 1)]
    assert keys == ["city of light", "eiffel tower", "france", "lutece", "paris", "paris france",
                    "paris hilton", "paris texas", "seine", "texas", "tour eiffel"]
    assert s["suggest_doc"].tolist() == [0, 4, 2, 0, 0, 0, 6, 1, 3, 5, 4]
    assert s["suggest_alias"].tolist() == [1, -1, -1, 2, -1, 0, -1, -1, -1, -1, 3]
    assert Suggester(reader, p)._bmax.tolist() == [p.scores()[0]]     # computed at open


def test_missing_views_zero_neutral_auto():
    """Documents without page views: no popularity ("zero", the default), the median of those
    with views ("neutral"), or neutral only when under half the documents have views ("auto")."""
    views = np.array([0.0, 100.0, 0.0, 10_000.0, 0.0])
    links = np.zeros(5, np.uint32)
    cfg = PriorConfig(inlinks_weight=0.0, pageviews_k=1e-3)
    share = satu(views / 1e5, 1e-3, cfg.pageviews_a)
    zero = Priors(views, links, total_views=1e5, config=cfg).scores()
    assert zero.tolist() == share.tolist() and zero[0] == 0.0
    neutral = Priors(views, links, total_views=1e5, config=cfg.replace(missing_views="neutral")).scores()
    median = float(np.median(share[[1, 3]]))
    assert neutral.tolist() == [median, share[1], median, share[3], median]
    auto = Priors(views, links, total_views=1e5, config=cfg.replace(missing_views="auto")).scores()
    assert auto.tolist() == neutral.tolist()                    # 2 of 5 documents have views
    dense = np.array([1.0, 100.0, 0.0, 10_000.0, 5.0])            # 4 of 5: absent means 0 views
    auto = Priors(dense, links, total_views=1e5, config=cfg.replace(missing_views="auto")).scores()
    assert auto[2] == 0.0
    assert PriorConfig.from_json(json.loads(json.dumps(cfg.replace(missing_views="auto").to_json()))) \
        == cfg.replace(missing_views="auto")
    with pytest.raises(ValueError):
        PriorConfig(missing_views="mean")


class _TitleReader:
    """What suggest_arrays reads of an index: its titles and its redirects (alias table)."""

    def __init__(self, titles, aliases):
        self.n_docs = len(titles)
        self._titles = list(titles)
        self._alias_doc = np.asarray([d % max(len(titles), 1) for d, _ in aliases], np.int64)
        self._aliases = [a for _, a in aliases]

    def titles(self):
        return list(self._titles)

    def alias_table(self):
        return self._alias_doc, list(self._aliases)


_KEY_TEXT = st.text(alphabet=st.sampled_from(list("abAB \u00e9-'. \u00a0\u00df\x00\U0001f600")), max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(_KEY_TEXT, min_size=1, max_size=40), st.lists(st.tuples(st.integers(0, 100), _KEY_TEXT), max_size=20))
def test_suggest_arrays_sorts_as_pythons_sort(titles, aliases):
    """The key table (the strings' sort and gather kernels) is, array for array, the one Python's
    stable sort makes: equal keys in entry order, prefixes first, empty keys left out."""
    reader = _TitleReader(titles, aliases)
    got, want = suggest_arrays(reader), suggest_arrays_slow(reader)
    assert set(got) == set(want)
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].tolist() == want[name].tolist(), name


def test_suggest_arrays_of_an_index_as_pythons_sort(index):
    reader = IndexReader(index)
    got, want = suggest_arrays(reader), suggest_arrays_slow(reader)
    assert len(want["suggest_doc"]) > 10
    for name in want:
        assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name]), name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aZé É'.-/ \u00a0\u2028\x1c\nßİﬁ１Ⅻќά")), max_size=12),
                max_size=8))
def test_suggest_keys_are_suggest_key_of_each(texts):
    """The batch (two regexes over all texts, ASCII lower-cased whole, other words folded once)
    makes exactly the keys of suggest_key one by one, line breaks and odd whitespace inside texts included."""
    assert suggest_keys(texts) == [suggest_key(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("abcé ")), min_size=1, max_size=8), min_size=1, max_size=60),
       st.text(alphabet=st.sampled_from(list("abcé")), min_size=1, max_size=9),
       st.integers(1, 2), st.integers(0, 2))
def test_fuzzy_ranges_are_their_definition(texts, typed, max_dist, anchor):
    """The fuzzy trie walk (pruned: a node none of whose cells is below the reach visits only
    the children on a few bytes) returns exactly the ranges, distances and order of its plain
    definition (tests/_oracle.py), over UTF-8 bytes, with 1 or 2 edits and an anchor."""
    from wikisearch.index import _strings_kernels as SK
    from wikisearch.popularity import _suggest_kernels as FK
    keys = sorted({t.strip().encode() for t in texts} - {b""})
    if not keys:
        return
    key = typed.encode()
    anchor = min(anchor, len(key))
    blob = np.frombuffer(b"".join(keys), np.uint8)
    offsets = np.zeros(len(keys) + 1, np.int64)
    np.cumsum([len(k) for k in keys], out=offsets[1:])
    kb = np.frombuffer(key, np.uint8)
    if anchor:
        lo0, hi0 = (int(x) for x in SK.prefix_range(blob, offsets, np.zeros(0, np.int64), kb[:anchor]))
    else:
        lo0, hi0 = 0, len(keys)
    assert (lo0, hi0) == (sum(k[:anchor] < key[:anchor] for k in keys),
                          sum(k[:anchor] <= key[:anchor] for k in keys))
    los, his, dists = FK.fuzzy_ranges(blob, offsets, kb, max_dist, 10**7, anchor, lo0, hi0)
    assert (los.tolist(), his.tolist(), dists.tolist()) == fuzzy_ranges_slow(keys, key, max_dist, anchor, lo0, hi0)
