"""FSST-coded strings (index/fsst.py, the FSST kernels of index/_strings_kernels.py; docs.bin's
titles since format 10): the kernels against the slow coder of tests/_oracle.py, round trips,
lookups, a deterministic table."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from wikisearch.index import _strings_kernels as SK
from wikisearch.index.fsst import ESCAPE, FsstTable, pack, sample_stride
from tests import _oracle

_bytes = st.one_of(st.binary(max_size=40), st.binary(min_size=200, max_size=600),
                   st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")))


def _table_of(strings: list[bytes]) -> FsstTable:
    off = np.zeros(len(strings) + 1, np.int64)
    off[1:] = np.cumsum([len(s) for s in strings])
    return FsstTable.train(off, np.frombuffer(b"".join(strings), np.uint8))


def _packed(strings: list[bytes]):
    off = np.zeros(len(strings) + 1, np.int64)
    off[1:] = np.cumsum([len(s) for s in strings])
    return off, np.frombuffer(b"".join(strings), np.uint8)


def _symbols(t: FsstTable) -> list[bytes]:
    return [t.sym[c, :t.sym_len[c]].tobytes() for c in range(len(t))]


@settings(max_examples=60, deadline=None)
@given(st.lists(_bytes, max_size=40), st.lists(_bytes, max_size=20))
def test_codes_are_the_oracles_and_decode_back(train, strings):
    """Trained on some strings, coding others (any bytes: empty, long, non-ASCII, every byte
    value): the kernel's codes are the definition's, and each decodes back, alone or all."""
    t = _table_of(train)
    syms = _symbols(t)
    assert len(syms) <= 255 and all(1 <= len(s) <= 8 for s in syms) and len(set(syms)) == len(syms)
    for batch in (strings, train):
        off, blob = _packed(batch)
        codes, co = t.encode(off, blob)
        coded = [codes[co[i]:co[i + 1]].tobytes() for i in range(len(batch))]
        assert coded == _oracle.fsst_encode(batch, syms)
        assert [t.decode_one(c) for c in coded] == batch
        assert [_oracle.fsst_decode(c, syms) for c in coded] == batch
        d_off, d_blob = t.decode(co, codes)
        assert np.array_equal(d_off, off) and d_blob.tobytes() == blob.tobytes()


def test_every_byte_value_and_escapes():
    """All 256 byte values, in strings the table was and was not trained on; a string of only
    escaped bytes codes to twice its length."""
    every = bytes(range(256))
    t = _table_of([b"abcabcabc", b"abcab"] * 10)
    off, blob = _packed([every, b"", b"\xff\xff", b"abc" * 50])
    codes, co = t.encode(off, blob)
    assert [t.decode_one(codes[co[i]:co[i + 1]].tobytes()) for i in range(4)] == [every, b"", b"\xff\xff", b"abc" * 50]
    assert co[3] - co[2] == 4 and codes[co[2]] == ESCAPE          # 0xff is no symbol here: escaped
    assert co[4] - co[3] < 50                                      # "abcabcab" symbols: 3 bytes a code or more
    empty = FsstTable(np.zeros((0, 8), np.uint8), np.zeros(0, np.uint8))
    codes, co = empty.encode(off, blob)
    assert len(codes) == 2 * len(blob) and empty.decode(co, codes)[1].tobytes() == blob.tobytes()


def test_training_is_deterministic_and_samples_every_stride():
    titles = [f"Title {i % 97} (copy {i % 13})".encode() for i in range(5000)]
    a, b = _table_of(titles), _table_of(list(titles))
    assert np.array_equal(a.sym, b.sym) and np.array_equal(a.sym_len, b.sym_len)
    off, blob = _packed(titles)
    codes, _co = a.encode(off, blob)
    assert len(codes) < 0.4 * len(blob)
    # an explicit sample of the default stride's ids gives the same table (write_docs_columns)
    ids = np.arange(0, 5000, sample_stride(5000))
    sub = [titles[i] for i in ids.tolist()]
    c = FsstTable.train(*_packed(sub), np.arange(len(sub)))
    assert np.array_equal(a.sym, c.sym) and np.array_equal(a.sym_len, c.sym_len)
    assert sample_stride(100) == 1 and sample_stride(10 ** 6) == 10 ** 6 // 16384


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=60), st.lists(st.text(max_size=12), max_size=10))
def test_find_many_coded_is_a_dict_lookup(titles, keys):
    """The exact-title lookup over coded strings (a binary search comparing while decoding)
    finds an id of an equal string, -1 for a key no string equals; compare_coded
    orders as bytes do."""
    enc = [s.encode("utf-8", "surrogatepass") for s in titles]
    t = _table_of(enc)
    off, blob = _packed(enc)
    codes, co = t.encode(off, blob)
    order = np.asarray(sorted(range(len(enc)), key=lambda i: enc[i]), np.int64)
    queries = [k.encode("utf-8", "surrogatepass") for k in keys] + enc[:5]
    k_off, k_blob = _packed(queries)
    found = t.find_many(codes, co, order, k_blob, k_off).tolist()
    for q, f in zip(queries, found):
        assert (f == -1) if q not in enc else enc[f] == q
    for i in range(len(enc)):
        for q in queries[:6]:
            got = SK.compare_coded(codes, np.int64(co[i]), np.int64(co[i + 1]), t.sym, t.sym_len,
                                   np.frombuffer(q, np.uint8), np.int64(0), np.int64(len(q)))
            assert got == (enc[i] > q) - (enc[i] < q)


def test_a_bad_table_is_refused():
    with pytest.raises(ValueError):
        FsstTable(np.zeros((2, 8), np.uint8), np.array([1, 0], np.uint8))
    with pytest.raises(ValueError):
        FsstTable(np.zeros((256, 8), np.uint8), np.ones(256, np.uint8))


def test_format_example():
    """docs/FORMAT.md's FSST example, byte for byte."""
    t = FsstTable.train(*pack(["Berlin", "Bern", "Berlin Wall"]))
    assert _symbols(t) == [b"all", b"Bern", b"Berlin", b"Berlin W"] and t.sym_len.tolist() == [3, 4, 6, 8]
    codes, off = t.encode(*pack(["Berlin", "Bern", "Berlin Wall", "Bonn"]))
    assert off.tolist() == [0, 1, 2, 4, 12]
    assert codes.tobytes().hex(" ") == "02 01 03 00 ff 42 ff 6f ff 6e ff 6e"


def test_doc_example():
    t = FsstTable.train(*pack(["Berlin (copy 2)", "Bern (copy 2)", "Berlin (copy 3)"]))
    codes, off = t.encode(*pack(["Berlin (copy 2)", "Paris"]))
    assert t.decode_one(codes[off[0]:off[1]].tobytes()) == b"Berlin (copy 2)"
