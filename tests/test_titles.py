"""The build's title and redirect tables (numpy + numba, no Python object per document) against
the plain dict code they replace."""
from __future__ import annotations

import collections
import random

import numpy as np
import pytest

from wikisearch.index.links import (
    count_inlinks, link_lookups, read_alias_pieces, read_redirect_sources, redirect_targets, resolve_looked_up,
    resolve_redirects, slice_alias_table, title_lookups, write_alias_table, write_alias_table_of, write_links,
    write_redirects)
from wikisearch.index.strings import StringTable

from _oracle import resolve_redirects_slow


def _words(rng, n, alphabet="abcé日\ud800"):
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))) for _ in range(n)]


def test_sort_and_find_agree_with_python():
    rng = random.Random(3)
    s = _words(rng, 3000) + ["x" * 20 + "a", "x" * 20, "x" * 8 + "\x7f", "x" * 9]
    t = StringTable.from_strings(s)
    ids = t.sorted_ids()
    assert ids.tolist() == sorted(range(len(s)), key=s.__getitem__)
    last = {w: i for i, w in enumerate(s)}
    keys = s[::7] + ["zz", "", "x" * 21]
    assert t.find_last(StringTable.from_strings(keys), ids).tolist() == [last.get(k, -1) for k in keys]
    got = t.find_last_python(StringTable.from_strings(keys))      # where the kernels run as Python
    assert got.dtype == np.int64 and got.tolist() == [last.get(k, -1) for k in keys]
    assert StringTable.from_strings([]).find_last_python(StringTable.from_strings(["a"])).tolist() == [-1]
    assert t.take([5, 0, 5]).strings() == [s[5], s[0], s[5]]


def test_fill_is_concat_and_checks_the_sizes():
    parts = [["a", "bc"], [], ["", "déf", "g"]]
    tables = [StringTable.from_strings(p) for p in parts]
    whole = StringTable.concat(tables)
    got = StringTable.fill(len(whole), int(whole.offsets[-1]), ((t.offsets, t.blob) for t in tables))
    assert got.strings() == whole.strings() and got.offsets.tolist() == whole.offsets.tolist()
    with pytest.raises(ValueError):
        StringTable.fill(len(whole) - 1, int(whole.offsets[-1]), ((t.offsets, t.blob) for t in tables))
    with pytest.raises(ValueError):
        StringTable.fill(len(whole) + 1, int(whole.offsets[-1]) + 1, ((t.offsets, t.blob) for t in tables))


@pytest.mark.parametrize("seed", range(12))
def test_resolve_redirects_matches_dict_code(seed, tmp_path):
    rng = random.Random(seed)
    titles = _words(rng, rng.randint(0, 60), "abcd")             # duplicates included
    pool = titles + _words(rng, 40, "abcde")
    pairs = [(rng.choice(pool), rng.choice(pool)) for _ in range(rng.randint(0, 120))]
    docid_of = {t: i for i, t in enumerate(titles)}
    want = resolve_redirects_slow(pairs, docid_of)
    tt = StringTable.from_strings(titles)
    got = resolve_redirects(tt, tt.sorted_ids(), StringTable.from_strings([a for a, _ in pairs]),
                            StringTable.from_strings([b for _, b in pairs]))
    assert list(zip(got.sources.strings(), got.docids.tolist())) == list(want.items())
    # the targets in runs (a block's each, as the build reads them): the same result
    cuts = sorted(rng.sample(range(len(pairs) + 1), min(3, len(pairs) + 1)))
    runs = [StringTable.from_strings([b for _, b in pairs[x:y]]) for x, y in zip([0] + cuts, cuts + [len(pairs)])]
    in_runs = resolve_redirects(tt, tt.sorted_ids(), StringTable.from_strings([a for a, _ in pairs]), iter(runs))
    assert in_runs.sources.strings() == got.sources.strings() and in_runs.docids.tolist() == got.docids.tolist()
    # aliases per document, in the order the dict lists them
    offsets, alias_titles = got.aliases(len(titles))
    flat = alias_titles.strings()
    per_doc = [flat[int(offsets[d]):int(offsets[d + 1])] for d in range(len(titles))]
    expect = [[] for _ in titles]
    for src, d in want.items():
        expect[d].append(src)
    assert per_doc == expect
    # aliases.bin gathered from the redirect titles a few at a time: the bytes of the whole table
    write_alias_table(tmp_path / "whole.bin", offsets, alias_titles)
    write_alias_table_of(tmp_path / "chunked.bin", got, len(titles), chunk=rng.randint(1, 7))
    assert (tmp_path / "chunked.bin").read_bytes() == (tmp_path / "whole.bin").read_bytes()
    # and a run of its documents (a shard's), copied in pieces, numbered from 0
    lo = rng.randint(0, len(titles))
    hi = rng.randint(lo, len(titles))
    a, z = int(offsets[lo]), int(offsets[hi])
    write_alias_table(tmp_path / "part.bin", offsets[lo:hi + 1] - offsets[lo], alias_titles.take(np.arange(a, z)))
    slice_alias_table(tmp_path / "whole.bin", tmp_path / "sliced.bin", lo, hi)
    assert (tmp_path / "sliced.bin").read_bytes() == (tmp_path / "part.bin").read_bytes()
    pieces = list(read_alias_pieces(tmp_path / "whole.bin", lo, hi, chunk=3))
    assert sum(len(ao) - 1 for ao, _t, _b in pieces) == hi - lo


def test_redirect_chains_stop_after_five_hops():
    titles = ["T"]
    chain = [(f"r{i}", f"r{i + 1}") for i in range(7)] + [("r7", "T")]
    tt = StringTable.from_strings(titles)
    got = resolve_redirects(tt, tt.sorted_ids(), StringTable.from_strings([a for a, _ in chain]),
                            StringTable.from_strings([b for _, b in chain]))
    want = resolve_redirects_slow(chain, {"T": 0})
    assert dict(zip(got.sources.strings(), got.docids.tolist())) == want
    assert "r0" not in want and "r2" in want


@pytest.mark.parametrize("seed", range(4))
def test_titles_looked_up_by_block_then_dropped_give_the_dict_code(seed, tmp_path):
    """The build's order: every title lookup a block's table at a time (redirect sources and
    targets, linked titles), then the redirects resolved and the in-links counted without the
    titles: what the dicts give."""
    rng = random.Random(seed)
    titles = _words(rng, rng.randint(0, 50), "abcd")
    pool = titles + _words(rng, 30, "abcde")
    blocks, pairs_all, linked = [], [], []
    for k in range(rng.randint(1, 4)):
        b = tmp_path / f"b{k}"
        b.mkdir()
        pairs = [(rng.choice(pool), rng.choice(pool)) for _ in range(rng.randint(0, 40))]
        write_redirects(b / "redirects.bin", pairs)
        pairs_all += pairs
        links = collections.Counter({rng.choice(pool): rng.randint(1, 3) for _ in range(rng.randint(0, 20))})
        write_links(b / "links.bin", links)
        blocks.append(b)
        linked.append(links)
    tt = StringTable.from_strings(titles)
    ids = tt.sorted_ids()
    paths = [b / "redirects.bin" for b in blocks]
    src_is_doc, dst_doc = title_lookups(tt, ids, paths)
    link_docs = link_lookups(blocks, tt, ids, tmp_path)
    got = resolve_looked_up(read_redirect_sources(paths), src_is_doc, dst_doc, redirect_targets(paths))
    docid_of = {t: i for i, t in enumerate(titles)}
    want = resolve_redirects_slow(pairs_all, docid_of)
    assert list(zip(got.sources.strings(), got.docids.tolist())) == list(want.items())
    expect = [0] * len(titles)
    for links in linked:
        for t, c in links.items():
            d = docid_of.get(t, want.get(t, -1))
            if d >= 0:
                expect[d] += c
    assert count_inlinks(blocks, link_docs, got, len(titles)).tolist() == expect
