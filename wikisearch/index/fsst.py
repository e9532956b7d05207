"""fsst: strings compressed one by one, each decodable on its own (FSST: Boncz, Neumann, Leis,
"FSST: fast random access string compression", VLDB 2020), for docs.bin's titles (format 10).

A *symbol table* holds up to 255 symbols of 1-8 bytes. A string is coded as a run of codes: code
c < 255 stands for symbol c, code 255 (``ESCAPE``) for the literal byte after it. The encoder takes,
at each position, the longest symbol that matches (else escapes the byte); decoding is a table
lookup per code, so one string is decoded without the others (a hit's title), and a coded string
is compared with a key while it is decoded (the exact-title lookup's binary search).

The table is trained from a sample of the strings (every ``stride``-th, at most about
``SAMPLE_STRINGS``), in ``ROUNDS`` rounds as in the paper: code the sample with the table so far,
count each symbol or escaped byte it emits and each pair emitted one after the other, and keep the
255 candidates (the units and the pairs joined, cut to 8 bytes) of highest gain (count x bytes;
ties by length, then bytes). Everything is integer arithmetic over the sample: the same strings
give the same table and the same codes.

>>> t = FsstTable.train(*pack(["Berlin (copy 2)", "Bern (copy 2)", "Berlin (copy 3)"]))
>>> codes, off = t.encode(*pack(["Berlin (copy 2)", "Paris"]))
>>> [t.decode_one(codes[off[i]:off[i + 1]].tobytes()).decode() for i in range(2)]
['Berlin (copy 2)', 'Paris']
>>> int(off[1]) < len("Berlin (copy 2)")
True
"""
from __future__ import annotations

import numpy as np

from wikisearch.fileio import pack_strings
from wikisearch.index import _strings_kernels as SK

ESCAPE = 255
MAX_SYMBOLS = 255
SYMBOL_BYTES = 8
ROUNDS = 5
#: At most about this many strings train a table (every ``stride``-th, stride = n // this).
SAMPLE_STRINGS = 16384


def pack(items) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets, blob) of strings (for the examples and tests)."""
    off, blob = pack_strings(items)
    return off.astype(np.int64), blob


def sample_stride(n: int) -> int:
    """The training sample is strings 0, stride, 2 stride, ... of ``n``."""
    return max(1, n // SAMPLE_STRINGS)


def _index(sym: np.ndarray, sym_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first int64[257], cand int64[S]): the codes by first byte, longest symbol first (ties: the
    lower code)."""
    s = len(sym_len)
    if s == 0:
        return np.zeros(257, np.int64), np.zeros(0, np.int64)
    codes = np.arange(s, dtype=np.int64)
    cand = np.lexsort((codes, -sym_len.astype(np.int64), sym[:, 0].astype(np.int64))).astype(np.int64)
    first = np.searchsorted(sym[cand, 0].astype(np.int64), np.arange(257), side="left").astype(np.int64)
    return first, cand


def _table(values: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sym uint8[S, 8], sym_len uint8[S]) of symbols packed little-endian into uint64 values."""
    sym = np.ascontiguousarray(values.astype("<u8")).view(np.uint8).reshape(-1, SYMBOL_BYTES)
    return np.ascontiguousarray(sym), lengths.astype(np.uint8)


def _mask(lengths: np.ndarray) -> np.ndarray:
    """uint64 masks of the low ``lengths`` bytes (1..8)."""
    lengths = lengths.astype(np.uint64)
    full = lengths >= 8
    shift = np.where(full, 0, lengths * np.uint64(8)).astype(np.uint64)
    return np.where(full, np.uint64(0xFFFFFFFFFFFFFFFF), (np.uint64(1) << shift) - np.uint64(1)).astype(np.uint64)


class FsstTable:
    """A symbol table (``sym`` uint8[S, 8] zero-padded, ``sym_len`` uint8[S], S <= 255)."""

    def __init__(self, sym, sym_len):
        self.sym = np.ascontiguousarray(np.asarray(sym, np.uint8).reshape(-1, SYMBOL_BYTES))
        self.sym_len = np.ascontiguousarray(np.asarray(sym_len, np.uint8))
        if len(self.sym) != len(self.sym_len) or len(self.sym_len) > MAX_SYMBOLS:
            raise ValueError(f"a symbol table of {len(self.sym)} symbols and {len(self.sym_len)} lengths")
        if len(self.sym_len) and (self.sym_len.min() < 1 or self.sym_len.max() > SYMBOL_BYTES):
            raise ValueError("a symbol of 0 or more than 8 bytes")
        self.first, self.cand = _index(self.sym, self.sym_len)
        self._py = None

    def __len__(self) -> int:
        return len(self.sym_len)

    @classmethod
    def train(cls, offsets, blob, sample=None) -> "FsstTable":
        """The table for strings ``blob[offsets[i]:offsets[i+1]]`` (``sample``: the ids to train
        on; default every :func:`sample_stride`-th)."""
        offsets = np.asarray(offsets, np.int64)
        blob = np.ascontiguousarray(blob, np.uint8)
        n = len(offsets) - 1
        if sample is None:
            sample = np.arange(0, max(n, 0), sample_stride(max(n, 0)), dtype=np.int64)
        sample = np.asarray(sample, np.int64)
        t = cls(np.zeros((0, SYMBOL_BYTES), np.uint8), np.zeros(0, np.uint8))
        for _ in range(ROUNDS):
            c1, c2 = SK.fsst_count(blob, offsets, sample, t.sym, t.sym_len, t.first, t.cand)
            t = cls(*_choose(t, c1, c2))
        return t

    def encode(self, offsets, blob) -> tuple[np.ndarray, np.ndarray]:
        """(codes uint8[], offsets int64[n + 1]) of the strings."""
        return SK.fsst_encode(np.ascontiguousarray(blob, np.uint8), np.asarray(offsets),
                              self.sym, self.sym_len, self.first, self.cand)

    def decode(self, offsets, codes) -> tuple[np.ndarray, np.ndarray]:
        """(offsets int64[n + 1], blob uint8[]) of the coded strings ``codes[offsets[i]:offsets[i+1]]``."""
        blob, off = SK.fsst_decode(np.asarray(codes), np.asarray(offsets), self.sym, self.sym_len)
        return off, blob

    def decode_one(self, codes: bytes) -> bytes:
        """The bytes of one coded string (Python: a hit's title, without a kernel call)."""
        if self._py is None:
            self._py = [self.sym[c, :self.sym_len[c]].tobytes() for c in range(len(self.sym_len))]
        py = self._py
        if ESCAPE not in codes:
            return b"".join([py[c] for c in codes])
        out, i, n = [], 0, len(codes)
        while i < n:
            c = codes[i]
            if c == ESCAPE:
                out.append(codes[i + 1:i + 2])
                i += 2
            else:
                out.append(py[c])
                i += 1
        return b"".join(out)

    def find_many(self, codes, offsets, order, keys, key_offsets) -> np.ndarray:
        """``_strings_kernels.find_many`` over the coded strings."""
        return SK.find_many_coded(codes, offsets, self.sym, self.sym_len, order, keys, key_offsets)


def _choose(t: FsstTable, c1: np.ndarray, c2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The next round's table from the counts of coding the sample with ``t``."""
    s = len(t)
    vals = np.zeros(512, np.uint64)
    lens = np.zeros(512, np.int64)
    if s:
        vals[:s] = np.ascontiguousarray(t.sym).view("<u8").reshape(-1)
        lens[:s] = t.sym_len
    vals[256:] = np.arange(256, dtype=np.uint64)
    lens[256:] = 1
    u = np.flatnonzero(c1)
    cv, cl, cg = [vals[u]], [lens[u]], [c1[u] * lens[u]]
    a, b = np.nonzero(c2)
    keep = lens[a] < SYMBOL_BYTES
    a, b = a[keep], b[keep]
    if len(a):
        la = lens[a].astype(np.uint64)
        joined = vals[a] | (vals[b] << (la * np.uint64(8)))
        jl = np.minimum(lens[a] + lens[b], SYMBOL_BYTES)
        cv.append(joined & _mask(jl))
        cl.append(jl)
        cg.append(c2[a, b] * jl)
    v, ln, g = np.concatenate(cv), np.concatenate(cl), np.concatenate(cg)
    if len(v) == 0:
        return np.zeros((0, SYMBOL_BYTES), np.uint8), np.zeros(0, np.uint8)
    order = np.lexsort((v, ln))                       # equal candidates next to each other
    v, ln, g = v[order], ln[order], g[order]
    starts = np.flatnonzero(np.concatenate([[True], (v[1:] != v[:-1]) | (ln[1:] != ln[:-1])]))
    v, ln, g = v[starts], ln[starts], np.add.reduceat(g, starts)
    best = np.lexsort((v, ln, -g))[:MAX_SYMBOLS]     # highest gain; ties: shorter, then smaller bytes
    best = best[np.lexsort((v[best], ln[best]))]      # the table in (length, bytes) order
    return _table(v[best], ln[best])
