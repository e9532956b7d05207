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

from .codec import get_codec
from .config import FIELDS, N_FIELDS
from .container import Container, ContainerWriter, write_container
from .errors import CorruptIndexError

SEP_FIELD = "\x1f"


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


class TermWriter:
    """Streams encoded postings lists to ``postings.bin`` and collects the term dictionary."""

    def __init__(self, directory: Path, codec_name: str):
        self.dir = Path(directory)
        self.codec = get_codec(codec_name)
        self.terms: list[str] = []
        self.doc_freq: list[int] = []
        self.crc: list[int] = []
        self.bound: list[float] = []
        self.offsets: list[int] = [0]
        self._post = open(self.dir / "postings.part", "wb")

    def add(self, term: str, docids, masks, tfs, bound: float = 0.0) -> None:
        data = self.codec.encode(docids, masks, tfs)
        self.add_encoded(term, len(docids), data, bound)

    def add_encoded(self, term: str, df: int, data: bytes, bound: float = 0.0) -> None:
        self._post.write(data)
        self.terms.append(term)
        self.doc_freq.append(df)
        self.crc.append(zlib.crc32(data))
        self.bound.append(bound)
        self.offsets.append(self.offsets[-1] + len(data))

    def close(self) -> dict:
        self._post.close()
        data = np.fromfile(self.dir / "postings.part", np.uint8)
        write_container(self.dir / "postings.bin", b"POST", {"data": data},
                        meta={"codec": self.codec.name})
        os.unlink(self.dir / "postings.part")
        t_off, t_blob = pack_strings(self.terms)
        write_container(self.dir / "terms.bin", b"TERM", {
            "term_offsets": t_off, "term_blob": t_blob,
            "doc_freq": np.asarray(self.doc_freq, np.uint32),
            "post_offsets": np.asarray(self.offsets, np.uint64),
            "post_crc": np.asarray(self.crc, np.uint32),
            "bound": np.asarray(self.bound, np.float32),
        }, meta={"n_terms": len(self.terms), "codec": self.codec.name})
        return {"n_terms": len(self.terms), "n_postings": int(sum(self.doc_freq)),
                "postings_bytes": int(self.offsets[-1])}


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

    def __init__(self, path, *, verify: bool | None = None):
        self.path = Path(path)
        self.terms_c = Container(self.path / "terms.bin", b"TERM", verify=verify)
        self.post_c = Container(self.path / "postings.bin", b"POST", verify=verify)
        self.docs_c = Container(self.path / "docs.bin", b"DOCS", verify=verify)
        store = self.path / "store.bin"
        self.store_c = Container(store, b"STOR", verify=verify) if store.exists() else None
        self.codec = get_codec(self.post_c.meta["codec"])
        t = self.terms_c
        self._term_offsets = t["term_offsets"]
        self._term_blob = t["term_blob"]
        self._term_mv = memoryview(self._term_blob)
        self._doc_freq = t["doc_freq"]
        self._post_offsets = t["post_offsets"]
        self._post_crc = t["post_crc"]
        self._bound = t["bound"]
        self._post_data = self.post_c["data"]
        self.n_terms = int(t.meta["n_terms"])
        d = self.docs_c
        self.page_ids = d["page_id"]
        self.field_lengths = d["field_lengths"]
        self.inlinks = d["inlinks"]
        self.n_docs = int(d.meta["n_docs"])
        self._check_shapes()

    def _check_shapes(self) -> None:
        n, m = self.n_terms, self.n_docs
        checks = [(self._term_offsets.shape[0], n + 1, self.terms_c), (self._doc_freq.shape[0], n, self.terms_c),
                  (self._post_offsets.shape[0], n + 1, self.terms_c), (self.page_ids.shape[0], m, self.docs_c),
                  (self.field_lengths.shape, (m, N_FIELDS), self.docs_c)]
        for found, expected, c in checks:
            if found != expected:
                raise CorruptIndexError(c.path, "inconsistent array sizes", expected=expected, found=found)
        if n and int(self._post_offsets[-1]) != self._post_data.shape[0]:
            raise CorruptIndexError(self.post_c.path, "postings size disagrees with the term dictionary",
                                    expected=int(self._post_offsets[-1]), found=self._post_data.shape[0])

    # --- terms -------------------------------------------------------------------------------
    def term(self, ordinal: int) -> str:
        a, b = int(self._term_offsets[ordinal]), int(self._term_offsets[ordinal + 1])
        return bytes(self._term_mv[a:b]).decode("utf-8", "surrogatepass")

    def terms(self) -> list[str]:
        return unpack_strings(self._term_offsets, self._term_blob)

    def term_ordinal(self, term: str) -> int:
        """Binary search of the sorted dictionary; -1 if absent."""
        key = term.encode("utf-8", "surrogatepass")
        offs, mv = self._term_offsets, self._term_mv
        lo, hi = 0, self.n_terms
        while lo < hi:
            mid = (lo + hi) >> 1
            cur = bytes(mv[int(offs[mid]):int(offs[mid + 1])])
            if cur < key:
                lo = mid + 1
            elif cur > key:
                hi = mid
            else:
                return mid
        return -1

    def lower_bound(self, term: str) -> int:
        key = term.encode("utf-8", "surrogatepass")
        offs, mv = self._term_offsets, self._term_mv
        lo, hi = 0, self.n_terms
        while lo < hi:
            mid = (lo + hi) >> 1
            if bytes(mv[int(offs[mid]):int(offs[mid + 1])]) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

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
        return int(self._doc_freq[ordinal])

    def term_bound(self, ordinal: int) -> float:
        return float(self._bound[ordinal])

    def raw_postings(self, ordinal: int) -> memoryview:
        a, b = int(self._post_offsets[ordinal]), int(self._post_offsets[ordinal + 1])
        data = self._post_data[a:b]
        crc = zlib.crc32(data)
        if crc != int(self._post_crc[ordinal]):
            raise CorruptIndexError(self.post_c.path, f"checksum mismatch in the postings of term "
                                    f"#{ordinal}", expected=f"{int(self._post_crc[ordinal]):08x}",
                                    found=f"{crc:08x}")
        return data

    def postings(self, ordinal: int):
        """(docids int32, masks uint16, tfs uint32) of a term, checksum-verified."""
        data = self.raw_postings(ordinal)
        try:
            return self.codec.decode(data, int(self._doc_freq[ordinal]))
        except (ValueError, IndexError) as e:
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
        from .build import FORMAT_VERSION, manifest_checksum
        from .errors import FormatTooNewError, FormatTooOldError, IndexNotFoundError
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
        from .analyze import Analyzer
        from .config import RankConfig
        from .dump import SiteInfo
        m = self.manifest
        self.siteinfo = SiteInfo.from_json(m["siteinfo"])
        self.analyzer = Analyzer.from_json(m["analyzer"])
        self.rank_config = RankConfig.from_json(m["rank"])
        self.avg_field_lengths = np.asarray([m["stats"]["avg_field_lengths"][f] for f in FIELDS], np.float64)
        self.priors = None
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
