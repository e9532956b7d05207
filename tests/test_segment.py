"""The front-coded term dictionary and the segment reader, against plain-Python oracles."""
import bisect
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wikisearch.index import _termdict_kernels as SK
from wikisearch.index.codec import get_codec
from wikisearch.errors import CorruptIndexError
from wikisearch.index.segment import SegmentReader, TermWriter, write_docs, DocTable


def _encode(terms, dfs, lens):
    raw = [t.encode() for t in terms]
    offsets = np.zeros(len(raw) + 1, np.int64)
    np.cumsum([len(r) for r in raw], out=offsets[1:])
    return SK.encode_dictionary(np.frombuffer(b"".join(raw), np.uint8), offsets, np.asarray(dfs, np.int64),
                                np.asarray(lens, np.int64))


def test_worked_example_bytes():
    """docs/FORMAT.md, terms.bin: the bytes of a two-term block."""
    blob, bo, bp = _encode(["berlin", "berliner"], [2, 1], [5, 3])
    assert blob.tobytes() == bytes.fromhex("00 06 62 65 72 6c 69 6e 02 05 06 02 65 72 01 03")
    assert bo.tolist() == [0, 16] and bp.tolist() == [0, 8]


terms_strategy = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
                          min_size=0, max_size=150, unique=True).map(
    lambda ts: sorted(ts, key=lambda t: t.encode()))


@settings(max_examples=80, deadline=None)
@given(terms_strategy, st.lists(st.text(max_size=6), max_size=20))
def test_seek_matches_bisect(terms, probes):
    n = len(terms)
    dfs = [i + 1 for i in range(n)]
    lens = [(i * 7) % 5 + 1 for i in range(n)]
    blob, bo, bp = _encode(terms, dfs, lens)
    keys = [t.encode() for t in terms]
    starts = np.concatenate([[0], np.cumsum(lens)]).tolist()
    for probe in probes + terms[:10]:
        key = probe.encode()
        o, df, start, plen, status = SK.seek(blob, bo, bp, n, np.frombuffer(key, np.uint8), True)
        assert status == 0
        if key in keys:
            i = keys.index(key)
            assert (o, df, start, plen) == (i, dfs[i], starts[i], lens[i])
        else:
            assert o == -1
        o, *_r, status = SK.seek(blob, bo, bp, n, np.frombuffer(key, np.uint8), False)
        assert o == bisect.bisect_left(keys, key)
    # all probes in one seek_many call: each its exact entry and its lower bound at once
    probe_keys = [p.encode() for p in probes + terms[:10]]
    ends = np.cumsum([len(k) for k in probe_keys]).astype(np.int64)
    out = np.full((5, len(probe_keys)), 99, np.int64)
    crcs = np.array([zlib.crc32(blob[bo[b]:bo[b + 1]]) for b in range(len(bo) - 1)], np.uint32)
    ok = np.zeros(len(bo) - 1, np.uint8)
    bad, marked = SK.seek_many(blob, bo, bp, n, np.frombuffer(b"".join(probe_keys), np.uint8), ends, out,
                               crcs, ok)
    assert bad == -1 and marked == int(ok.sum())
    # each answer's blocks were checked: a key's own block, an absent key's blocks around it
    for q, key in enumerate(probe_keys):
        if out[0, q] >= 0:
            assert ok[out[0, q] // SK.TERM_BLOCK]
        elif n:
            b = min(out[1, q], n - 1) // SK.TERM_BLOCK
            assert ok[max(b - 1, 0):b + 2].all()
    for q, key in enumerate(probe_keys):
        i = keys.index(key) if key in keys else -1
        want = (i, dfs[i], starts[i], lens[i]) if i >= 0 else (-1, 0, 0, 0)
        assert (out[0, q], out[2, q], out[3, q], out[4, q]) == want
        assert out[1, q] == bisect.bisect_left(keys, key)
    if n:
        tb, to, d, s, ln, ok = SK.decode_blocks(blob, bo, bp, 0, len(bo) - 1, n)
        assert ok and [tb[to[i]:to[i + 1]].tobytes() for i in range(n)] == keys
        assert d.tolist() == dfs and ln.tolist() == lens and s.tolist() == starts[:-1]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 600), st.integers(0, 600))
def test_dictionary_crc32_is_zlibs(data, a, z):
    """The dictionary blocks' CRC-32 as seek_many checks it: zlib.crc32 of the bytes, any range."""
    buf = np.frombuffer(data, np.uint8) if data else np.zeros(0, np.uint8)
    a, z = min(a, len(data)), min(max(a, z), len(data))
    assert int(SK.crc32(buf, a, z)) == zlib.crc32(data[a:z])


def test_seek_many_names_a_block_without_its_checksum():
    """A block whose bytes disagree with its CRC-32 stops seek_many at the first key whose search
    read it (-2 - block), unless it was marked checked; blocks checked are marked once."""
    terms = sorted(f"t{i:04d}" for i in range(200))
    blob, bo, bp = _encode(terms, [1] * 200, [2] * 200)
    crcs = np.array([zlib.crc32(blob[bo[b]:bo[b + 1]]) for b in range(len(bo) - 1)], np.uint32)
    crcs[3] ^= 1
    key = terms[3 * SK.TERM_BLOCK + 5].encode()
    ends = np.array([len(b"t0001"), len(b"t0001") + len(key)], np.int64)
    out = np.zeros((5, 2), np.int64)
    ok = np.zeros(len(crcs), np.uint8)
    bad, marked = SK.seek_many(blob, bo, bp, 200, np.frombuffer(b"t0001" + key, np.uint8), ends, out, crcs, ok)
    assert (bad, marked) == (-2 - 3, 1) and ok.tolist() == [1] + [0] * (len(crcs) - 1)
    ok[3] = 1                                      # (marked: not checked again)
    bad, marked = SK.seek_many(blob, bo, bp, 200, np.frombuffer(b"t0001" + key, np.uint8), ends, out, crcs, ok)
    assert (bad, marked) == (-1, 0) and out[0].tolist() == [1, 3 * SK.TERM_BLOCK + 5]


def _segment(tmp_path, terms):
    codec = get_codec("bitpacked")
    w = TermWriter(tmp_path, "bitpacked")
    post_offsets = [0]
    docids, masks, tfs = [], [], []
    for i, _t in enumerate(terms):
        docs = list(range(i % 3, 40, 1 + i % 5))
        docids += docs
        masks += [1 << (i % 9)] * len(docs)
        tfs += [1 + i % 4] * len(docs)
        post_offsets.append(len(docids))
    w.add_many(terms, np.asarray(post_offsets), np.asarray(docids, np.int32), np.asarray(masks, np.uint16),
               np.asarray(tfs, np.uint32))
    w.close()
    write_docs(tmp_path / "docs.bin", DocTable(np.arange(40), [f"d{i}" for i in range(40)],
                                               np.ones((40, 9), np.uint32)))
    return SegmentReader(tmp_path)


def test_segment_reader_terms_and_postings(tmp_path):
    terms = sorted({f"t{i:03d}" for i in range(100)} | {"é", "ü", "日本"}, key=str.encode)
    r = _segment(tmp_path, terms)
    assert r.n_terms == len(terms) and r.all_terms() == terms
    for i, t in enumerate(terms):
        assert r.term_ordinal(t) == i and r.term(i) == t
        d, m, tf = r.postings(i)
        assert d.tolist() == list(range(i % 3, 40, 1 + i % 5)) and set(m.tolist()) == {1 << (i % 9)}
        assert r.doc_freq(i) == len(d)
    assert r.term_ordinal("t0") == -1 and r.term_ordinal("zzz") == -1
    probes = ["zzz", "t050", "", "t0", "é", "t050", "日本", "a"] + terms[::7]
    assert r.term_ordinals(probes) == [terms.index(t) if t in terms else -1 for t in probes]
    assert r.terms.lookup_many(probes) == [r.terms.lookup(t) for t in probes]
    assert r.term_ordinals([]) == []
    assert r.terms_with_prefix("t01", 3) == ["t010", "t011", "t012"]
    assert r.terms.lower_bound("t0985") == terms.index("t099") and r.terms.lower_bound("t0995") == terms.index("é")


def test_damaged_postings_block_is_detected(tmp_path, monkeypatch):
    from wikisearch.index import container as C
    monkeypatch.setattr(C, "FULL_CHECK_BYTES", 0)   # as for a large file: checked per block
    terms = [f"t{i:03d}" for i in range(100)]
    _segment(tmp_path, terms).close()
    p = tmp_path / "postings.bin"
    raw = bytearray(p.read_bytes())
    raw[200] ^= 0x01
    p.write_bytes(bytes(raw))
    r = SegmentReader(tmp_path)
    with pytest.raises(CorruptIndexError, match="checksum mismatch in the postings"):
        for t in range(r.n_terms):
            r.postings(t)


def test_entry_cache_overflow_regression(tmp_path):
    """Walking more terms than the reader's entry cache holds (found by bench_codec: KeyError)."""
    n = 70_000
    terms = [f"w{i:06d}" for i in range(n)]
    w = TermWriter(tmp_path, "varbyte")
    w.add_many(terms, np.arange(n + 1), np.zeros(n, np.int32), np.ones(n, np.uint16), np.ones(n, np.uint32))
    w.close()
    write_docs(tmp_path / "docs.bin", DocTable(np.arange(1), ["d"], np.ones((1, 9), np.uint32)))
    r = SegmentReader(tmp_path)
    assert [r.term(i) for i in range(0, n, 7)] == terms[::7]
    assert r.doc_freq(n - 1) == 1 and r.postings(n - 1)[0].tolist() == [0]


@settings(max_examples=120, deadline=None)
@given(terms_strategy, st.integers(0, 2**40), st.none() | st.tuples(st.integers(0, 10**6), st.integers(0, 7)))
def test_python_dictionary_paths_equal_the_kernels(terms, big, flip):
    """termdict's plain-Python encode and decode (where the kernels run as Python) give the
    kernels' arrays; on damaged blocks the decoder gives way (None) unless it agrees."""
    from wikisearch.index import termdict
    n = len(terms)
    dfs = np.asarray([(i * 13) % 7 + 1 + (big if i == 1 else 0) for i in range(n)], np.int64)
    lens = np.asarray([(i * 7) % 300 + 1 for i in range(n)], np.int64)
    raw = [t.encode() for t in terms]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum([len(r) for r in raw], out=offsets[1:])
    tb = np.frombuffer(b"".join(raw), np.uint8)
    kernel = SK.encode_dictionary(tb, offsets, dfs, lens)
    python = termdict._encode_dictionary_python(tb, offsets, dfs, lens)
    for a, b in zip(kernel, python):
        assert a.dtype == b.dtype and a.tolist() == b.tolist()
    blob, bo, bp = kernel
    if flip is not None and blob.size:
        blob = blob.copy()
        blob[flip[0] % blob.size] ^= np.uint8(1 << flip[1])
    n_blocks = len(bo) - 1
    for b0, b1 in {(0, n_blocks), (0, min(1, n_blocks)), (n_blocks // 2, n_blocks)}:
        offs = bo[b0:b1 + 1] - bo[b0]
        part = blob[bo[b0]:bo[b1]]
        got = termdict._decode_blocks_python(part, offs, bp[b0:b1 + 1], b1 - b0, n - b0 * SK.TERM_BLOCK)
        want = SK.decode_blocks(part, offs, bp[b0:b1 + 1], 0, b1 - b0, n - b0 * SK.TERM_BLOCK)
        if flip is None:
            assert got is not None and want[-1]
        if got is not None:
            assert want[-1] and all(a.dtype == b.dtype and a.tolist() == b.tolist() for a, b in zip(got[:-1], want[:-1]))


# --- docs.bin format 9: every integer column at the narrowest width its values need ----------

def _docs_segment(tmp_path, page_ids, lengths, titles=None, aliases=None, inlinks=None):
    """A one-term segment whose docs.bin holds ``page_ids``, ``lengths`` (uint32[n, 9]), ..."""
    n = len(page_ids)
    tmp_path.mkdir(parents=True, exist_ok=True)
    w = TermWriter(tmp_path, "bitpacked")
    w.add_many(["t"], np.asarray([0, n]), np.arange(n, dtype=np.int32), np.ones(n, np.uint16), np.ones(n, np.uint32))
    w.close()
    titles = titles if titles is not None else [f"d{i}" for i in range(n)]
    write_docs(tmp_path / "docs.bin", DocTable(np.asarray(page_ids, np.int64), titles, np.asarray(lengths, np.uint32),
                                               aliases or [], None if inlinks is None else np.asarray(inlinks, np.uint32)))
    return SegmentReader(tmp_path)


@pytest.mark.parametrize("top, dtype", [(0, np.uint8), (255, np.uint8), (256, np.uint16), (2**32 - 1, np.uint32),
                                        (2**32, np.uint64), (-1, np.int64)])
def test_page_ids_and_inlinks_at_the_narrowest_width(tmp_path, top, dtype):
    """Page ids (and in-links) are stored at the narrowest unsigned width of their largest value
    (int64 when one is negative) and read back as the same numbers."""
    pids = [0, 7, top] if top >= 0 else [5, top, 2**40]
    links = [0, 3, max(top, 0) % 2**32]
    r = _docs_segment(tmp_path, pids, np.ones((3, 9), np.uint32), inlinks=links)
    assert r.page_ids.dtype == dtype and r.page_ids.tolist() == pids
    assert [r.page_id(d) for d in range(3)] == pids
    assert r.inlinks.tolist() == links and r.inlinks.dtype == (np.uint8 if max(links) < 256 else
                                                               np.uint16 if max(links) < 2**16 else np.uint32)


@pytest.mark.parametrize("longest, dtype", [(1, np.uint16), (65535, np.uint16), (65536, np.uint32), (2**32 - 1, np.uint32)])
def test_field_lengths_uint16_unless_one_is_longer(tmp_path, longest, dtype):
    """Field lengths are uint16 for the whole index unless one is over 65535 (then uint32): two
    specialisations of the scoring kernels, not one per field."""
    rng = np.random.default_rng(longest % 1000)
    lengths = rng.integers(1, 300, (70, 9)).astype(np.uint32)
    lengths[33, 4] = longest
    r = _docs_segment(tmp_path, np.arange(70), lengths)
    assert r.field_lengths.dtype == dtype and r.length_fields == list(range(9))
    assert r.field_lengths.flags.f_contiguous and np.array_equal(r.field_lengths, lengths)


def test_all_zero_fields_are_left_out_and_read_as_zeros(tmp_path):
    """A field whose every length is 0 (7 of the 9 in plain text) has no row in docs.bin; the
    reader gives the same [n, 9] table, zeros in its column, once per reader; a segment whose
    every length is 0, or that has no documents, stores none."""
    rng = np.random.default_rng(3)
    lengths = np.zeros((100, 9), np.uint32)
    lengths[:, 0] = rng.integers(1, 9, 100)
    lengths[:, 4] = rng.integers(0, 5000, 100)
    lengths[17, 8] = 1                           # one document's: the field is kept
    r = _docs_segment(tmp_path / "a", np.arange(100), lengths)
    assert r.length_fields == [0, 4, 8] and r.docs_c.shape("field_lengths_by_field") == (3, 100)
    fl = r.field_lengths
    assert np.array_equal(fl, lengths) and fl.dtype == np.uint16 and fl.flags.f_contiguous
    assert not fl.flags.writeable and r.field_lengths is fl
    for f in range(9):                           # the kernels' access: a column of the view
        assert np.array_equal(fl[:, f], lengths[:, f])
    sparse = SegmentReader(tmp_path / "a", sparse=True)
    assert np.array_equal(sparse.field_lengths, lengths)
    r0 = _docs_segment(tmp_path / "b", np.arange(5), np.zeros((5, 9), np.uint32))
    assert r0.length_fields == [] and np.array_equal(r0.field_lengths, np.zeros((5, 9)))
    (tmp_path / "c").mkdir()
    write_docs(tmp_path / "c" / "docs.bin", DocTable(np.zeros(0, np.int64), [], np.zeros((0, 9), np.uint32)))
    from wikisearch.index.container import Container
    c = Container(tmp_path / "c" / "docs.bin", b"DOCS")
    assert c.meta["length_fields"] == [] and c["field_lengths_by_field"].shape == (0, 0)


@pytest.mark.parametrize("n, pad", [(5, 1), (300, 5), (3000, 25)])
def test_titles_and_redirects_with_narrow_offsets(tmp_path, n, pad):
    """Title and redirect-title offsets at the width of their blob's size (uint8 to uint32 here),
    the per-document redirect offsets at that of the redirect count: titles, redirects, the
    redirect table and a redirect's title as with full-width offsets."""
    titles = [f"{i:0{pad}d}é" for i in range(n)]
    aliases = [[f"r{i}-{j}" for j in range(i % 3)] for i in range(n)]
    r = _docs_segment(tmp_path, np.arange(n), np.ones((n, 9), np.uint32), titles, aliases)
    d = r.docs_c
    for name, top in (("title_offsets", len(d["title_codes"])), ("alias_offsets", sum(map(len, aliases))),
                      ("alias_title_offsets", len(d["alias_blob"]))):
        assert d[name].dtype == (np.uint8 if top < 256 else np.uint16 if top < 65536 else np.uint32), name
        assert int(d[name][-1]) == top
    assert r.titles() == titles and [r.title(i) for i in range(n)] == titles
    assert [r.redirects(i) for i in range(n)] == aliases
    alias_doc, alias_titles = r.alias_table()
    flat = [(i, a) for i, lst in enumerate(aliases) for a in lst]
    assert list(zip(alias_doc.tolist(), alias_titles)) == flat
    assert [r.alias_title(a) for a in range(len(flat))] == [a for _i, a in flat]


def test_columns_of_zeros_are_left_out_and_read_as_zeros(tmp_path):
    """Format 10: an index without redirects or in-links (a plain-text build) has no
    ``alias_offsets``, ``alias_block_crc`` or ``inlinks`` in docs.bin (``zero_columns``); they
    read as zeros, and the redirects as none."""
    n = 130
    r = _docs_segment(tmp_path / "plain", np.arange(n), np.ones((n, 9), np.uint32))
    d = r.docs_c
    assert d.meta["zero_columns"] == ["alias_block_crc", "alias_offsets", "inlinks"]
    assert not {"alias_offsets", "alias_block_crc", "inlinks"} & set(d.specs)
    assert r.inlinks.tolist() == [0] * n and r.column("alias_offsets").tolist() == [0] * (n + 1)
    assert [r.redirects(i) for i in range(n)] == [[]] * n and r.alias_table()[1] == []
    assert r.titles() == [f"d{i}" for i in range(n)]
    s = _docs_segment(tmp_path / "links", np.arange(n), np.ones((n, 9), np.uint32), inlinks=[1] * n)
    assert s.docs_c.meta["zero_columns"] == ["alias_block_crc", "alias_offsets"] and s.inlinks.tolist() == [1] * n
