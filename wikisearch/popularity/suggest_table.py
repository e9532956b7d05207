"""suggest_table: ``suggest.bin``, the title-suggestion key table, made by the build from docs.bin.

>>> info = write_suggest_table("idx/suggest.bin", "idx/docs.bin")     # doctest: +SKIP
>>> load_suggest_table(IndexReader("idx"))["suggest_doc"][:3]           # doctest: +SKIP

The table is exactly :func:`~wikisearch.popularity.suggest.suggest_arrays`'s (that function is
its slow oracle): every title and redirect title's key (``suggest.suggest_key``), sorted by UTF-8
bytes, equal keys in entry order (titles, then redirects, by docid), empty keys left out, with
each entry's docid and redirect number. Made without a Python object per title: the titles and
redirect titles are read from docs.bin a piece at a time, an ASCII title's key is folded by
vectorised numpy over the piece's bytes (byte classes derived from ``suggest_key`` itself), only
non-ASCII titles go through ``suggest_keys`` (the analyzer's ``normalize``), and the keys are
sorted by the strings' kernel and written a piece at a time. At full scale (18M titles and
redirects) this holds the keys (~0.4 GB), their offsets and the sort's three int64 arrays.

The block maxima of popularity (``suggest_block_max``) depend on the priors, so they are not
stored here: a Suggester computes them when it opens (one pass over the entries).
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from wikisearch.errors import CorruptIndexError
from wikisearch.index import _strings_kernels as SK
from wikisearch.index.container import Container, ContainerWriter
from wikisearch.index.fsst import FsstTable
from wikisearch.fileio import narrowest_uint
from wikisearch.index.segment import joined_offsets
from wikisearch.popularity.keys import suggest_key, suggest_keys

FILE = "suggest.bin"
KIND = b"SUGG"
#: The arrays of the table (``suggest.suggest_arrays``'s).
ARRAYS = ("suggest_offsets", "suggest_blob", "suggest_doc", "suggest_alias")
#: Bumped when the key rules change (``suggest.suggest_key``): an index whose table was made under
#: other rules (or another Unicode version, which ``normalize`` depends on) has it rebuilt at open.
KEY_RULES = 1
#: Titles or redirect titles read and folded at once (about 1.5 MB of bytes, and ~25 bytes of
#: numpy temporaries per byte).
PIECE = 1 << 16

_KEEP, _SEP, _DROP, _HIGH = 0, 1, 2, 3


def _byte_classes() -> tuple[np.ndarray, np.ndarray]:
    """(class, lower-cased byte) of every byte value: an ASCII character's part in a key, read
    off :func:`suggest_key` itself (a word break, dropped, or kept lower-cased); bytes >= 0x80
    belong to non-ASCII titles, folded in Python."""
    cls = np.full(256, _HIGH, np.uint8)
    low = np.arange(256, dtype=np.uint8)
    for c in range(128):
        key = suggest_key("a" + chr(c) + "b")
        if key == "a b":
            cls[c] = _SEP
        elif key == "ab":
            cls[c] = _DROP
        elif len(key) == 3 and key[0] == "a" and key[2] == "b" and key[1].isascii():
            cls[c], low[c] = _KEEP, ord(key[1])
        else:                          # not a one-byte rule: the Python path folds such titles
            cls[c] = _HIGH
    return cls, low


_CLS, _LOW = _byte_classes()


def fold_ascii(offsets: np.ndarray, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The keys of the ASCII strings of a packed table (``offsets`` int64[k + 1] from 0 into
    ``blob``): (lengths int64[k], keys blob) with -1 for a non-ASCII string (no bytes in the blob).
    Vectorised: word bytes lower-cased, a run of breaks between two words of one string one space,
    joins dropped, breaks at either end of a string dropped -- ``suggest_key`` of an ASCII text.

    >>> t = [b"U.S. Route 66", b"  --A--b  ", b"\\xc3\\xa9"]
    >>> o = np.cumsum([0] + [len(x) for x in t]); lens, keys = fold_ascii(o, np.frombuffer(b"".join(t), np.uint8))
    >>> lens.tolist(), keys.tobytes()
    ([11, 3, -1], b'us route 66a b')
    """
    k = len(offsets) - 1
    lens = np.diff(offsets)
    eid = np.repeat(np.arange(k, dtype=np.int32), lens)
    cls = _CLS[blob]
    high = np.zeros(k, np.bool_)
    high[eid[cls == _HIGH]] = True
    keep = (cls != _DROP) & ~high[eid]
    b, e, word = blob[keep], eid[keep], cls[keep] != _SEP
    ns = np.flatnonzero(word)                       # the words' bytes; breaks between them
    gap = (np.diff(ns) > 1) & (e[ns[1:]] == e[ns[:-1]])
    spaces = np.concatenate([[0], np.cumsum(gap)])
    out = np.full(len(ns) + int(spaces[-1]), 32, np.uint8)      # spaces where no word byte goes
    out[np.arange(len(ns)) + spaces] = _LOW[b[ns]]
    out_lens = np.bincount(e[ns], minlength=k).astype(np.int64)
    out_lens += np.bincount(e[ns[1:]][gap], minlength=k)
    out_lens[high] = -1
    return out_lens, out


def _scatter(dst: np.ndarray, starts: np.ndarray, lengths: np.ndarray, src: np.ndarray) -> None:
    """Copy ``src`` (strings of ``lengths`` back to back) to ``dst`` at ``starts``."""
    if len(src):
        at = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        dst[np.repeat(starts - at, lengths) + np.arange(len(src))] = src


def piece_keys(offsets: np.ndarray, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The keys of a packed table's strings (``offsets`` int64[k + 1] from 0 into ``blob``):
    (lengths int64[k], keys blob, number of non-ASCII strings), as
    ``suggest_keys`` of the decoded strings makes them."""
    lens, ascii_keys = fold_ascii(offsets, blob)
    high = np.flatnonzero(lens < 0)
    if not len(high):
        return lens, ascii_keys, 0
    raw = blob.tobytes()
    texts = [raw[int(offsets[i]):int(offsets[i + 1])].decode("utf-8", "surrogatepass") for i in high.tolist()]
    keys = [s.encode("utf-8", "surrogatepass") for s in suggest_keys(texts)]
    high_lens = np.fromiter(map(len, keys), np.int64, len(keys))
    is_ascii = lens >= 0
    lens[high] = high_lens
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    out = np.empty(int(lens.sum()), np.uint8)
    _scatter(out, starts[is_ascii], lens[is_ascii], ascii_keys)
    _scatter(out, starts[high], high_lens, np.frombuffer(b"".join(keys), np.uint8))
    return lens, out, len(high)


class _DocsColumns:
    """The titles and redirect titles of a ``docs.bin``, read a piece at a time with pread (the
    file is never mapped: the build's memory counts what it holds, not pages it once touched)."""

    def __init__(self, path):
        self.c = Container(path, b"DOCS", sparse=True)
        self.n_docs = int(self.c.meta["n_docs"])
        self.n_aliases = int(self.c.shape("alias_title_offsets")[0]) - 1
        #: format 10's titles are FSST-coded: decoded a piece at a time (``title_bytes``: decoded)
        self.title_table = None
        if "title_codes" in self.c.specs:
            self.title_table = FsstTable(self.c["title_symbols"], self.c["title_symbol_lengths"])
            title_bytes = int(self.c.meta["title_bytes"])
        else:
            title_bytes = int(self.c.shape("title_blob")[0])
        self.source_bytes = title_bytes + int(self.c.shape("alias_blob")[0])

    def pieces(self, offsets: str, blob: str, n: int, table: FsstTable | None = None):
        """(offsets int64 from 0, blob) of strings [a, a + PIECE) in turn (``table``: the
        strings are coded with it, and decoded here)."""
        for a in range(0, n, PIECE):
            z = min(n, a + PIECE)
            o = self.c.read_rows(offsets, a, z + 1).astype(np.int64)
            raw = self.c.read(blob, int(o[0]), int(o[-1]))
            yield (o - o[0], raw) if table is None else table.decode(o - o[0], raw)

    def title_pieces(self):
        """:meth:`pieces` of the titles, plain or coded."""
        if self.title_table is None:
            return self.pieces("title_offsets", "title_blob", self.n_docs)
        return self.pieces("title_offsets", "title_codes", self.n_docs, self.title_table)

    def alias_docs(self) -> np.ndarray:
        """The docid of every redirect title (int32, by redirect number)."""
        if "alias_offsets" not in self.c.specs:                 # format 10: no redirects, left out
            return np.zeros(0, np.int32)
        per_doc = np.diff(self.c.read_rows("alias_offsets", 0, self.n_docs + 1).astype(np.int64))
        return np.repeat(np.arange(self.n_docs, dtype=np.int32), per_doc)

    def close(self) -> None:
        self.c.close()


def sorted_keys(columns, n_entries: int, source_bytes: int) -> dict:
    """Every entry's key, and the entries in key order: ``offsets`` int64[E + 1] and ``blob``
    (entry order: titles then redirects), ``order`` int64 (the entries with a key, by key bytes,
    stable) and ``non_ascii`` (titles and redirects folded in Python). ``columns``: two
    functions returning iterators of pieces ``(offsets from 0, blob)``, titles' and redirects',
    ``n_entries`` strings of ``source_bytes`` bytes in all.

    The keys are written in place into one buffer of the source's size (an ASCII key is never
    longer than its title; a buffer's pages never written are never resident), grown only if
    non-ASCII keys outgrow it, and the lengths into the offsets, summed in place: nothing is
    held twice, and no list of pieces is left for the heap to keep."""
    offsets = np.zeros(n_entries + 1, np.int64)
    blob = np.empty(max(source_bytes, 1), np.uint8)
    at = e = non_ascii = 0
    for pieces in columns:
        for o, b in pieces():
            n, keys, h = piece_keys(o, b)
            if at + len(keys) > len(blob):       # non-ASCII keys longer than their titles
                grown = np.empty(max(2 * len(blob), at + len(keys)), np.uint8)
                grown[:at] = blob[:at]
                blob = grown
            blob[at:at + len(keys)] = keys
            offsets[e + 1:e + 1 + len(n)] = n
            at, e, non_ascii = at + len(keys), e + len(n), non_ascii + h
    if e != n_entries:
        raise ValueError(f"{e} titles and redirects read, not {n_entries}")
    n_empty = int((offsets[1:] == 0).sum())
    np.cumsum(offsets, out=offsets)
    from wikisearch.index.merge import release_free_memory   # (a build's: not in a query's imports)
    release_free_memory()                     # the pieces' temporaries, before the sort's arrays
    order = SK.sort_strings(blob, offsets)[n_empty:]    # (empty keys sort first)
    return {"offsets": offsets, "blob": blob, "order": order, "non_ascii": non_ascii}


def write_suggest_table(path, docs_path) -> dict:
    """``suggest.bin`` at ``path`` for the index whose ``docs.bin`` is ``docs_path``; returns
    ``{"entries", "titles", "redirects", "non_ascii"}``."""
    cols = _DocsColumns(docs_path)
    try:
        n, n_alias = cols.n_docs, cols.n_aliases
        keys = sorted_keys([cols.title_pieces,
                            lambda: cols.pieces("alias_title_offsets", "alias_blob", n_alias)],
                           n + n_alias, cols.source_bytes)
        alias_doc = cols.alias_docs()
    finally:
        cols.close()
    offsets, blob, order = keys["offsets"], keys["blob"], keys["order"]
    m = len(order)
    cuts = list(range(0, m, PIECE)) + [m]
    spans = list(zip(cuts[:-1], cuts[1:]))

    def gathered():
        for a, z in spans:
            yield SK.gather_strings(blob, offsets, order[a:z])

    def docs():
        for a, z in spans:
            e = order[a:z]
            yield np.where(e < n, e, alias_doc[np.maximum(e - n, 0)] if n_alias else 0).astype(np.int32)

    def aliases():
        for a, z in spans:
            e = order[a:z]
            yield np.where(e < n, -1, e - n).astype(np.int32)
    size = int(offsets[-1])                  # (the keys left out are empty)
    meta = {"n_docs": n, "n_aliases": n_alias, "entries": m, "key_rules": KEY_RULES,
            "unicode": unicodedata.unidata_version}
    w = ContainerWriter(path, KIND, meta=meta)
    # (format 9: the offsets at the width the keys' bytes need; suggest_doc and suggest_alias
    # stay int32: a document or redirect number needs more than 16 bits past 65,536 of them, and
    # suggest_alias is -1 for a title)
    w.add_chunks("suggest_offsets", narrowest_uint(size), (m + 1,), joined_offsets(lambda: (o for o, _b in gathered())))
    w.add_chunks("suggest_blob", np.uint8, (size,), lambda: (b for _o, b in gathered()))
    w.add_chunks("suggest_doc", np.int32, (m,), docs)
    w.add_chunks("suggest_alias", np.int32, (m,), aliases)
    w.close()
    return {"entries": m, "titles": n, "redirects": n_alias, "non_ascii": keys["non_ascii"]}


def load_suggest_table(reader) -> dict | None:
    """The index's stored key table (``suggest.bin``, listed in its manifest), its arrays
    checked (CRC) as they are read whole; None when the index has none (built before the table
    was stored, or not on disk) or made it under other key rules. Raises CorruptIndexError when
    the file is damaged or does not fit the index."""
    if reader.path is None or FILE not in reader.manifest.get("files", {}):
        return None
    path = Path(reader.path) / FILE
    c = Container(path, KIND)
    meta = c.meta
    if meta.get("key_rules") != KEY_RULES or meta.get("unicode") != unicodedata.unidata_version:
        c.close()
        return None
    if int(meta.get("n_docs", -1)) != int(reader.n_docs):
        raise CorruptIndexError(path, "made for another index", expected=int(reader.n_docs), found=meta.get("n_docs"))
    out = {name: c.checked(name) for name in ARRAYS}
    m = int(meta.get("entries", -1))
    offsets = out["suggest_offsets"]
    for name, found, expected in (("suggest_offsets", offsets.shape, (m + 1,)),
                                  ("suggest_doc", out["suggest_doc"].shape, (m,)),
                                  ("suggest_alias", out["suggest_alias"].shape, (m,)),
                                  ("suggest_blob", out["suggest_blob"].shape, (int(offsets[-1]) if m >= 0 else -1,))):
        if found != expected:
            raise CorruptIndexError(path, f"array {name} has the wrong size", expected=expected, found=found)
    return out
