"""segment: write and read one segment (a block's, or the merged index) on disk.

A segment directory holds container files (see ``container.py`` and docs/FORMAT.md):

    terms.bin     TERM  the sorted term dictionary (``termdict.py`` knows its layout)
    postings.bin  POST  the encoded postings lists, back to back (``data``)
    docs.bin      DOCS  page_id, field_lengths, titles, redirect aliases, inlinks
    store.bin     STOR  the field texts in zstd blocks of documents (``store.py``; snippets, phrase checks)

Block segments also hold ``redirects.bin`` (REDR) and ``links.bin`` (LINK) for the build's
redirect and link resolution. ``segment.json`` is written last; a directory without it is not a
segment. The final index adds ``manifest.json`` (``manifest.py``; read by ``reader.py``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wikisearch.config import FIELDS, N_FIELDS
from wikisearch.errors import CorruptIndexError
from wikisearch.fileio import crc32, narrowest_uint, pack_strings, string_at, unpack_strings
from wikisearch.index.codec import get_codec
from wikisearch.index.container import Container, ContainerWriter, write_container
from wikisearch.index import fsst
from wikisearch.index.fsst import FsstTable
from wikisearch.index.store import StoreReader, decode_doc
from wikisearch.index.strings import StringTable
from wikisearch.index.termdict import TermDictionary, write_dictionary

#: ``docs.bin``'s field lengths, field by field (format 9: uint16 or uint32[K, n], the K fields
#: not all zero, listed in the meta's ``length_fields``; format 8: uint32[N_FIELDS, n]); formats
#: 5-7 stored them document by document (``field_lengths``, uint32[n, N_FIELDS]), still read.
LENGTHS = "field_lengths_by_field"
#: The widest field length a uint16 ``LENGTHS`` holds; an index with a longer field stores uint32
#: (one width per index, so the scoring kernels have two specialisations, not one per field).
U16_MAX = 65535
#: Documents per *document block* of ``docs.bin``: the titles and the redirect titles of a block
#: have one CRC-32, checked before any of them is read from a file too large to check on open.
DOC_BLOCK = 64


@dataclass
class DocTable:
    """Per-document data of a segment, in docid order."""

    page_ids: np.ndarray                 # int64[n]
    titles: list[str] | StringTable
    field_lengths: np.ndarray            # uint32[n, N_FIELDS]
    #: redirect titles per doc: a list of lists, or CSR (offsets uint64[n + 1], StringTable)
    aliases: list[list[str]] | tuple = field(default_factory=list)
    inlinks: np.ndarray | None = None    # uint32[n]
    title_order: np.ndarray | None = None  # int32[n]: docids sorted by title (merged index only)

    def __len__(self) -> int:
        return len(self.titles)


def length_layout(maxima) -> tuple[list[int], type]:
    """(the fields ``LENGTHS`` stores, its dtype) for fields of longest lengths ``maxima``: the
    fields not all zero, uint16 unless one is longer than ``U16_MAX`` (then uint32)."""
    maxima = [int(v) for v in maxima]
    return [f for f, v in enumerate(maxima) if v > 0], (np.uint16 if max(maxima, default=0) <= U16_MAX else np.uint32)


def _page_id_dtype(lo: int, hi: int):
    """The narrowest unsigned dtype of page ids ``lo..hi`` (int64 if one is negative)."""
    return np.int64 if lo < 0 else narrowest_uint(hi)


def _docs_meta(n: int, length_fields: list[int], title_bytes: int | None = None, zero=()) -> dict:
    meta = {"n_docs": n, "fields": list(FIELDS), "doc_block": DOC_BLOCK, "length_fields": length_fields}
    if title_bytes is not None:             # format 10: the titles FSST-coded, columns of zeros left out
        meta.update(title_codec="fsst", title_bytes=title_bytes, zero_columns=list(zero))
    return meta


#: Columns format 10 leaves out of docs.bin when every value is 0 (an index without redirects or
#: links: a plain-text build), listed in the meta's ``zero_columns``; read as zeros.
ZERO_COLUMNS = ("alias_block_crc", "alias_offsets", "inlinks")


def _zero_columns(n_alias: int, inlinks: np.ndarray) -> list[str]:
    """The :data:`ZERO_COLUMNS` all 0 (no redirect titles: their offsets and CRCs of empty blocks)."""
    return (["alias_block_crc", "alias_offsets"] if n_alias == 0 else []) + ([] if inlinks.any() else ["inlinks"])


def _title_arrays(table: FsstTable, codes: np.ndarray, code_offsets) -> dict:
    """docs.bin's arrays of FSST-coded titles (format 10; ``code_offsets`` at their width)."""
    return {"title_offsets": code_offsets, "title_codes": codes,
            "title_symbols": table.sym, "title_symbol_lengths": table.sym_len}


def write_docs(path, docs: DocTable, *, code_titles: bool = True) -> None:
    """``docs.bin`` (format 10): every integer column at the narrowest width its values need,
    the titles FSST-coded (``code_titles``; a build's block segments, read once by the merge,
    keep them plain, as format 9 did) (docs/FORMAT.md)."""
    n = len(docs)
    if isinstance(docs.aliases, tuple):          # CSR already (the build's merged table)
        alias_offsets, a_table = docs.aliases
        alias_offsets = np.asarray(alias_offsets, np.uint64)
        a_off, a_blob = a_table.packed()
    else:
        aliases = docs.aliases or [[] for _ in range(n)]
        alias_counts = np.fromiter((len(a) for a in aliases), np.uint64, count=n)
        alias_offsets = np.zeros(n + 1, np.uint64)
        np.cumsum(alias_counts, out=alias_offsets[1:])
        a_off, a_blob = pack_strings([a for lst in aliases for a in lst])
    if isinstance(docs.titles, StringTable):
        t_off, t_blob = docs.titles.packed()
    else:
        t_off, t_blob = pack_strings(docs.titles)
    inlinks = np.asarray(docs.inlinks if docs.inlinks is not None else np.zeros(n, np.uint32), np.uint32)
    extra = {} if docs.title_order is None else {"title_order": np.asarray(docs.title_order, np.int32)}
    page_ids = np.asarray(docs.page_ids, np.int64)
    lengths = np.asarray(docs.field_lengths, np.uint32).reshape(n, N_FIELDS)
    kept, l_dtype = length_layout(lengths.max(axis=0) if n else np.zeros(N_FIELDS, np.uint32))
    n_alias = len(a_off) - 1
    title_bytes = None
    if code_titles:
        table = FsstTable.train(t_off.astype(np.int64), t_blob)
        title_bytes = len(t_blob)
        t_blob, t_off = table.encode(t_off, t_blob)
        titles = _title_arrays(table, t_blob, t_off.astype(narrowest_uint(len(t_blob))))
    else:
        titles = {"title_offsets": t_off.astype(narrowest_uint(len(t_blob))), "title_blob": t_blob}
    title_cuts = t_off[::DOC_BLOCK].tolist() + ([int(t_off[-1])] if n % DOC_BLOCK else [])
    alias_cuts = a_off[alias_offsets[::DOC_BLOCK].astype(np.int64)].tolist() + \
        ([int(a_off[-1])] if n % DOC_BLOCK else [])
    arrays = {**extra,
        "title_block_crc": _cut_crcs(t_blob, title_cuts), "alias_block_crc": _cut_crcs(a_blob, alias_cuts),
        "page_id": page_ids.astype(_page_id_dtype(int(page_ids.min(initial=0)), int(page_ids.max(initial=0)))),
        LENGTHS: np.ascontiguousarray(lengths[:, kept].T, l_dtype), **titles,
        "alias_offsets": alias_offsets.astype(narrowest_uint(n_alias)),
        "alias_title_offsets": a_off.astype(narrowest_uint(len(a_blob))), "alias_blob": a_blob,
        "inlinks": inlinks.astype(narrowest_uint(int(inlinks.max(initial=0)))),
    }
    zero = _zero_columns(n_alias, inlinks) if code_titles else []
    for name in zero:
        del arrays[name]
    write_container(path, b"DOCS", arrays, meta=_docs_meta(n, kept, title_bytes, zero))


@dataclass
class DocColumns:
    """The columns of a ``docs.bin`` too large to hold at once (the merged index's), each as
    pieces in docid order: functions returning a new iterator of pieces each call (a column is
    read twice: once for its checksums, once to write it; format 10's titles four times: a sample
    to train their symbol table, then coded for their checksums, offsets and bytes).
    :func:`write_docs_columns` writes from them the bytes :func:`write_docs` writes from the whole
    :class:`DocTable`.

    ``titles()``: ``(offsets, blob)`` per piece, the piece's documents' titles (``offsets``:
    ``k + 1`` values, any base, into ``blob``); ``aliases()``: ``(alias_offsets, title_offsets,
    blob)`` per piece, its documents' redirect titles (``alias_offsets``: ``k + 1`` values, any
    base, into ``title_offsets``, whose values, any base, point into ``blob``)."""

    n: int
    page_ids: object                     # () -> iterator of int64[k]
    field_lengths: object                # () -> iterator of uint32[k, N_FIELDS]
    titles: object
    aliases: object
    inlinks: np.ndarray                  # uint32[n]
    title_order: np.ndarray | None = None


def _title_pieces(cols: DocColumns):
    """(per-document byte offsets from 0, blob) of each titles piece."""
    for o, blob in cols.titles():
        o = np.asarray(o, np.int64)
        if len(o) > 1:
            yield o - o[0], np.asarray(blob)[int(o[0]):int(o[-1])]


def _alias_pieces(cols: DocColumns):
    """(alias offsets from 0, title offsets from 0, blob) of each aliases piece."""
    for ao, to, blob in cols.aliases():
        ao, to = np.asarray(ao, np.int64), np.asarray(to, np.int64)
        if len(ao) > 1:
            to = to[int(ao[0]):int(ao[-1]) + 1]
            yield ao - ao[0], to - to[0], np.asarray(blob)[int(to[0]):int(to[-1])]


def _block_crcs(pieces, n: int) -> tuple[np.ndarray, int]:
    """CRC-32 of the bytes of every ``DOC_BLOCK`` documents (``pieces``: (per-document byte
    offsets from 0, blob) in docid order), as :func:`_cut_crcs` gives them of the whole column;
    and the column's bytes."""
    crcs, crc, at, size = [], 0, 0, 0
    for o, blob in pieces:
        raw = memoryview(np.ascontiguousarray(blob)).cast("B")
        k, prev = len(o) - 1, 0
        for j in range((-at) % DOC_BLOCK or DOC_BLOCK, k + 1, DOC_BLOCK):
            crcs.append(crc32(raw[int(o[prev]):int(o[j])], crc))
            crc, prev = 0, j
        crc = crc32(raw[int(o[prev]):int(o[k])], crc)
        at, size = at + k, size + int(o[k])
    if at != n:
        raise ValueError(f"document pieces hold {at} documents, not {n}")
    if n % DOC_BLOCK:
        crcs.append(crc)
    return np.asarray(crcs, np.uint32), size


def joined_offsets(pieces, dtype=np.uint64):
    """For :meth:`ContainerWriter.add_chunks`: the offsets (``dtype``) of the items of
    ``pieces()`` joined (``pieces``: a function returning a new iterator of offsets, from 0 each)."""
    def make():
        yield np.zeros(1, dtype)
        base = 0
        for o in pieces():
            yield (o[1:] + base).astype(dtype)
            base += int(o[-1])
    return make


def _title_sample(cols: DocColumns) -> tuple[np.ndarray, np.ndarray, int]:
    """(offsets int64, blob) of the titles :meth:`FsstTable.train` samples by default (every
    ``sample_stride``-th), gathered from the pieces; and the titles' bytes."""
    stride = fsst.sample_stride(cols.n)
    offs, blobs, at, size = [np.zeros(1, np.int64)], [], 0, 0
    for o, blob in _title_pieces(cols):
        k = len(o) - 1
        ids = np.arange((-at) % stride, k, stride, dtype=np.int64)
        if len(ids):
            lens = o[ids + 1] - o[ids]
            offs.append(np.cumsum(lens) + offs[-1][-1])
            blobs.append(np.concatenate([blob[int(o[i]):int(o[i + 1])] for i in ids.tolist()]))
        at, size = at + k, size + int(o[k])
    blob = np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)
    return np.concatenate(offs), blob, size


def _coded_pieces(cols: DocColumns, table: FsstTable):
    """(code offsets from 0, codes) of each titles piece."""
    for o, blob in _title_pieces(cols):
        codes, co = table.encode(o, blob)
        yield co, codes


def write_docs_columns(path, cols: DocColumns, *, code_titles: bool = True) -> None:
    """``docs.bin`` from columns given as pieces (:class:`DocColumns`), a piece at a time: the
    bytes :func:`write_docs` writes of the same table (``code_titles`` alike), without the whole
    table in memory."""
    n = cols.n
    if code_titles:
        s_off, s_blob, raw_bytes = _title_sample(cols)
        table = FsstTable.train(s_off, s_blob, np.arange(len(s_off) - 1, dtype=np.int64))
        title_pieces = lambda: _coded_pieces(cols, table)          # noqa: E731
    else:
        table, raw_bytes = None, None
        title_pieces = lambda: _title_pieces(cols)                 # noqa: E731
    title_crc, title_bytes = _block_crcs(title_pieces(), n)
    counted = [0]

    def alias_docs():
        for ao, to, blob in _alias_pieces(cols):
            counted[0] += int(ao[-1])
            yield to[ao], blob
    alias_crc, alias_bytes = _block_crcs(alias_docs(), n)
    n_alias = counted[0]
    lo = hi = 0
    maxima = np.zeros(N_FIELDS, np.int64)
    for p in cols.page_ids():
        p = np.asarray(p, np.int64)
        if len(p):
            lo, hi = min(lo, int(p.min())), max(hi, int(p.max()))
    for p in cols.field_lengths():
        p = np.asarray(p, np.uint32).reshape(-1, N_FIELDS)
        if len(p):
            np.maximum(maxima, p.max(axis=0), out=maxima)
    kept, l_dtype = length_layout(maxima)
    inlinks = np.asarray(cols.inlinks, np.uint32)
    zero = _zero_columns(n_alias, inlinks) if code_titles else []
    w = ContainerWriter(path, b"DOCS", meta=_docs_meta(n, kept, raw_bytes, zero))
    if cols.title_order is not None:
        w.add("title_order", np.asarray(cols.title_order, np.int32))
    w.add("title_block_crc", title_crc)
    if "alias_block_crc" not in zero:
        w.add("alias_block_crc", alias_crc)
    w.add_chunks("page_id", _page_id_dtype(lo, hi), (n,), cols.page_ids)
    w.add_chunks(LENGTHS, l_dtype, (len(kept), n), _by_field(cols.field_lengths, kept))
    w.add_chunks("title_offsets", narrowest_uint(title_bytes), (n + 1,),
                 joined_offsets(lambda: (o for o, _b in title_pieces())))
    w.add_chunks("title_codes" if code_titles else "title_blob", np.uint8, (title_bytes,),
                 lambda: (b for _o, b in title_pieces()))
    if code_titles:
        w.add("title_symbols", table.sym)
        w.add("title_symbol_lengths", table.sym_len)
    if "alias_offsets" not in zero:
        w.add_chunks("alias_offsets", narrowest_uint(n_alias), (n + 1,),
                     joined_offsets(lambda: (ao for ao, _t, _b in _alias_pieces(cols))))
    w.add_chunks("alias_title_offsets", narrowest_uint(alias_bytes), (n_alias + 1,),
                 joined_offsets(lambda: (t for _a, t, _b in _alias_pieces(cols))))
    w.add_chunks("alias_blob", np.uint8, (alias_bytes,), lambda: (b for _a, _t, b in _alias_pieces(cols)))
    if "inlinks" not in zero:
        w.add("inlinks", inlinks.astype(narrowest_uint(int(inlinks.max(initial=0)))))
    w.close()


def _by_field(pieces, fields):
    """The pieces of field-major field lengths (``LENGTHS``: the rows of ``fields``) from those
    of the document-major table (``pieces()``: uint32[k, N_FIELDS] each): one pass over them per
    field."""
    def make():
        for f in fields:
            for p in pieces():
                yield np.ascontiguousarray(np.asarray(p, np.uint32).reshape(-1, N_FIELDS)[:, f])
    return make


def _cut_crcs(blob: np.ndarray, cuts: list[int]) -> np.ndarray:
    """CRC-32 of ``blob[cuts[i]:cuts[i+1]]`` for each i."""
    raw = memoryview(np.ascontiguousarray(blob)).cast("B")
    return np.fromiter((crc32(raw[cuts[i]:cuts[i + 1]]) for i in range(len(cuts) - 1)), np.uint32,
                       count=max(0, len(cuts) - 1))


class TermWriter:
    """Streams encoded postings lists to ``postings.bin`` and builds the front-coded dictionary.

    Terms must arrive in sorted order (UTF-8 byte order), in batches (:meth:`add_many`, or
    :meth:`add_encoded` with the terms already as UTF-8 bytes). :meth:`close` writes the segment's
    ``terms.bin`` and ``postings.bin``; :meth:`finish_part` instead leaves a *part* (the postings
    bytes and the dictionary arrays of one term range) for :func:`assemble_parts`.
    """

    def __init__(self, directory: Path, codec_name: str):
        self.dir = Path(directory)
        self.codec = get_codec(codec_name)
        self._term_parts: list[np.ndarray] = []
        self._len_parts, self._df_parts, self._plen_parts = [], [], []
        self._post_path = self.dir / "postings.part"
        self._post = open(self._post_path, "wb")
        self.n_postings = 0
        self.postings_bytes = 0

    def add_many(self, terms: list[str], post_offsets, docids, masks, tfs) -> None:
        """Add sorted terms' lists (CSR as in ``invert.Postings``), encoded in one call."""
        if not terms:
            return
        encoded = [t.encode("utf-8", "surrogatepass") for t in terms]
        lengths = np.fromiter(map(len, encoded), np.int64, count=len(encoded))
        self.add_encoded(np.frombuffer(b"".join(encoded), np.uint8), lengths, post_offsets, docids,
                         masks, tfs)

    def add_encoded(self, term_bytes: np.ndarray, term_lengths: np.ndarray, post_offsets, docids,
                    masks, tfs) -> None:
        """:meth:`add_many` with the terms as one UTF-8 byte array and their lengths."""
        n = len(term_lengths)
        if n == 0:
            return
        data, byte_offsets = self.codec.encode_lists(post_offsets, docids, masks, tfs)
        self._post.write(memoryview(data))
        self._term_parts.append(np.array(term_bytes, np.uint8, copy=True))
        self._len_parts.append(np.asarray(term_lengths, np.int64))
        dfs = np.diff(np.asarray(post_offsets, np.int64))
        self._df_parts.append(dfs)
        self._plen_parts.append(np.diff(np.asarray(byte_offsets, np.int64)))
        self.n_postings += int(dfs.sum())
        self.postings_bytes += int(byte_offsets[-1])

    def add(self, term: str, docids, masks, tfs) -> None:
        self.add_many([term], np.array([0, len(docids)]), docids, masks, tfs)

    def _dictionary(self) -> dict[str, np.ndarray]:
        cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt))
        return {"term_bytes": cat(self._term_parts, np.uint8), "term_lengths": cat(self._len_parts, np.int64),
                "doc_freq": cat(self._df_parts, np.int64), "post_lens": cat(self._plen_parts, np.int64)}

    def _stats(self) -> dict:
        return {"n_terms": int(sum(len(x) for x in self._df_parts)), "n_postings": self.n_postings,
                "postings_bytes": self.postings_bytes}

    def close(self) -> dict:
        self._post.close()
        _write_term_files(self.dir, [self._post_path], [self._dictionary()], self.codec.name)
        os.unlink(self._post_path)
        return self._stats()

    def finish_part(self) -> dict:
        """Close as a part: ``postings.part`` and ``dictionary.bin`` (PART) stay in the directory."""
        self._post.close()
        write_container(self.dir / "dictionary.bin", b"PART", self._dictionary(),
                        meta={"codec": self.codec.name, **self._stats()})
        return self._stats()


def assemble_parts(part_dirs: list[Path], out_dir: Path, codec_name: str) -> dict:
    """Join parts of consecutive term ranges (:meth:`TermWriter.finish_part`) into one segment's
    ``terms.bin`` and ``postings.bin``: their postings bytes back to back, one dictionary."""
    dicts, posts, stats = [], [], {"n_terms": 0, "n_postings": 0, "postings_bytes": 0}
    for d in part_dirs:
        c = Container(Path(d) / "dictionary.bin", b"PART", verify=True)
        try:
            dicts.append({k: np.array(c[k]) for k in ("term_bytes", "term_lengths", "doc_freq", "post_lens")})
            for k in stats:
                stats[k] += int(c.meta[k])
        finally:
            c.close()
        posts.append(Path(d) / "postings.part")
    _write_term_files(Path(out_dir), posts, dicts, codec_name)
    return stats


def _write_term_files(directory: Path, post_paths: list[Path], dicts: list[dict], codec_name: str) -> None:
    cat = (lambda k, dt: np.concatenate([d[k] for d in dicts]) if dicts else np.zeros(0, dt))
    w = ContainerWriter(directory / "postings.bin", b"POST", meta={"codec": codec_name})
    w.add_files("data", post_paths)
    w.close()
    write_dictionary(directory / "terms.bin", cat("term_bytes", np.uint8), cat("term_lengths", np.int64),
                     cat("doc_freq", np.int64), cat("post_lens", np.int64), post_paths, codec_name)


class SegmentReader:
    """Read-only view of one segment directory (mmapped; safe to share between threads).

    ``sparse`` (the merge's readers): arrays are read with pread when asked for, not mapped.
    """

    def __init__(self, path, *, verify: bool | None = None, sparse: bool = False,
                 store: bool | None = None):
        """``store``: whether the segment must have ``store.bin`` (None: use it if present)."""
        self.path = Path(path)
        # sparse: see Container; every piece of these files is checked where it is read (per
        # array, dictionary block, postings block, document block, stored block), so only a
        # small file is checked whole on open
        kw = {"verify": verify, "sparse": sparse, "checked_in_pieces": True}
        self.terms_c = Container(self.path / "terms.bin", b"TERM", **kw)
        self.post_c = Container(self.path / "postings.bin", b"POST", **kw)
        self.docs_c = Container(self.path / "docs.bin", b"DOCS", **kw)
        store_path = self.path / "store.bin"
        want = store_path.exists() if store is None else store
        self.store_c = Container(store_path, b"STOR", **kw) if want else None
        # a sparse reader (the build's) reads the store's tables and zstd dictionary only when a
        # document is asked for: the merge opens every block (~550 at full scale), and ~0.7 MB of
        # them per block held in each process put the merge's tree over --memory 2GB
        self._store_reader = None
        if self.store_c is not None and not sparse:
            self._store_reader = StoreReader(self.store_c)
        self.codec = get_codec(self.post_c.meta["codec"])
        self.codec_name = self.codec.name
        self.terms = TermDictionary(self.terms_c, sparse=sparse)
        self._verified = np.zeros(self.terms.n_blocks, np.bool_)
        self._post_data = None if sparse else self.post_c["data"]
        self.n_terms = self.terms.n_terms
        d = self.docs_c
        self.n_docs = int(d.meta["n_docs"])
        n_blocks = -(-self.n_docs // DOC_BLOCK)
        done = d.verified_all or sparse
        self._title_ok = np.full(n_blocks, done, np.bool_)    # document blocks checked so far
        self._alias_ok = np.full(n_blocks, done, np.bool_)
        self._sparse = sparse
        self._lengths = None          # the [n, N_FIELDS] lengths with zero rows, once made
        #: format 10: the titles are FSST-coded (``title_codes``; format 9 and older: ``title_blob``)
        self.titles_coded = "title_codes" in d.specs
        self._title_blob = "title_codes" if self.titles_coded else "title_blob"
        self._title_table = None
        self._zero = {name: None for name in d.meta.get("zero_columns", ())}   # format 10: left out, all 0
        self._check_shapes()

    # per-document columns, read whole by the search kernels: checked on first use when the
    # file was too large to check on open (Container.checked)
    @property
    def page_ids(self) -> np.ndarray:
        return self.docs_c.checked("page_id")

    @property
    def length_fields(self) -> list[int]:
        """The fields whose lengths ``docs.bin`` stores (format 9 leaves out those all zero)."""
        return list(self.docs_c.meta.get("length_fields", range(N_FIELDS)))

    @property
    def field_lengths(self) -> np.ndarray:
        """uint16 or uint32[n, N_FIELDS] (format 9: uint16 unless a length is over 65535;
        formats 5-8: uint32): stored field by field (formats 8-9), a view in Fortran order, so
        that the lengths of one field for many documents share cache lines (what scoring a
        posting list reads); a format 5-7 ``docs.bin``'s rows (C order). Where format 9 left
        out fields all zero, their rows are zeros of a fresh array (allocated untouched: pages
        never written are never resident) beside a copy of the stored ones, made once per reader
        (each time for a sparse reader, which keeps nothing)."""
        d = self.docs_c
        if LENGTHS not in d.specs:
            return d.checked("field_lengths")
        kept = self.length_fields
        if len(kept) == N_FIELDS:
            return d.checked(LENGTHS).T
        if self._lengths is not None:
            return self._lengths
        stored = d.checked(LENGTHS)
        out = np.zeros((N_FIELDS, self.n_docs), stored.dtype)
        out[kept] = stored
        out.flags.writeable = False
        lengths = out.T
        if not self._sparse:
            self._lengths = lengths
        return lengths

    @property
    def inlinks(self) -> np.ndarray:
        return self.column("inlinks")

    def column(self, name: str) -> np.ndarray:
        """docs.bin's column ``name`` (checked on first use), or, where format 10 left it out as all
        0 (``zero_columns``), zeros (uint8; allocated once, never written: no page resident)."""
        if name in self._zero:
            got = self._zero[name]
            if got is None:
                n = {"alias_offsets": self.n_docs + 1, "inlinks": self.n_docs,
                     "alias_block_crc": -(-self.n_docs // DOC_BLOCK)}[name]
                got = self._zero[name] = np.zeros(n, np.uint32 if name == "alias_block_crc" else np.uint8)
                got.flags.writeable = False
            return got
        return self.docs_c.checked(name)

    def _check_shapes(self) -> None:
        m = self.n_docs
        d = self.docs_c
        if LENGTHS in d.specs:
            lengths, expected_lengths = d.shape(LENGTHS)[::-1], (m, len(self.length_fields))
        else:
            lengths, expected_lengths = d.shape("field_lengths"), (m, N_FIELDS)
        for found, expected in ((d.shape("page_id")[0], m), (lengths, expected_lengths),
                                (d.shape("title_block_crc")[0], -(-m // DOC_BLOCK))):
            if found != expected:
                raise CorruptIndexError(self.docs_c.path, "inconsistent array sizes", expected=expected, found=found)
        post_size = self.post_c.shape("data")[0]
        if self.terms.postings_bytes != post_size:
            raise CorruptIndexError(self.post_c.path, "postings size disagrees with the term dictionary",
                                    expected=self.terms.postings_bytes, found=post_size)

    # --- terms -------------------------------------------------------------------------------
    def term_ordinal(self, term: str) -> int:
        """Ordinal of ``term`` in the sorted dictionary; -1 if absent."""
        found = self.terms.lookup(term)
        return -1 if found is None else found.ordinal

    def term_ordinals(self, terms: list[str]) -> list[int]:
        """:meth:`term_ordinal` of each of ``terms``, the dictionary searched once for all."""
        return [-1 if e is None else e.ordinal for e in self.terms.lookup_many(terms)]

    def term(self, ordinal: int) -> str:
        return self.terms.term(ordinal)

    def doc_freq(self, ordinal: int) -> int:
        return self.terms.entry(ordinal).df

    def terms_with_prefix(self, prefix: str, limit: int = 100) -> list[str]:
        out, i = [], self.terms.lower_bound(prefix)
        while i < self.n_terms and len(out) < limit:
            t = self.terms.term(i)
            if not t.startswith(prefix):
                break
            out.append(t)
            i += 1
        return out

    def all_terms(self) -> list[str]:
        return [t for t, _e in self.terms.iter_terms()]

    @property
    def postings_data(self):
        """Every postings list's bytes, back to back (mmapped; None for a sparse reader)."""
        return self._post_data

    def raw_postings(self, ordinal: int):
        """The encoded bytes of a term's list, its block checksum verified once per reader."""
        e = self.terms.entry(ordinal)
        b = self.terms.block_of(ordinal)
        if not self._verified[b]:
            a, z = self.terms.block_postings_range(b)
            self.terms.check_postings(b, self._post_data[a:z], self.post_c.path)
            self._verified[b] = True
        return self._post_data[e.start:e.start + e.length]

    def postings(self, ordinal: int):
        """(docids int32, masks uint16, tfs uint32) of a term, checksum-verified."""
        data = self.raw_postings(ordinal)
        try:
            return self.codec.decode(data, self.terms.entry(ordinal).df)
        except (ValueError, IndexError, CorruptIndexError) as e:
            raise CorruptIndexError(self.post_c.path, f"undecodable postings of term #{ordinal} ({e})") from None

    # --- documents ---------------------------------------------------------------------------
    def _check_doc_block(self, docid: int, blob: str, ok: np.ndarray) -> None:
        """Check the document block of ``docid`` in ``title_blob`` or ``alias_blob`` (once)."""
        k = docid // DOC_BLOCK
        if ok[k]:
            return
        d = self.docs_c
        lo, hi = k * DOC_BLOCK, min(self.n_docs, (k + 1) * DOC_BLOCK)
        if blob == self._title_blob:
            o = d.checked("title_offsets")
            a, z, expected = int(o[lo]), int(o[hi]), int(d.checked("title_block_crc")[k])
        else:
            ao, ato = self.column("alias_offsets"), d.checked("alias_title_offsets")
            a, z, expected = int(ato[int(ao[lo])]), int(ato[int(ao[hi])]), int(self.column("alias_block_crc")[k])
        data = d[blob][a:z]
        crc = crc32(memoryview(np.ascontiguousarray(data)).cast("B") if z > a else b"")
        if crc != expected:
            raise CorruptIndexError(d.path, f"checksum mismatch in {blob} of documents {lo}-{hi - 1}",
                                    expected=f"{expected:08x}", found=f"{crc:08x}")
        ok[k] = True

    @property
    def title_table(self) -> FsstTable | None:
        """The titles' symbol table (format 10; None for plain titles), read once."""
        if self._title_table is None and self.titles_coded:
            d = self.docs_c
            self._title_table = FsstTable(d.checked("title_symbols"), d.checked("title_symbol_lengths"))
        return self._title_table

    def title(self, docid: int) -> str:
        self._check_doc_block(docid, self._title_blob, self._title_ok)
        if not self.titles_coded:
            return string_at(self.docs_c["title_offsets"], self.docs_c["title_blob"], docid)
        o = self.docs_c["title_offsets"]
        raw = self.docs_c["title_codes"][int(o[docid]):int(o[docid + 1])].tobytes()
        return self.title_table.decode_one(raw).decode("utf-8", "surrogatepass")

    def title_column(self, lo: int = 0, hi: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(offsets int64 from 0, UTF-8 blob) of the titles of documents ``lo..hi`` (decoded
        where format 10 coded them), each array checked whole on first use."""
        d = self.docs_c
        hi = self.n_docs if hi is None else hi
        o = np.asarray(d.checked("title_offsets")[lo:hi + 1], np.int64)
        a, z = (int(o[0]), int(o[-1])) if len(o) else (0, 0)
        blob = d.checked(self._title_blob)[a:z]
        if self.titles_coded:
            return self.title_table.decode(o - a, blob)
        return o - a, np.asarray(blob)

    def titles(self) -> list[str]:
        return unpack_strings(*self.title_column())

    def redirects(self, docid: int) -> list[str]:
        ao = self.column("alias_offsets")
        a, z = int(ao[docid]), int(ao[docid + 1])
        if z > a:
            self._check_doc_block(docid, "alias_blob", self._alias_ok)
        return [string_at(self.docs_c["alias_title_offsets"], self.docs_c["alias_blob"], i) for i in range(a, z)]

    def alias_table(self) -> tuple[np.ndarray, list[str]]:
        """Every redirect title (alias) of the segment: ``(docid of each, titles)``, by docid."""
        d = self.docs_c
        per_doc = np.diff(np.asarray(self.column("alias_offsets"), np.int64))
        return (np.repeat(np.arange(self.n_docs, dtype=np.int32), per_doc),
                unpack_strings(d.checked("alias_title_offsets"), d.checked("alias_blob")))

    def alias_title(self, a: int) -> str:
        """Redirect title number ``a`` of :meth:`alias_table`."""
        d = self.docs_c
        # (a Python int would make searchsorted convert all the offsets, 22 ms a call at 7M
        # documents, against 3 us for a scalar of their own dtype: a < n_aliases fits it)
        ao = self.column("alias_offsets")
        docid = int(np.searchsorted(ao, ao.dtype.type(a), side="right")) - 1
        self._check_doc_block(docid, "alias_blob", self._alias_ok)
        return string_at(d["alias_title_offsets"], d["alias_blob"], a)

    def page_id(self, docid: int) -> int:
        return int(self.page_ids[docid])

    @property
    def _store(self) -> StoreReader | None:
        if self._store_reader is None and self.store_c is not None:
            self._store_reader = StoreReader(self.store_c)
        return self._store_reader

    def stored_doc(self, docid: int) -> bytes | None:
        """The stored bytes of a document (its block checksum-verified; None if not stored)."""
        return None if self._store is None else self._store.doc(docid)

    def stored_prefix(self, docid: int, prose_chars: int) -> bytes | None:
        """The first bytes of :meth:`stored_doc`, up to where its first ``prose_chars`` characters
        of prose end at least (``store.prefix_end``): the store's prefix of the document when it
        holds that many (only the block's prefixes decompressed), else the whole document."""
        if self._store is None:
            return None
        if prose_chars <= self._store.prefix_chars:
            return self._store.doc_prefix(docid)
        return self._store.doc(docid)

    def stored_text(self, docid: int) -> dict[str, str] | None:
        raw = self.stored_doc(docid)
        if raw is None:
            return None
        try:
            parts = decode_doc(raw)
        except UnicodeDecodeError as e:
            raise CorruptIndexError(self.store_c.path, f"stored document {docid} is damaged ({e})") from None
        return dict(zip(FIELDS, parts))

    def close(self) -> None:
        for c in (self.terms_c, self.post_c, self.docs_c, self.store_c):
            if c is not None:
                c.close()
