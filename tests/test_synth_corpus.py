"""benchmarks/synth_corpus.py at a tiny scale: deterministic, and the statistics it claims."""
from __future__ import annotations

import io
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import SHARED_DATA, requires_shared

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
pytestmark = requires_shared("enwiki-text", "enwiki-xml")

import synth_corpus as sc  # noqa: E402

SOURCE_DOCS = 40


@pytest.fixture(scope="module")
def plan():
    return sc.make_plan(sc.Options(source_docs=SOURCE_DOCS, data_dir=str(SHARED_DATA)))


def _generate(plan, articles, seed=13, plain=False, copies=None):
    opts = sc.Options(source_docs=SOURCE_DOCS, data_dir=str(SHARED_DATA), articles=articles, seed=seed)
    out, txt = io.BytesIO(), io.BytesIO() if plain else None
    st = sc.generate(opts, plan, out, txt, keep_lengths=True, copies=copies)
    return out.getvalue(), st, (txt.getvalue() if plain else None)


def test_same_seed_same_bytes_and_a_longer_corpus_extends_a_shorter_one(plan):
    n = plan.n_pieces + 40                   # into the second copy
    a, _, _ = _generate(plan, n)
    b, _, _ = _generate(plan, n)
    assert a == b
    longer, _, _ = _generate(plan, n + 30)
    assert longer.startswith(a[:-len(b"</mediawiki>\n")])
    other_plan = sc.make_plan(sc.Options(source_docs=SOURCE_DOCS, data_dir=str(SHARED_DATA), seed=14))
    c, _, _ = _generate(other_plan, n, seed=14)
    assert c != a


def test_copies_made_apart_join_into_the_whole_stream(plan):
    """--copies: parts made separately (in parallel processes) hold the whole stream's pages,
    page ids and plain text, in order; the last part stops where the whole one does."""
    n = 3 * plan.n_pieces + 25                   # into the fourth copy
    whole, st, plain = _generate(plan, n, plain=True)
    head = sc.HEADER.format(version=sc.GENERATOR_VERSION).encode("utf-8")
    tail = b"</mediawiki>\n"
    xml_parts, plain_parts, articles, redirects = [], [], 0, 0
    for copies in ((1, 1), (2, 3), (4, 9)):
        xml, pst, ptxt = _generate(plan, n, plain=True, copies=copies)
        assert xml.startswith(head) and xml.endswith(tail)
        xml_parts.append(xml[len(head):-len(tail)])
        plain_parts.append(ptxt)
        articles += pst.articles
        redirects += pst.redirects
    assert head + b"".join(xml_parts) + tail == whole
    assert b"".join(plain_parts) == plain
    assert (articles, redirects) == (st.articles, st.redirects)
    assert sc.pages_per_copy(plan) * 3 < st.articles + st.redirects < sc.pages_per_copy(plan) * 4


def test_statistics_as_claimed(plan):
    n = 3 * plan.n_pieces
    xml, st, plain = _generate(plan, n, plain=True)
    text = xml.decode("utf-8")
    titles = re.findall(r"<title>([^<]*)</title>", text)
    assert st.articles == n and st.copies == 3
    assert len(titles) == st.articles + st.redirects
    assert len(set(titles)) == len(titles)                      # unique titles, redirects included
    assert text.count("<redirect title=") == st.redirects
    assert 1.4 < st.redirects / st.articles < 1.8                # ~1.6 per article (enwiki: 11M / 6.9M)
    # every redirect points at an article of the corpus
    arts = set(titles) - set(re.findall(r"<title>([^<]*)</title>\n    <ns>0</ns>\n    <id>\d+</id>\n    <redirect", text))
    targets = re.findall(r'<redirect title="([^"]*)" />', text)
    import html
    assert all(html.unescape(t) in {html.unescape(a) for a in arts} for t in targets)
    # links and categories at the rates of the real XML samples
    assert abs(st.categories / st.articles - plan.cats_per_article) < 1.0
    assert st.links > 5 * st.articles
    # length distribution: many short articles, a long tail
    lengths = sorted(st.lengths)
    median = lengths[len(lengths) // 2]
    assert 1000 < median < 4000 and lengths[-1] > 5 * median
    assert sum(x < 1000 for x in lengths) > 0.1 * n
    # Heaps: copies 2 and 3 bring new word types, fewer in copy 3 than in copy 2
    assert sc.heaps_share(2, 0.85) > sc.heaps_share(3, 0.85) > sc.heaps_share(50, 0.85) > 0
    suffixed = set(re.findall(r"\b(\w+" + sc.word_suffix(2) + r")\b", plain.decode("utf-8")))
    assert len(suffixed) > 50
    assert st.rewritten_types > len(plan.rare) * sc.heaps_share(2, sc.Options.beta) * 0.9


def test_wikisearch_reads_it(plan, tmp_path):
    from wikisearch.ingest.dump import Dump, pages_from_block
    xml, st, _ = _generate(plan, 200)
    path = tmp_path / "synth.xml"
    path.write_bytes(xml)
    pages = redirects = 0
    with Dump(str(path)) as dump:
        for block, data in dump.blocks(1 << 30):
            for page in pages_from_block(data, block, dump.siteinfo, dump.format):
                pages += 1
                redirects += bool(page.redirect)
    assert (pages, redirects) == (st.articles + st.redirects, st.redirects)
