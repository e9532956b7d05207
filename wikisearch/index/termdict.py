"""termdict: the term dictionary (``terms.bin``) -- written, looked up, walked, merged.

The only module that knows the dictionary's layout (docs/FORMAT.md, "terms.bin"): sorted terms
front-coded in blocks of ``TERM_BLOCK`` (``_termdict_kernels``), each entry's document frequency
and postings length; per block its byte offset, the offset of its first list in ``postings.bin``
and a CRC-32 of its lists' bytes. Looked up in place (mmap) by binary search over the blocks'
first terms, then one block decoded; a *sparse* dictionary (the merge's) reads with pread
instead, so that walking every block does not keep its pages resident.

>>> d = TermDictionary(Container("idx/terms.bin", b"TERM"))        # doctest: +SKIP
>>> d.lookup("berlin")                                              # doctest: +SKIP
TermEntry(ordinal=1234, df=560, start=98304, length=912)
"""
from __future__ import annotations

from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.fileio import crc32, unpack_strings
from wikisearch.index import _termdict_kernels as TK
from wikisearch.index.codec import varbyte_decode
from wikisearch.index.container import Container, write_container
from wikisearch.jit import interpreted

TERM_BLOCK = TK.TERM_BLOCK
#: The kernels run as Python here (``jit.interpreted``): writing and walking the blocks take the
#: plain-Python paths below (the same arrays, many times faster than the kernels as Python).
_PYTHON = interpreted(TK.__name__)
KIND = b"TERM"


class TermEntry(NamedTuple):
    """A term's dictionary entry: its ordinal, document frequency and postings byte range."""

    ordinal: int
    df: int
    start: int
    length: int


def _key(term: str) -> np.ndarray:
    return np.frombuffer(term.encode("utf-8", "surrogatepass"), np.uint8)


class TermDictionary:
    """``terms.bin`` read back (see the module doc); safe to share between threads."""

    def __init__(self, container: Container, *, sparse: bool = False):
        self.c = container
        self.path = container.path
        self.sparse = sparse
        self.n_terms = int(container.meta["n_terms"])
        self._blob = None if sparse else container["blob"]
        # arrays read at random: checked whole (once) when the file was too large to check on open
        self._offsets = np.asarray(container.checked("block_offsets")).view(np.int64)
        self._post = np.asarray(container.checked("block_post_offsets")).view(np.int64)
        self._crc = container.checked("block_crc")
        self._dict_crc = None                # read when a block is first checked
        self._blob_size = container.shape("blob")[0]
        # dictionary blocks checked so far (all, when the whole file was checked on open)
        # (a bytearray, and a count of the blocks checked: every lookup asks, in Python)
        self._all_ok = bool(container.verified_all or sparse)
        self._block_ok = bytearray(b"\x01" if self._all_ok else b"\x00") * len(self._crc)
        self._n_ok = len(self._crc) if self._all_ok else 0
        self._ok_flags = np.frombuffer(self._block_ok, np.uint8)   # (the same bytes, for seek_many)
        self._cache: dict[int, tuple] = {}    # ordinal -> (term, TermEntry)
        n_blocks = -(-self.n_terms // TERM_BLOCK)
        for found, expected in ((self._offsets.shape[0], n_blocks + 1), (self._post.shape[0], n_blocks + 1),
                                (self._crc.shape[0], n_blocks), (container.shape("block_dict_crc")[0], n_blocks)):
            if found != expected:
                raise CorruptIndexError(self.path, "inconsistent array sizes", expected=expected, found=found)
        if int(self._offsets[-1]) != self._blob_size:
            raise self._damaged("blob size")

    @property
    def n_blocks(self) -> int:
        return len(self._crc)

    @property
    def postings_bytes(self) -> int:
        """Bytes of postings the dictionary covers (the size ``postings.bin`` must have)."""
        return int(self._post[-1])

    def _damaged(self, what: str) -> CorruptIndexError:
        return CorruptIndexError(self.path, f"term dictionary is damaged ({what})")

    # --- lookups (mapped) ----------------------------------------------------------------------
    def check_blocks(self, b0: int, b1: int) -> None:
        """Raise CorruptIndexError unless dictionary blocks ``[b0, b1)`` (clipped to the
        dictionary) have their checksums; each block is checked once per reader."""
        ok = self._block_ok
        for b in range(max(0, b0), min(len(ok), b1)):
            if not ok[b]:
                self._check_block(b)

    def _dict_crcs(self) -> np.ndarray:
        """The dictionary blocks' CRC-32s (read on first need)."""
        if self._dict_crc is None:
            self._dict_crc = self.c.checked("block_dict_crc")
        return self._dict_crc

    def _check_block(self, b: int) -> None:
        a, z = int(self._offsets[b]), int(self._offsets[b + 1])
        crcs = self._dict_crcs()
        if not 0 <= a <= z <= self._blob_size:
            raise self._damaged(f"block {b} offsets")
        data = self._mapped()[a:z] if self._blob is not None else self.c.read("blob", a, z)
        crc = crc32(data)               # (a slice of a 1-d uint8 array: one contiguous buffer)
        if crc != int(crcs[b]):
            raise CorruptIndexError(self.path, f"checksum mismatch in dictionary block {b} (terms "
                                    f"{b * TERM_BLOCK}-{(b + 1) * TERM_BLOCK - 1})",
                                    expected=f"{int(crcs[b]):08x}", found=f"{crc:08x}")
        self._block_ok[b] = 1
        self._n_ok += 1

    def _check_around(self, ordinal: int) -> None:
        """A seek that ended at ``ordinal`` compared the key with the first terms of the block
        it scanned and of the next one, and scanned that block: the block before ``ordinal``'s,
        its own and the next hold every byte it read, so checking them proves its answer."""
        b = min(ordinal, self.n_terms - 1) // TERM_BLOCK if self.n_terms else 0
        self.check_blocks(b - 1, b + 2)

    def lookup(self, term: str) -> TermEntry | None:
        """The term's entry, or None if it is not in the dictionary."""
        return self.lookup_many([term])[0]

    def lookup_many(self, terms: list[str]) -> list[TermEntry | None]:
        """:meth:`lookup` of each of ``terms``: one kernel call for all of them (a query's new
        terms), each answer proven by the checksums of the blocks its search read (checked by the
        kernel, once per reader)."""
        if not terms:
            return []
        keys = [t.encode("utf-8", "surrogatepass") for t in terms]
        ends = np.fromiter(accumulate(map(len, keys)), np.int64, len(keys))
        found = np.empty((5, len(keys)), np.int64)
        bad, marked = TK.seek_many(self._mapped(), self._offsets, self._post, self.n_terms,
                                   np.frombuffer(b"".join(keys), np.uint8), ends, found, self._dict_crcs(),
                                   self._ok_flags)
        self._n_ok += marked
        if bad <= -2:                        # a block without its checksum: the error as
            self._check_block(-2 - bad)      # _check_block says it (zlib's CRC agrees: tested)
            raise self._damaged(f"block {-2 - bad} checksum")   # (not reached)
        if bad >= 0:
            raise self._damaged(f"looking up {terms[bad]!r}")
        ords, _lower, df, start, plen = found.tolist()
        out: list[TermEntry | None] = []
        cache = self._cache
        for term, i, d, s, n in zip(terms, ords, df, start, plen):
            if i < 0:
                out.append(None)
                continue
            rec = cache.get(i)
            if rec is None:                  # what the seek read: entry(o) need not decode the block
                if len(cache) > 65536:
                    cache = self._cache = {}
                rec = cache[i] = (term, TermEntry(i, d, s, n))
            out.append(rec[1])
        return out

    def _check_all_ok(self) -> bool:
        # (the count may run ahead when threads check a block at once: the bytes say for sure)
        self._all_ok = self._n_ok >= len(self._block_ok) and 0 not in self._block_ok
        return self._all_ok

    def lower_bound(self, term: str) -> int:
        """Ordinal of the first term >= ``term`` (n_terms if none)."""
        o, *_rest, status = TK.seek(self._mapped(), self._offsets, self._post, self.n_terms, _key(term), False)
        if status:
            raise self._damaged(f"seeking {term!r}")
        self._check_around(int(o))
        return int(o)

    def entry(self, ordinal: int) -> TermEntry:
        rec = self._cache.get(ordinal)       # (the searcher asks for a term's entry several times)
        return (rec or self._record(ordinal))[1]

    def term(self, ordinal: int) -> str:
        return self._record(ordinal)[0]

    def _record(self, ordinal: int) -> tuple:
        rec = self._cache.get(ordinal)
        if rec is None:
            if not 0 <= ordinal < self.n_terms:
                raise IndexError(f"term ordinal {ordinal} out of range")
            b = ordinal // TERM_BLOCK
            tb, to, dfs, starts, lens = self.read_blocks(b, b + 1)
            o0 = b * TERM_BLOCK
            block = {o0 + j: (term, TermEntry(o0 + j, df, st, ln)) for j, (term, df, st, ln) in
                     enumerate(zip(unpack_strings(to, tb), dfs.tolist(), starts.tolist(), lens.tolist()))}
            if len(self._cache) > 65536:     # bounded: a long-running searcher stays small
                self._cache = {}
            self._cache.update(block)
            rec = block[ordinal]
        return rec

    def iter_terms(self, batch_blocks: int = 256):
        """Yield ``(term, TermEntry)`` in order, decoding ``batch_blocks`` blocks at a time."""
        ordinal = 0
        for b0 in range(0, self.n_blocks, batch_blocks):
            tb, to, dfs, starts, lens = self.read_blocks(b0, min(self.n_blocks, b0 + batch_blocks))
            for j, term in enumerate(unpack_strings(to, tb)):
                yield term, TermEntry(ordinal, int(dfs[j]), int(starts[j]), int(lens[j]))
                ordinal += 1

    # --- postings checksums ----------------------------------------------------------------------
    def block_of(self, ordinal: int) -> int:
        return ordinal // TERM_BLOCK

    def check_postings(self, b: int, data, path) -> None:
        """Raise CorruptIndexError (naming ``path``, the postings file) unless ``data``, the
        postings of block ``b``, has its checksum."""
        crc = crc32(data)
        if crc != int(self._crc[b]):
            raise CorruptIndexError(path, f"checksum mismatch in the postings of terms "
                                    f"{b * TERM_BLOCK}-{(b + 1) * TERM_BLOCK - 1}",
                                    expected=f"{int(self._crc[b]):08x}", found=f"{crc:08x}")

    def block_postings_range(self, b: int) -> tuple[int, int]:
        return int(self._post[b]), int(self._post[b + 1])

    # --- walking in blocks (the merge; pread when sparse) --------------------------------------
    def _mapped(self):
        if self._blob is None:
            raise RuntimeError("a sparse term dictionary is read with read_blocks, not looked up")
        return self._blob

    def read_blocks(self, b0: int, b1: int):
        """Every entry of blocks ``[b0, b1)``: ``(term_bytes, term_offsets, dfs, starts, lens)``."""
        self.check_blocks(b0, b1)
        lo = int(self._offsets[b0])
        blob = self._blob if self._blob is not None else self.c.read("blob", lo, int(self._offsets[b1]))
        offs = self._offsets[b0:b1 + 1] - (0 if self._blob is not None else lo)
        got = _decode_blocks_python(blob, offs, self._post[b0:b1 + 1], b1 - b0,
                                    self.n_terms - b0 * TERM_BLOCK) if _PYTHON else None
        tb, to, dfs, starts, lens, ok = got or TK.decode_blocks(blob, offs, self._post[b0:b1 + 1], 0, b1 - b0,
                                                                self.n_terms - b0 * TERM_BLOCK)
        if not ok:
            raise self._damaged(f"blocks {b0}-{b1}")
        return tb, to, dfs, starts, lens

    def first_terms(self) -> tuple[list[bytes], list[int]]:
        """Each block's first term (UTF-8) and the postings bytes of its lists."""
        blob = self._blob if self._blob is not None else self.c.read("blob", 0, int(self._offsets[-1]))
        tb, to, ok = TK.block_first_terms(blob, self._offsets)
        if not ok:
            raise self._damaged("block headers")
        raw, o = tb.tobytes(), to.tolist()
        return [raw[o[i]:o[i + 1]] for i in range(len(o) - 1)], np.diff(self._post).tolist()

    def ordinal_at_or_after(self, key: bytes | None, default: int) -> int:
        """Ordinal of the first term >= ``key`` (``default`` for no key), by pread: a binary
        search over the blocks' first terms, then one block decoded."""
        if key is None:
            return default
        lo, hi = 0, self.n_blocks
        while lo < hi:                      # first block whose first term is > key
            mid = (lo + hi) // 2
            if self._first_term(mid) <= key:
                lo = mid + 1
            else:
                hi = mid
        b = lo - 1
        if b < 0:
            return 0
        tb, to, *_rest = self.read_blocks(b, b + 1)
        raw, o = tb.tobytes(), to.tolist()
        for j in range(len(o) - 1):
            if raw[o[j]:o[j + 1]] >= key:
                return b * TERM_BLOCK + j
        return min(self.n_terms, b * TERM_BLOCK + len(o) - 1)

    def _first_term(self, b: int) -> bytes:
        """The first term of block ``b`` (stored whole: its shared prefix is 0)."""
        a, end = int(self._offsets[b]), int(self._offsets[b + 1])
        try:                                # PrefixLen (0), SuffixLen
            (shared, length), pos = varbyte_decode(self.c.read("blob", a, min(end, a + 20)), 2)
        except CorruptIndexError:
            raise self._damaged(f"block {b}") from None
        if shared != 0 or a + pos + int(length) > end:
            raise self._damaged(f"block {b}")
        return self.c.read("blob", a + pos, a + pos + int(length)).tobytes()


# --- writing ------------------------------------------------------------------------------------
def write_dictionary(path: Path, term_bytes: np.ndarray, term_lengths: np.ndarray, dfs: np.ndarray,
                     post_lens: np.ndarray, post_paths: list[Path], codec_name: str) -> None:
    """Front-code sorted terms (UTF-8 ``term_bytes`` cut by ``term_lengths``) with their document
    frequencies and postings lengths into ``terms.bin``; the postings, ``post_paths`` joined end to
    end, are read once for the blocks' checksums."""
    term_offsets = np.zeros(len(term_lengths) + 1, np.int64)
    np.cumsum(term_lengths, out=term_offsets[1:])
    encode = _encode_dictionary_python if _PYTHON else TK.encode_dictionary
    blob, block_offsets, block_post = encode(term_bytes, term_offsets, np.asarray(dfs, np.int64),
                                             np.asarray(post_lens, np.int64))
    n_terms = len(dfs)
    write_container(path, KIND, {
        "blob": blob, "block_offsets": block_offsets.astype(np.uint64),
        "block_post_offsets": block_post.astype(np.uint64), "block_crc": _range_crcs(post_paths, block_post),
        "block_dict_crc": _block_crcs(blob, block_offsets),
    }, meta={"n_terms": n_terms, "codec": codec_name, "term_block": TERM_BLOCK,
             "max_term_bytes": int(np.max(term_lengths)) if n_terms else 0})


def _vb(out: bytearray, v: int) -> None:
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _encode_dictionary_python(term_bytes, term_offsets, dfs, post_lens):
    """``_termdict_kernels.encode_dictionary`` in plain Python, for where the kernels run as
    Python: the same blob and offsets (tests/test_segment.py compares the two)."""
    raw = memoryview(np.ascontiguousarray(term_bytes, np.uint8)).cast("B")
    offs, dfs, post_lens = (np.asarray(a).tolist() for a in (term_offsets, dfs, post_lens))
    n = len(dfs)
    n_blocks = (n + TERM_BLOCK - 1) // TERM_BLOCK
    out = bytearray()
    block_offsets = np.zeros(n_blocks + 1, np.int64)
    block_post = np.zeros(n_blocks + 1, np.int64)
    post = 0
    previous = b""
    for i in range(n):
        term = bytes(raw[offs[i]:offs[i + 1]])
        shared = 0
        if i % TERM_BLOCK == 0:
            block_offsets[i // TERM_BLOCK] = len(out)
            block_post[i // TERM_BLOCK] = post
        else:
            limit = min(len(term), len(previous))
            while shared < limit and term[shared] == previous[shared]:
                shared += 1
        _vb(out, shared)
        _vb(out, len(term) - shared)
        out += term[shared:]
        _vb(out, dfs[i])
        _vb(out, post_lens[i])
        post += post_lens[i]
        previous = term
    block_offsets[n_blocks] = len(out)
    block_post[n_blocks] = post
    return np.frombuffer(out, np.uint8), block_offsets, block_post


def _decode_blocks_python(blob, block_offsets, block_post, n_blocks: int, n_terms: int):
    """``_termdict_kernels.decode_blocks(blob, block_offsets, block_post, 0, n_blocks, n_terms)``
    in plain Python for well-formed blocks; None where anything is off (the kernel then says
    what): the same arrays, for where the kernels run as Python."""
    raw = memoryview(np.ascontiguousarray(blob, np.uint8)).cast("B")
    bounds, posts = np.asarray(block_offsets).tolist(), np.asarray(block_post).tolist()
    count = max(0, min(n_blocks * TERM_BLOCK, n_terms))
    terms: list[bytes] = []
    dfs: list[int] = []
    starts: list[int] = []
    lens: list[int] = []
    for b in range(n_blocks):
        pos, end, post = bounds[b], bounds[b + 1], posts[b]
        if not 0 <= pos <= end <= len(raw):
            return None
        previous = b""
        while pos < end and len(terms) < count:
            fields = []
            for k in range(4):             # PrefixLen, SuffixLen, (Suffix), DocFreq, PostingsLen
                v = shift = 0
                while True:
                    if pos >= end or shift > 56:
                        return None
                    byte = raw[pos]
                    pos += 1
                    v |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
                fields.append(v)
                if k == 1:                 # the suffix follows its length
                    shared, suffix = fields
                    if shared > len(previous) or shared + suffix > 1024 or pos + suffix > end:
                        return None
                    previous = previous[:shared] + bytes(raw[pos:pos + suffix])
                    pos += suffix
            terms.append(previous)
            dfs.append(fields[2])
            starts.append(post)
            lens.append(fields[3])
            post += fields[3]
    if len(terms) != count:
        return None
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum([len(t) for t in terms], out=offsets[1:])
    return (np.frombuffer(b"".join(terms), np.uint8).copy(), offsets, np.asarray(dfs, np.int64).reshape(-1),
            np.asarray(starts, np.int64).reshape(-1), np.asarray(lens, np.int64).reshape(-1), True)


def _block_crcs(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """CRC-32 of each dictionary block's bytes ``blob[offsets[b]:offsets[b+1]]``."""
    raw, o = memoryview(np.ascontiguousarray(blob)).cast("B"), offsets.tolist()
    return np.fromiter((crc32(raw[o[b]:o[b + 1]]) for b in range(len(o) - 1)), np.uint32,
                       count=max(0, len(o) - 1))


def _range_crcs(paths: list[Path], offsets: np.ndarray) -> np.ndarray:
    """CRC-32 of each byte range ``[offsets[i], offsets[i+1])`` of the files joined end to end,
    read sequentially."""
    out = np.zeros(max(0, len(offsets) - 1), np.uint32)
    bounds = offsets.tolist()
    files = iter(paths)
    f = None
    try:
        for i in range(len(out)):
            need = bounds[i + 1] - bounds[i]
            crc = 0
            while need > 0:
                if f is None:
                    f = open(next(files), "rb")
                chunk = f.read(need)
                if not chunk:
                    f.close()
                    f = None
                    continue
                crc = crc32(chunk, crc)
                need -= len(chunk)
            out[i] = crc
    finally:
        if f is not None:
            f.close()
    return out
