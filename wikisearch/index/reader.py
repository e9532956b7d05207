"""reader: a published index opened for reading, and the interface every index reader offers.

:class:`Reader` is the one interface where the implementations meet: search, popularity, dense
and evaluation code talk to an index only through it; :class:`IndexReader` (the merged segment
on disk plus its checked ``manifest.json``) and the tests' in-memory index both implement it.

>>> r = IndexReader("wikisearch-index")          # doctest: +SKIP
>>> r.postings(r.term_ordinal("berlin"))          # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from wikisearch.analysis.analyzer import Analyzer
from wikisearch.config import FIELDS, RankConfig
from wikisearch.fileio import pack_strings, signed_offsets
from wikisearch.index import _strings_kernels as SK
from wikisearch.index.blockmax import FILE as BLOCKS_FILE, BlockMaxima
from wikisearch.errors import CorruptIndexError, IndexNotFoundError
from wikisearch.index.manifest import read_manifest
from wikisearch.index.publish import resolve_index
from wikisearch.index.segment import SegmentReader
from wikisearch.ingest.site import SiteInfo


@runtime_checkable
class Reader(Protocol):
    """What searching, ranking add-ons and evaluation may ask of an index.

    Arrays: ``page_ids`` int64[n], ``field_lengths`` uint32[n, fields], ``inlinks`` uint32[n]
    (links from the dump), ``avg_field_lengths`` float64[fields]. ``codec_name`` is the postings
    codec ("bitpacked" lets search score a list straight from :meth:`raw_postings`), or None.
    ``path`` and ``manifest`` are None / {} for an index that is not on disk.
    """

    path: Path | None
    manifest: dict
    n_docs: int
    n_terms: int
    analyzer: object
    rank_config: RankConfig
    siteinfo: object
    codec_name: str | None
    block_maxima: object            # index.blockmax.BlockMaxima of the long lists, or None
    postings_data: object           # all postings bytes (with codec "bitpacked"), or None
    page_ids: np.ndarray
    field_lengths: np.ndarray
    avg_field_lengths: np.ndarray
    inlinks: np.ndarray

    def term_ordinal(self, term: str) -> int: ...
    def term_ordinals(self, terms: list[str]) -> list[int]: ...   # term_ordinal of each
    def doc_freq(self, ordinal: int) -> int: ...
    def postings(self, ordinal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    def raw_postings(self, ordinal: int): ...
    def title(self, docid: int) -> str: ...
    def titles(self) -> list[str]: ...
    def url(self, docid: int) -> str: ...
    def page_id(self, docid: int) -> int: ...
    def redirects(self, docid: int) -> list[str]: ...
    def alias_table(self) -> tuple[np.ndarray, list[str]]: ...
    def alias_title(self, a: int) -> str: ...
    def stored_text(self, docid: int) -> dict[str, str] | None: ...
    def stored_doc(self, docid: int) -> bytes | None: ...    # stored_text's bytes (store.encode_doc)
    # stored_doc's first bytes, up to its first prose_chars characters of prose at least
    # (store.prefix_end: what a snippet scans), or all of them
    def stored_prefix(self, docid: int, prose_chars: int) -> bytes | None: ...
    def docids_for_titles(self, titles: list[str], *, redirects: bool = True) -> np.ndarray: ...


class IndexReader(SegmentReader):
    """A published index: the merged segment plus its checked ``manifest.json`` (see
    :func:`wikisearch.index.manifest.read_manifest` for the errors it raises)."""

    def __init__(self, path, *, verify: bool | None = None):
        given = Path(path)
        while True:
            path = resolve_index(given)     # one generation: every file below comes from it
            try:
                self._open(path, verify)
                break
            except (IndexNotFoundError, CorruptIndexError, FileNotFoundError):
                # a publish removed the generation we resolved before its files were open: try
                # the one the link names now (each retry follows a finished publish)
                if resolve_index(given) == path:
                    raise
        self.index_path = given

    def _open(self, path: Path, verify: bool | None) -> None:
        manifest = read_manifest(path)
        self.manifest = manifest
        super().__init__(path, verify=verify, store="store.bin" in manifest["files"])
        self.siteinfo = SiteInfo.from_json(manifest["siteinfo"])
        self.analyzer = Analyzer.from_json(manifest["analyzer"])
        self.rank_config = RankConfig.from_json(manifest["rank"])
        self.avg_field_lengths = np.asarray([manifest["stats"]["avg_field_lengths"][f] for f in FIELDS],
                                            np.float64)
        self._title_order = None      # int32, docids by title bytes (checked on first use)
        bm = path / BLOCKS_FILE
        self.block_maxima = BlockMaxima(bm, verify=verify) if BLOCKS_FILE in manifest["files"] else None
        self._aliases: tuple[np.ndarray, np.ndarray] | None = None

    def url(self, docid: int) -> str:
        return self.siteinfo.url(self.title(docid))

    def docids_for_titles(self, titles: list[str], *, redirects: bool = True) -> np.ndarray:
        """Docid of the document with exactly each title (int64; -1 if none); with ``redirects``,
        a redirect title gives its target. Binary search over the titles sorted by bytes."""
        if not titles:
            return np.zeros(0, np.int64)
        d = self.docs_c
        key_off, keys = pack_strings(titles)
        if self._title_order is None:   # a binary search reads anywhere: check the arrays whole
            self._title_order = d.checked("title_order")
        offsets = signed_offsets(d.checked("title_offsets"))
        if self.titles_coded:           # format 10: compared as they are decoded
            out = self.title_table.find_many(d.checked("title_codes"), offsets, self._title_order, keys,
                                             key_off.view(np.int64))
        else:
            out = SK.find_many(d.checked("title_blob"), offsets, self._title_order, keys, key_off.view(np.int64))
        miss = np.flatnonzero(out < 0)
        if redirects and len(miss) and d.shape("alias_blob")[0]:
            alias_doc, alias_order = self._aliases_sorted()
            mo, mk = pack_strings([titles[i] for i in miss.tolist()])
            found = SK.find_many(d.checked("alias_blob"), signed_offsets(d.checked("alias_title_offsets")),
                                 alias_order, mk, mo.view(np.int64))
            ok = found >= 0
            out[miss[ok]] = alias_doc[found[ok]]
        return out

    def docid_for_title(self, title: str, *, redirects: bool = False) -> int:
        """:meth:`docids_for_titles` of one title (by default exact titles only)."""
        return int(self.docids_for_titles([title], redirects=redirects)[0])

    def _aliases_sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """(docid of every alias, the aliases' order by bytes), made once (not stored)."""
        if self._aliases is None:
            alias_doc, aliases = self.alias_table()
            keys = [a.encode("utf-8", "surrogatepass") for a in aliases]
            self._aliases = (alias_doc.astype(np.int64),
                             np.asarray(sorted(range(len(keys)), key=keys.__getitem__), np.int64))
        return self._aliases

    def close(self) -> None:
        super().close()
        if self.block_maxima is not None:
            self.block_maxima.close()

    def stored_text(self, docid: int) -> dict[str, str] | None:
        texts = super().stored_text(docid)
        if texts is not None:
            texts["redirect"] = "\n".join(self.redirects(docid))
        return texts


def open_index(path, **kw) -> IndexReader:
    return IndexReader(path, **kw)
