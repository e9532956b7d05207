"""segment: write and read one segment (a block's, or the merged index) on disk.

A segment directory holds container files (see ``container.py`` and docs/FORMAT.md):

    terms.bin     TERM  sorted term dictionary: term_offsets, term_blob, doc_freq, post_offsets,
                        post_crc, bound
    postings.bin  POST  the encoded postings lists, back to back (``data``)
    docs.bin      DOCS  page_id, field_lengths, titles, redirect aliases, inlinks
    store.bin     STOR  per-document zlib-compressed field texts (snippets, phrase checks)

Block segments also hold ``redirects.bin`` (REDR) and ``links.bin`` (LINK) for the build's
redirect and link resolution. ``segment.json`` is written last; a directory without it is not a
segment. The final index adds ``manifest.json`` (see ``merge.py``).
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wikisearch.index import _segment_kernels as SK
from wikisearch.index.codec import get_codec
from wikisearch.config import FIELDS, N_FIELDS
from wikisearch.index.container import Container, ContainerWriter, write_container
from wikisearch.errors import CorruptIndexError

SEP_FIELD = "\x1f"
#: Version of the index as a whole (manifest.json); each container file has its own version too.
FORMAT_VERSION = 1


def manifest_checksum(manifest: dict) -> str:
    """sha256 of the manifest's JSON without its ``checksum`` key (sorted keys)."""
    import hashlib
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def pack_strings(items: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings -> (offsets uint64[n+1], UTF-8 blob uint8)."""
    encoded = [s.encode("utf-8", "surrogatepass") for s in items]
    offsets = np.zeros(len(encoded) + 1, np.uint64)
    if encoded:
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(encoded), np.uint8)


def unpack_strings(offsets: np.ndarray, blob: np.ndarray) -> list[str]:
    raw = blob.tobytes()
    o = offsets.tolist()
    return [raw[o[i]:o[i + 1]].decode("utf-8", "surrogatepass") for i in range(len(o) - 1)]


def _split_utf8(term_bytes: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = term_bytes.tobytes()
    o = offsets.tolist()
    return [raw[o[i]:o[i + 1]].decode("utf-8", "surrogatepass") for i in range(len(o) - 1)]


def compress_doc(field_texts: list[str]) -> bytes:
    return zlib.compress(SEP_FIELD.join(field_texts).encode("utf-8", "surrogatepass"), 1)


@dataclass
class DocTable:
    """Per-document data of a segment, in docid order."""

    page_ids: np.ndarray                 # int64[n]
    titles: list[str]
    field_lengths: np.ndarray            # uint32[n, N_FIELDS]
    aliases: list[list[str]] = field(default_factory=list)   # redirect titles per doc
    inlinks: np.ndarray | None = None    # uint32[n]
    title_order: np.ndarray | None = None  # int32[n]: docids sorted by title (merged index only)

    def __len__(self) -> int:
        return len(self.titles)


def write_docs(path, docs: DocTable) -> None:
    n = len(docs)
    aliases = docs.aliases or [[] for _ in range(n)]
    alias_counts = np.fromiter((len(a) for a in aliases), np.uint64, count=n)
    alias_offsets = np.zeros(n + 1, np.uint64)
    np.cumsum(alias_counts, out=alias_offsets[1:])
    t_off, t_blob = pack_strings(docs.titles)
    a_off, a_blob = pack_strings([a for lst in aliases for a in lst])
    inlinks = docs.inlinks if docs.inlinks is not None else np.zeros(n, np.uint32)
    extra = {} if docs.title_order is None else {"title_order": np.asarray(docs.title_order, np.int32)}
    write_container(path, b"DOCS", {**extra,
        "page_id": np.asarray(docs.page_ids, np.int64),
        "field_lengths": np.asarray(docs.field_lengths, np.uint32).reshape(n, N_FIELDS),
        "title_offsets": t_off, "title_blob": t_blob,
        "alias_offsets": alias_offsets, "alias_title_offsets": a_off, "alias_blob": a_blob,
        "inlinks": np.asarray(inlinks, np.uint32),
    }, meta={"n_docs": n, "fields": list(FIELDS)})


def write_store(path, compressed_docs: list[bytes]) -> None:
    """Write already-compressed documents (see :func:`compress_doc`)."""
    offsets = np.zeros(len(compressed_docs) + 1, np.uint64)
    if compressed_docs:
        np.cumsum([len(c) for c in compressed_docs], out=offsets[1:])
    crcs = np.fromiter((zlib.crc32(c) for c in compressed_docs), np.uint32, count=len(compressed_docs))
    write_container(path, b"STOR", {"doc_offsets": offsets, "doc_crc": crcs,
                                    "data": np.frombuffer(b"".join(compressed_docs), np.uint8)},
                    meta={"n_docs": len(compressed_docs), "compression": "zlib"})


def quantize_bounds(bounds) -> np.ndarray:
    """Bounds in [0, 1] -> uint8 ``ceil(255 * bound)``: dequantized, still an upper bound."""
    b = np.asarray(bounds, np.float64)
    return np.clip(np.ceil(b * 255.0 + 1e-9), 0, 255).astype(np.uint8)


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
        self._len_parts, self._df_parts, self._plen_parts, self._bound_parts = [], [], [], []
        self._post_path = self.dir / "postings.part"
        self._post = open(self._post_path, "wb")
        self.n_postings = 0
        self.postings_bytes = 0

    def add_many(self, terms: list[str], post_offsets, docids, masks, tfs, bounds=None) -> None:
        """Add sorted terms' lists (CSR as in ``invert.Postings``), encoded in one call."""
        if not terms:
            return
        encoded = [t.encode("utf-8", "surrogatepass") for t in terms]
        lengths = np.fromiter(map(len, encoded), np.int64, count=len(encoded))
        self.add_encoded(np.frombuffer(b"".join(encoded), np.uint8), lengths, post_offsets, docids,
                         masks, tfs, bounds)

    def add_encoded(self, term_bytes: np.ndarray, term_lengths: np.ndarray, post_offsets, docids,
                    masks, tfs, bounds=None) -> None:
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
        self._bound_parts.append(quantize_bounds(np.zeros(n) if bounds is None else bounds))
        self.n_postings += int(dfs.sum())
        self.postings_bytes += int(byte_offsets[-1])

    def add(self, term: str, docids, masks, tfs, bound: float = 0.0) -> None:
        self.add_many([term], np.array([0, len(docids)]), docids, masks, tfs, [bound])

    def _dictionary(self) -> dict[str, np.ndarray]:
        cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt))
        return {"term_bytes": cat(self._term_parts, np.uint8), "term_lengths": cat(self._len_parts, np.int64),
                "doc_freq": cat(self._df_parts, np.int64), "post_lens": cat(self._plen_parts, np.int64),
                "bound_q": cat(self._bound_parts, np.uint8)}

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
            dicts.append({k: np.array(c[k]) for k in ("term_bytes", "term_lengths", "doc_freq",
                                                      "post_lens", "bound_q")})
            for k in stats:
                stats[k] += int(c.meta[k])
        finally:
            c.close()
        posts.append(Path(d) / "postings.part")
    _write_term_files(Path(out_dir), posts, dicts, codec_name)
    return stats


def _write_term_files(directory: Path, post_paths: list[Path], dicts: list[dict], codec_name: str) -> None:
    cat = (lambda k, dt: np.concatenate([d[k] for d in dicts]) if dicts else np.zeros(0, dt))
    lengths = cat("term_lengths", np.int64)
    term_offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=term_offsets[1:])
    dfs = cat("doc_freq", np.int64)
    blob, block_offsets, block_post = SK.encode_dictionary(
        cat("term_bytes", np.uint8), term_offsets, dfs, cat("post_lens", np.int64), cat("bound_q", np.uint8))
    block_crc = _range_crcs(post_paths, block_post)
    w = ContainerWriter(directory / "postings.bin", b"POST", meta={"codec": codec_name})
    w.add_files("data", post_paths)
    w.close()
    n_terms = len(dfs)
    write_container(directory / "terms.bin", b"TERM", {
        "blob": blob, "block_offsets": block_offsets.astype(np.uint64),
        "block_post_offsets": block_post.astype(np.uint64), "block_crc": block_crc,
    }, meta={"n_terms": n_terms, "codec": codec_name, "term_block": SK.TERM_BLOCK,
             "max_term_bytes": int(lengths.max()) if n_terms else 0})


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
                crc = zlib.crc32(chunk, crc)
                need -= len(chunk)
            out[i] = crc
    finally:
        if f is not None:
            f.close()
    return out


def write_json_atomic(path, obj) -> None:
    """Write JSON to ``path`` via a fsynced temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentReader:
    """Read-only view of one segment directory (mmapped; safe to share between threads)."""

    def __init__(self, path, *, verify: bool | None = None, sparse: bool = False):
        self.path = Path(path)
        kw = {"verify": verify, "sparse": sparse}   # sparse: see Container
        self.terms_c = Container(self.path / "terms.bin", b"TERM", **kw)
        self.post_c = Container(self.path / "postings.bin", b"POST", **kw)
        self.docs_c = Container(self.path / "docs.bin", b"DOCS", **kw)
        store = self.path / "store.bin"
        self.store_c = Container(store, b"STOR", **kw) if store.exists() else None
        self.codec = get_codec(self.post_c.meta["codec"])
        t = self.terms_c
        self._blob = None if sparse else t["blob"]   # sparse: read ranges with terms_c.read
        self._block_offsets = np.asarray(t["block_offsets"]).view(np.int64)
        self._block_post = np.asarray(t["block_post_offsets"]).view(np.int64)
        self._block_crc = t["block_crc"]
        self._verified = np.zeros(len(self._block_crc), np.bool_)
        self._post_data = None if sparse else self.post_c["data"]
        self.n_terms = int(t.meta["n_terms"])
        self._entries: dict[int, tuple] = {}
        d = self.docs_c
        self.page_ids = d["page_id"]
        self.field_lengths = d["field_lengths"]
        self.inlinks = d["inlinks"]
        self.n_docs = int(d.meta["n_docs"])
        self._check_shapes()

    def _check_shapes(self) -> None:
        n, m = self.n_terms, self.n_docs
        n_blocks = -(-n // SK.TERM_BLOCK)
        checks = [(self._block_offsets.shape[0], n_blocks + 1, self.terms_c),
                  (self._block_post.shape[0], n_blocks + 1, self.terms_c),
                  (self._block_crc.shape[0], n_blocks, self.terms_c),
                  (self.page_ids.shape[0], m, self.docs_c),
                  (self.field_lengths.shape, (m, N_FIELDS), self.docs_c)]
        for found, expected, c in checks:
            if found != expected:
                raise CorruptIndexError(c.path, "inconsistent array sizes", expected=expected, found=found)
        post_size, blob_size = self.post_c.shape("data")[0], self.terms_c.shape("blob")[0]
        if int(self._block_post[-1]) != post_size or int(self._block_offsets[-1]) != blob_size:
            raise CorruptIndexError(self.post_c.path, "postings size disagrees with the term dictionary",
                                    expected=int(self._block_post[-1]), found=post_size)

    # --- terms -------------------------------------------------------------------------------
    def _damaged(self, what: str):
        return CorruptIndexError(self.terms_c.path, f"term dictionary is damaged ({what})")

    def lookup(self, term: str):
        """``(ordinal, df, post_start, post_len, bound)`` of a term, or None if absent."""
        key = np.frombuffer(term.encode("utf-8", "surrogatepass"), np.uint8)
        o, df, start, plen, bq, status = SK.seek(self._blob, self._block_offsets, self._block_post,
                                                 self.n_terms, key, True)
        if status:
            raise self._damaged(f"looking up {term!r}")
        return None if o < 0 else (o, df, start, plen, bq / 255.0)

    def _entry(self, ordinal: int) -> tuple:
        entry = self._entries.get(ordinal)
        if entry is None:
            if not 0 <= ordinal < self.n_terms:
                raise IndexError(f"term ordinal {ordinal} out of range")
            b = ordinal // SK.TERM_BLOCK
            tb, to, dfs, starts, lens, bq, ok = SK.decode_blocks(
                self._blob, self._block_offsets, self._block_post, b, b + 1, self.n_terms)
            if not ok:
                raise self._damaged(f"block {b}")
            block = {}
            for j in range(len(dfs)):
                term = tb[to[j]:to[j + 1]].tobytes().decode("utf-8", "surrogatepass")
                block[b * SK.TERM_BLOCK + j] = (term, int(dfs[j]), int(starts[j]), int(lens[j]),
                                                bq[j] / 255.0)
            if len(self._entries) > 65536:   # bounded: a long-running searcher stays small
                self._entries = {}
            self._entries.update(block)
            return block[ordinal]
        return entry

    def term(self, ordinal: int) -> str:
        return self._entry(ordinal)[0]

    def iter_terms(self, batch_blocks: int = 256):
        """Yield ``(term, ordinal, df, post_start, post_len)`` in order, decoding in batches."""
        n_blocks = len(self._block_crc)
        ordinal = 0
        for b0 in range(0, n_blocks, batch_blocks):
            b1 = min(n_blocks, b0 + batch_blocks)
            tb, to, dfs, starts, lens, _bq, ok = SK.decode_blocks(
                self._blob, self._block_offsets, self._block_post, b0, b1, self.n_terms)
            if not ok:
                raise self._damaged(f"blocks {b0}-{b1}")
            terms = _split_utf8(tb, to)
            for j, term in enumerate(terms):
                yield term, ordinal, int(dfs[j]), int(starts[j]), int(lens[j])
                ordinal += 1

    def terms(self) -> list[str]:
        return [t[0] for t in self.iter_terms()]

    def term_ordinal(self, term: str) -> int:
        """Ordinal of ``term`` in the sorted dictionary; -1 if absent."""
        found = self.lookup(term)
        return -1 if found is None else found[0]

    def lower_bound(self, term: str) -> int:
        """Ordinal of the first term >= ``term`` (n_terms if none)."""
        key = np.frombuffer(term.encode("utf-8", "surrogatepass"), np.uint8)
        o, *_rest, status = SK.seek(self._blob, self._block_offsets, self._block_post,
                                    self.n_terms, key, False)
        if status:
            raise self._damaged(f"seeking {term!r}")
        return int(o)

    def terms_with_prefix(self, prefix: str, limit: int = 100) -> list[str]:
        out, i = [], self.lower_bound(prefix)
        while i < self.n_terms and len(out) < limit:
            t = self.term(i)
            if not t.startswith(prefix):
                break
            out.append(t)
            i += 1
        return out

    def doc_freq(self, ordinal: int) -> int:
        return self._entry(ordinal)[1]

    def term_bound(self, ordinal: int) -> float:
        """Upper bound of the term's BM25F saturated tf part (quantized up to 1/255)."""
        return self._entry(ordinal)[4]

    def _check_block(self, ordinal: int) -> None:
        b = ordinal // SK.TERM_BLOCK
        if self._verified[b]:
            return
        a, e = int(self._block_post[b]), int(self._block_post[b + 1])
        crc = zlib.crc32(self._post_data[a:e])
        if crc != int(self._block_crc[b]):
            raise CorruptIndexError(self.post_c.path, f"checksum mismatch in the postings of terms "
                                    f"{b * SK.TERM_BLOCK}-{(b + 1) * SK.TERM_BLOCK - 1}",
                                    expected=f"{int(self._block_crc[b]):08x}", found=f"{crc:08x}")
        self._verified[b] = True

    def raw_postings(self, ordinal: int, entry: tuple | None = None):
        """The encoded bytes of a term's list, its block checksum verified once per reader."""
        _t, _df, start, plen, _b = entry or self._entry(ordinal)
        self._check_block(ordinal)
        return self._post_data[start:start + plen]

    def postings(self, ordinal: int):
        """(docids int32, masks uint16, tfs uint32) of a term, checksum-verified."""
        entry = self._entry(ordinal)
        data = self.raw_postings(ordinal, entry)
        try:
            return self.codec.decode(data, entry[1])
        except (ValueError, IndexError, CorruptIndexError) as e:
            raise CorruptIndexError(self.post_c.path, f"undecodable postings of term #{ordinal} ({e})") from None

    # --- documents ---------------------------------------------------------------------------
    def title(self, docid: int) -> str:
        d = self.docs_c
        o = d["title_offsets"]
        return d["title_blob"][int(o[docid]):int(o[docid + 1])].tobytes().decode("utf-8", "surrogatepass")

    def titles(self) -> list[str]:
        return unpack_strings(self.docs_c["title_offsets"], self.docs_c["title_blob"])

    def redirects(self, docid: int) -> list[str]:
        d = self.docs_c
        ao = d["alias_offsets"]
        to, blob = d["alias_title_offsets"], d["alias_blob"]
        out = []
        for k in range(int(ao[docid]), int(ao[docid + 1])):
            out.append(blob[int(to[k]):int(to[k + 1])].tobytes().decode("utf-8", "surrogatepass"))
        return out

    def page_id(self, docid: int) -> int:
        return int(self.page_ids[docid])

    def stored_doc(self, docid: int) -> bytes | None:
        """The compressed stored text of a document, checksum-verified (None if not stored)."""
        if self.store_c is None:
            return None
        s = self.store_c
        o = s["doc_offsets"]
        data = s["data"][int(o[docid]):int(o[docid + 1])]
        crc = zlib.crc32(data)
        if crc != int(s["doc_crc"][docid]):
            raise CorruptIndexError(s.path, f"checksum mismatch in stored document {docid}",
                                    expected=f"{int(s['doc_crc'][docid]):08x}", found=f"{crc:08x}")
        return data.tobytes()

    def stored_text(self, docid: int) -> dict[str, str] | None:
        raw = self.stored_doc(docid)
        if raw is None:
            return None
        try:
            parts = zlib.decompress(raw).decode("utf-8", "surrogatepass").split(SEP_FIELD)
        except zlib.error as e:
            raise CorruptIndexError(self.store_c.path, f"stored document {docid} is damaged ({e})") from None
        return dict(zip(FIELDS, parts))

    def close(self) -> None:
        for c in (self.terms_c, self.post_c, self.docs_c, self.store_c):
            if c is not None:
                c.close()


class IndexReader(SegmentReader):
    """A published index: a merged segment plus its ``manifest.json``.

    >>> r = IndexReader("wikisearch-index")          # doctest: +SKIP
    >>> r.postings(r.term_ordinal("berlin"))          # doctest: +SKIP
    """

    def __init__(self, path, *, verify: bool | None = None):
        from wikisearch.errors import FormatTooNewError, FormatTooOldError, IndexNotFoundError
        path = Path(path)
        mpath = path / "manifest.json"
        if not path.is_dir():
            raise IndexNotFoundError(f"no index at {path} (build one with `wikisearch index DUMP -o {path}`)")
        if not mpath.exists():
            raise IndexNotFoundError(f"{path} is not a complete wikisearch index (no manifest.json; "
                                     "an interrupted build? rerun `wikisearch index` to resume it)")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
            if manifest.get("format") != "wikisearch-index":
                raise ValueError("not a wikisearch manifest")
            expected = manifest.get("checksum")
            found = manifest_checksum(manifest)
        except (OSError, ValueError, AttributeError, TypeError) as e:
            raise CorruptIndexError(mpath, f"unreadable manifest ({e})") from None
        if expected != found:
            raise CorruptIndexError(mpath, "manifest checksum mismatch", expected=expected, found=found)
        version = manifest.get("format_version")
        if version > FORMAT_VERSION:
            raise FormatTooNewError(f"index {path} has format version {version}; this wikisearch reads "
                                    f"up to {FORMAT_VERSION}: upgrade wikisearch")
        if version < FORMAT_VERSION:
            raise FormatTooOldError(f"index {path} has format version {version}; rebuild it with "
                                    "`wikisearch index`")
        self.manifest = manifest
        super().__init__(path, verify=verify)
        for name, info in manifest["files"].items():
            size = (path / name).stat().st_size
            if size != info["bytes"]:
                raise CorruptIndexError(path / name, "size differs from the manifest",
                                        expected=info["bytes"], found=size)
        self._load_settings()

    def _load_settings(self) -> None:
        from wikisearch.analysis.analyzer import Analyzer
        from wikisearch.config import RankConfig
        from wikisearch.ingest.dump import SiteInfo
        m = self.manifest
        self.siteinfo = SiteInfo.from_json(m["siteinfo"])
        self.analyzer = Analyzer.from_json(m["analyzer"])
        self.rank_config = RankConfig.from_json(m["rank"])
        self.avg_field_lengths = np.asarray([m["stats"]["avg_field_lengths"][f] for f in FIELDS], np.float64)
        from wikisearch.popularity.priors import load_priors
        self.priors = load_priors(self)   # priors.bin, an optional add-on (None without it)
        self._title_order = self.docs_c.arrays.get("title_order")

    def url(self, docid: int) -> str:
        return self.siteinfo.url(self.title(docid))

    def docid_for_title(self, title: str) -> int:
        """Docid of the document with exactly this title; -1 if absent."""
        order = self._title_order
        if order is None:
            return -1
        key = title.encode("utf-8", "surrogatepass")
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.title(int(order[mid])).encode("utf-8", "surrogatepass") < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(order) and self.title(int(order[lo])) == title:
            return int(order[lo])
        return -1

    def stored_text(self, docid: int) -> dict[str, str] | None:
        texts = super().stored_text(docid)
        if texts is not None:
            texts["redirect"] = "\n".join(self.redirects(docid))
        return texts


def open_index(path, **kw) -> IndexReader:
    return IndexReader(path, **kw)
