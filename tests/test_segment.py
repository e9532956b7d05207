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
