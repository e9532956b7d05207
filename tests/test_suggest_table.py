"""suggest.bin: the title-suggestion key table the build stores, against ``suggest_arrays`` (the
Python-string oracle) on real and hand-made titles; a Suggester over a new index makes nothing;
old indexes without it still work; damage is reported; the bytes are deterministic."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from wikisearch.build import build_index
from wikisearch.cli import main
from wikisearch.errors import CorruptIndexError
from wikisearch.fileio import narrowest_uint
from wikisearch.index.manifest import manifest_checksum
from wikisearch.index.reader import IndexReader
from wikisearch.index.stats import verify_index
from wikisearch.popularity import suggest as suggest_module
from wikisearch.popularity import suggest_table as T
from wikisearch.popularity.priors import load_priors
from wikisearch.popularity.suggest import Suggester, suggest_arrays, suggest_key, suggest_keys
from wikisearch.popularity.update import update_priors
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).parent))
from _oracle import suggest_arrays_slow  # noqa: E402
from conftest import cli_lines, shared_path  # noqa: E402

DATA = Path(__file__).parent / "data"

#: Titles whose keys are the hard cases: non-ASCII (folded, compatibility forms, other scripts),
#: apostrophes and periods, punctuation alone (an empty key: left out), equal keys.
TITLES = ["Paris", "PARIS!", "Paris, Texas", "Éire", "U.S. Route 66", "Alzheimer's disease",
          "!!!", "...", "(—)", "Ａｂｃ", "Москва", "東京", "Straße", "İstanbul", "ﬁsh", "Jean-Paul Sartre",
          "A  B", "O’Brien", "C++", "Paris–Roubaix", "Z"]
REDIRECTS = [("U.S.", "U.S. Route 66"), ("Ｕ.Ｓ.", "U.S. Route 66"), ("---", "!!!"), ("Lutèce", "Paris"),
             ("Paris (France)", "Paris"), ("PARIS", "Paris"), ("Eire", "Éire"), ("Tokyo", "東京"),
             ("Alzheimers", "Alzheimer's disease"), ("#", "Z")]


def write_dump(path: Path) -> Path:
    pages, pid = [], 0
    for title, target in [(t, None) for t in TITLES] + REDIRECTS:
        pid += 1
        red = f'<redirect title="{target}" />' if target else ""
        text = f"#REDIRECT [[{target}]]" if target else f"'''{title}''' is a page about [[Paris]]."
        pages.append(f"<page><title>{title}</title><ns>0</ns><id>{pid}</id>{red}<revision><id>{pid}</id>"
                     f"<text xml:space=\"preserve\">{text}</text></revision></page>")
    path.write_text('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">'
                    "<siteinfo><sitename>W</sitename><base>https://en.wikipedia.org/wiki/Main_Page</base>"
                    '<case>first-letter</case><namespaces><namespace key="0" /></namespaces></siteinfo>\n'
                    + "\n".join(pages) + "\n</mediawiki>\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("suggest_table")
    return build_index([str(write_dump(tmp / "hand.xml"))], str(tmp / "idx"))


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """The real sample dump (491 pages, 265 redirects) and the hand-made one in one index."""
    tmp = tmp_path_factory.mktemp("suggest_table_real")
    enwik8 = shared_path("enwiki-xml", "enwik8-head-4MB.xml.bz2")
    return build_index([str(enwik8), str(write_dump(tmp / "hand.xml"))], str(tmp / "idx"), workers=2)


def _stored(index) -> dict:
    return T.load_suggest_table(IndexReader(index))


def _same(got: dict, want: dict) -> None:
    """The stored table has the oracle's arrays; its offsets at the narrowest width (format 9)."""
    assert set(got) == set(want)
    for name in want:
        dtype = narrowest_uint(int(want[name][-1])) if name == "suggest_offsets" else want[name].dtype
        assert got[name].dtype == dtype and np.array_equal(got[name], want[name]), name


def test_stored_table_is_the_oracle_on_hand_made_titles(hand):
    reader = IndexReader(hand)
    stored = _stored(hand)
    _same(stored, suggest_arrays(reader))
    _same(stored, suggest_arrays_slow(reader))
    o, blob = stored["suggest_offsets"], stored["suggest_blob"]
    keys = [bytes(blob[o[e]:o[e + 1]]).decode() for e in range(len(o) - 1)]
    assert keys == sorted(keys, key=lambda k: k.encode()) and "" not in keys
    assert keys.count("paris") == 3 and "us route 66" in keys and "москва" in keys and "abc" in keys
    # equal keys: titles (by docid) before redirects
    paris = [e for e, k in enumerate(keys) if k == "paris"]
    assert stored["suggest_alias"][paris].tolist()[:2] == [-1, -1] and stored["suggest_alias"][paris[2]] >= 0
    assert len(keys) == len(TITLES) + len(REDIRECTS) - 5      # "!!!", "...", "(—)", "---", "#": no key


def test_stored_table_is_the_oracle_on_a_real_dump(real):
    reader = IndexReader(real)
    stored = _stored(real)
    assert len(stored["suggest_doc"]) > 300 and (stored["suggest_alias"] >= 0).sum() > 50, (stored["suggest_alias"] >= 0).sum()
    _same(stored, suggest_arrays(reader))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aZq09 .'-,!/\t\x1c\x1f\x00\x7f_~é É\u00a0’Ａ")),
                        max_size=12), max_size=30))
def test_piece_keys_are_suggest_keys(texts):
    """The vectorised fold (ASCII) and the Python path (the rest) make suggest_keys' keys."""
    raw = [t.encode("utf-8", "surrogatepass") for t in texts]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in raw])]).astype(np.int64)
    lens, blob, non_ascii = T.piece_keys(offsets, np.frombuffer(b"".join(raw), np.uint8))
    want = [k.encode() for k in suggest_keys(texts)]
    got = [blob[a:b].tobytes() for a, b in zip(np.concatenate([[0], np.cumsum(lens)[:-1]]), np.cumsum(lens))]
    assert got == want
    assert non_ascii == sum(not t.isascii() for t in texts)
    assert [k.decode() for k in want] == [suggest_key(t) for t in texts]


def test_table_in_small_pieces_has_the_same_bytes(hand, tmp_path, monkeypatch):
    """Determinism: the table made again, and made a few titles at a time, is the same file."""
    again = tmp_path / "again.bin"
    T.write_suggest_table(again, hand / "docs.bin")
    assert again.read_bytes() == (hand / T.FILE).read_bytes()
    monkeypatch.setattr(T, "PIECE", 3)
    pieces = tmp_path / "pieces.bin"
    info = T.write_suggest_table(pieces, hand / "docs.bin")
    assert pieces.read_bytes() == (hand / T.FILE).read_bytes()
    assert info["non_ascii"] == sum(not t.isascii() for t in TITLES + [a for a, _ in REDIRECTS]) == 12
    assert info["titles"] == len(TITLES) and info["redirects"] == len(REDIRECTS)


def test_two_builds_write_the_same_table(hand, tmp_path):
    again = build_index([str(write_dump(tmp_path / "hand.xml"))], str(tmp_path / "idx"), workers=2)
    assert (again / T.FILE).read_bytes() == (hand / T.FILE).read_bytes()


def test_a_suggester_over_a_new_index_makes_nothing(hand, monkeypatch):
    def no(*_a, **_k):
        raise AssertionError("suggest_arrays called: the key table was made at open")
    monkeypatch.setattr(suggest_module, "suggest_arrays", no)
    said = []
    s = Searcher(hand)
    s.on_slow_start = said.append
    assert [x.title for x in s.suggest("paris", 5, fuzzy=False)][:1] == ["Paris"]
    assert str(s.suggest("lutece", 1)[0]) == "Lutèce \u2192 Paris"
    assert said == []


def _as_old_index(index: Path, out: Path) -> Path:
    """A copy of ``index`` as an index built before suggest.bin: the file gone from it and from
    its manifest (the manifest's checksum made again)."""
    shutil.copytree(index, out)
    (out / T.FILE).unlink()
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    del m["files"][T.FILE]
    m["checksum"] = manifest_checksum(m)
    (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return out


def test_an_old_index_makes_the_table_at_open_and_says_so(real, tmp_path):
    old = _as_old_index(real, tmp_path / "old")
    said = []
    s_old, s_new = Searcher(old), Searcher(real)
    s_old.on_slow_start = said.append
    for p in ("a", "paris", "us r", "anarch", "alzheimer"):
        assert [str(x) for x in s_old.suggest(p, 10)] == [str(x) for x in s_new.suggest(p, 10)]
    assert said == [suggest_module.SLOW_NOTE]
    r = CliRunner().invoke(main, ["suggest", "-i", str(old), "paris"])
    assert r.exit_code == 0 and "Paris" in r.stdout
    assert [line for line in r.stderr.splitlines() if line.strip()] == [suggest_module.SLOW_NOTE]
    assert "wikisearch priors" in suggest_module.SLOW_NOTE and "\n" not in suggest_module.SLOW_NOTE
    # `wikisearch priors` stores it in priors.bin for such an index; a new index's priors.bin has none
    update_priors(old)
    assert load_priors(IndexReader(old)).suggest is not None
    said.clear()
    s_old = Searcher(old)
    s_old.on_slow_start = said.append
    assert [str(x) for x in s_old.suggest("paris", 10)] and said == []
    new = tmp_path / "new"
    shutil.copytree(real, new)
    update_priors(new)
    assert load_priors(IndexReader(new)).suggest is None
    assert [str(x) for x in Searcher(new).suggest("paris", 10)] == [str(x) for x in Searcher(old).suggest("paris", 10)]


def test_a_damaged_table_is_one_line_of_error(hand, tmp_path):
    idx = tmp_path / "idx"
    shutil.copytree(hand, idx)
    path = idx / T.FILE
    raw = bytearray(path.read_bytes())
    raw[len(raw) - 200] ^= 0x10                 # in the arrays (the footer is the last 20 bytes)
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptIndexError, match=T.FILE):
        Searcher(idx).suggest("paris")
    with pytest.raises(CorruptIndexError):
        verify_index(idx)
    r = CliRunner().invoke(main, ["suggest", "-i", str(idx), "paris"])
    lines = cli_lines(r)
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: ") and T.FILE in lines[0], r.output


def test_a_table_of_other_key_rules_is_made_again(hand, tmp_path, monkeypatch):
    """A table written under other key rules (KEY_RULES) is not used: the keys are made at open."""
    monkeypatch.setattr(T, "KEY_RULES", T.KEY_RULES + 1)
    said = []
    s = Searcher(hand)
    s.on_slow_start = said.append
    assert [x.title for x in s.suggest("paris", 1)] == ["Paris"] and said == [suggest_module.SLOW_NOTE]


def test_keys_longer_than_their_titles_grow_the_buffer():
    """A compatibility form can fold to many more bytes ("ﷺ", 3 bytes, to 33): the buffer sized
    by the titles grows, and the keys are still suggest_keys'."""
    texts = ["ﷺ", "ﷺ ﷺ b", "A", "ﷺ"]
    raw = [t.encode() for t in texts]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in raw])]).astype(np.int64)
    blob = np.frombuffer(b"".join(raw), np.uint8)
    got = T.sorted_keys([lambda: iter([(offsets, blob)]), lambda: iter([])], len(texts), len(blob))
    o, b = got["offsets"], got["blob"]
    keys = [b[o[i]:o[i + 1]].tobytes().decode() for i in range(len(texts))]
    assert keys == suggest_keys(texts) and len(keys[1]) > 20 and o[-1] > len(blob)
    assert got["order"].tolist() == sorted(range(len(texts)), key=lambda i: keys[i].encode())
    assert got["non_ascii"] == 3


def _as_format_8(index: Path, out: Path) -> Path:
    """A copy of ``index`` as format 8 wrote it: every docs.bin and suggest.bin integer column at
    its full width (int64 page ids, uint64 offsets, uint32 in-links, uint32 lengths of all nine
    fields), format_version 8 (the manifest's file checksums and checksum made again)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "record_kernels", Path(__file__).resolve().parents[1] / "benchmarks" / "record_kernels.py")
    rk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rk)
    wide = {"page_id": np.int64, "title_offsets": np.uint64, "alias_offsets": np.uint64,
            "alias_title_offsets": np.uint64, "inlinks": np.uint32, "suggest_offsets": np.uint64}
    return rk.widened_copy(index, out, wide, format_version=8)


def test_suggestions_over_uint32_offsets_are_the_same(real, tmp_path):
    """suggest.bin's offsets are uint32 once the keys pass 64 KiB (the 30k index and up), viewed
    as int32 by the Suggester: the same suggestions as over uint64 offsets, ties included
    (regression: the ties' key length shifted left 31 bits in int32 overflowed, and equally
    popular entries came in docid order instead of shortest key first)."""
    from wikisearch.index.container import Container, write_container
    from wikisearch.index.manifest import MANIFEST, file_checksums
    from wikisearch.index.publish import resolve_index
    out = {}
    for dtype in (np.uint32, np.uint64):
        idx = tmp_path / np.dtype(dtype).name
        shutil.copytree(resolve_index(real), idx)
        c = Container(idx / T.FILE, T.KIND)
        arrays = {k: np.array(c[k]) for k in c.specs}
        meta = dict(c.meta)
        c.close()
        arrays["suggest_offsets"] = arrays["suggest_offsets"].astype(dtype)
        write_container(idx / T.FILE, T.KIND, arrays, meta=meta)
        m = json.loads((idx / MANIFEST).read_text(encoding="utf-8"))
        m["files"] = file_checksums(idx, list(m["files"]))
        m["checksum"] = manifest_checksum(m)
        (idx / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
        s = Searcher(idx)
        out[dtype] = [[(str(x), x.docid, x.score) for x in s.suggest(p, 10, fuzzy=fuzzy)]
                      for p in ("a", "b", "c", "m", "s", "th", "an", "paris", "us r", "anarch", "alzheimer")
                      for fuzzy in (False, True)]
        assert s._suggester.offsets.dtype == (np.int32 if dtype == np.uint32 else np.int64)
    assert out[np.uint32] == out[np.uint64]
    assert any(len({len(t) for t, _d, _s in row}) > 1 for row in out[np.uint64])      # ties broken by key length


@pytest.mark.parametrize("which", ["hand", "real"])
def test_a_format_8_index_is_still_read_and_answers_the_same(which, request, tmp_path):
    """Format 9 narrows docs.bin's and suggest.bin's integer columns; a format 8 index (the same
    columns at full width) is still read, and searches, titles, redirects, title lookups and
    suggestions (fuzzy too) are the same, score for score. (The hand-made dump has fields all
    empty, left out of format 9's docs.bin; the real one fills all nine.)"""
    real = request.getfixturevalue(which)
    old = _as_format_8(real, tmp_path / "old")
    new_r, old_r = IndexReader(real), IndexReader(old)
    d9, d8 = new_r.docs_c, old_r.docs_c
    for name in ("page_id", "title_offsets", "alias_offsets", "alias_title_offsets"):    # (the test can fail)
        assert d9[name].dtype.itemsize < 8 and d8[name].dtype.itemsize == 8, name
    assert new_r.field_lengths.dtype == np.uint16 and old_r.field_lengths.dtype == np.uint32
    assert (len(new_r.length_fields) < 9) == (which == "hand") and old_r.length_fields == list(range(9))
    assert np.array_equal(new_r.field_lengths, old_r.field_lengths)
    n = new_r.n_docs
    assert new_r.titles() == old_r.titles() and new_r.page_ids.tolist() == old_r.page_ids.tolist()
    assert [new_r.redirects(d) for d in range(n)] == [old_r.redirects(d) for d in range(n)]
    assert new_r.inlinks.tolist() == old_r.inlinks.tolist()
    probes = new_r.titles()[::7] + [a for a in new_r.alias_table()[1][::5]] + ["No such page", "PARIS"]
    assert new_r.docids_for_titles(probes).tolist() == old_r.docids_for_titles(probes).tolist()
    a, b = Searcher(new_r), Searcher(old_r)
    for q in ("anarchism", "paris texas", "route 66", "the history of", "t:paris", "alzheimer disease"):
        assert [(h.docid, h.page_id, h.score) for h in a.search(q, k=50)] == \
            [(h.docid, h.page_id, h.score) for h in b.search(q, k=50)], q
    for p in ("a", "paris", "us r", "anarch", "alzheimer", "lutece", "moskva"):
        for fuzzy in (False, True):
            assert [(str(x), x.score) for x in a.suggest(p, 10, fuzzy=fuzzy)] == \
                [(str(x), x.score) for x in b.suggest(p, 10, fuzzy=fuzzy)], (p, fuzzy)
    verify_index(old)


def test_a_format_9_index_is_still_read_and_answers_the_same(real, tmp_path):
    """Format 10 codes docs.bin's titles (FSST) and blocks.bin's starts and bounds; a format 9
    index (plain titles, ``pos`` uint32 and ``bound`` float32: the bounds before rounding to
    codes, from the kernel) is still read: the same titles, lookups, searches (block-max path
    included), scores and suggestions."""
    from wikisearch.index.blockmax import FILE as BLOCKS, KIND as BMAX, BlockMaxima
    from wikisearch.index.container import write_container
    from wikisearch.index.manifest import MANIFEST, file_checksums, manifest_checksum
    from wikisearch.search import _blockmax_kernels as BK
    from wikisearch.search.blockmax import ALL_FIELDS, block_maxima_of
    from wikisearch.search.rank import kernel_lengths, kernel_params
    import importlib.util
    import json
    spec = importlib.util.spec_from_file_location(
        "record_kernels", Path(__file__).resolve().parents[1] / "benchmarks" / "record_kernels.py")
    rk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rk)
    old = rk.widened_copy(real, tmp_path / "old", {}, format_version=9)
    new_r = IndexReader(real)
    arrays = block_maxima_of(new_r, new_r.field_lengths, new_r.avg_field_lengths, new_r.rank_config)
    write_container(old / BLOCKS, BMAX, {"term": arrays["terms"], "block_offsets": arrays["block_offsets"],
                    "pos": arrays["pos"].astype(np.uint32), "last": arrays["last"], "bound": arrays["bound"]},
                    meta={"block": 128, "rank": arrays["rank"], "n_lists": len(arrays["terms"])})
    m = json.loads((old / MANIFEST).read_text())
    m["files"] = file_checksums(old, list(m["files"]))
    m["checksum"] = manifest_checksum(m)
    (old / MANIFEST).write_text(json.dumps(m))
    old_r = IndexReader(old)
    assert new_r.titles_coded and not old_r.titles_coded and "title_blob" in old_r.docs_c.specs
    assert new_r.block_maxima.coded and not old_r.block_maxima.coded and len(arrays["terms"]) > 3
    assert np.array_equal(old_r.block_maxima.bound, arrays["bound"])
    assert (new_r.block_maxima.bound >= old_r.block_maxima.bound).all()
    assert np.array_equal(new_r.block_maxima.pos, old_r.block_maxima.pos)
    n = new_r.n_docs
    assert new_r.titles() == old_r.titles() and [new_r.title(d) for d in range(n)] == old_r.titles()
    probes = new_r.titles()[::3] + [a for a in new_r.alias_table()[1][::5]] + ["No such page", "PARIS", ""]
    assert new_r.docids_for_titles(probes).tolist() == old_r.docids_for_titles(probes).tolist()
    a, b = Searcher(new_r), Searcher(old_r)
    for q in ("anarchism", "paris texas", "route 66", "the history of", "t:paris", "alzheimer disease",
              "united states", "war of the"):
        for k in (1, 10, 100):
            assert [(h.docid, h.score, h.title) for h in a.search(q, k=k)] == \
                [(h.docid, h.score, h.title) for h in b.search(q, k=k)], q
    for p in ("a", "paris", "anarch"):
        assert [(str(x), x.score) for x in a.suggest(p, 10, fuzzy=True)] == \
            [(str(x), x.score) for x in b.suggest(p, 10, fuzzy=True)], p
    verify_index(old)
