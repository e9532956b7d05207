"""suggest: title autocomplete over titles and redirect titles, the most popular pages first.

>>> [s.title for s in open("wikisearch-index").suggest("lata man", k=3)]   # doctest: +SKIP
['Lata Mangeshkar']

Every title and redirect title gets a *key*: its words folded as the analyzer folds a word (case,
compatibility forms, diacritics; no stemming, no stopwords), punctuation a word break (apostrophes
and periods dropped: "Alzheimer's" -> "alzheimers", "U.S." -> "us"), joined by one space. Keys are
sorted by UTF-8 bytes; a prefix's matches are one range, found by binary search; its best entries by
the popularity prior (``priors.popularity``; then titles before redirects, shorter keys, docid)
come from a bounded heap over blocks of 256 entries taken by decreasing block maximum, so a
one-letter prefix over millions of titles reads a few blocks, not its whole range (a fuzzy
prefix's trie nodes, often a hundred ranges, share one heap and one block order); one
suggestion per page. The keys (``keys.py``) are made by the build and stored in the index
(``suggest.bin``, ``suggest_table.py``): 16 bytes per title or redirect plus the key bytes, so
6.9M articles and their ~11M redirects take 0.6-0.8 GB, mapped. An index built before that
has them in ``priors.bin`` (``wikisearch priors``) or makes them when a Suggester opens
(:func:`suggest_arrays`, minutes at full scale).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wikisearch.fileio import signed_offsets
from wikisearch.index import _strings_kernels as SK
from wikisearch.jit import readonly
from wikisearch.popularity import _priors_kernels as PK
from wikisearch.popularity import _suggest_kernels as FK
from wikisearch.popularity.keys import prefix_key, suggest_key, suggest_keys  # noqa: F401 (re-exported)
from wikisearch.popularity.priors import Priors, popularity
from wikisearch.popularity.suggest_table import load_suggest_table

#: Fuzzy completions: typed keys (characters) of at least FUZZY_MIN get 1 edit, of at least
#: FUZZY_TWO 2 edits; a walk visits at most FUZZY_NODES trie nodes.
FUZZY_MIN = 3
FUZZY_TWO = 6
FUZZY_NODES = 200_000
#: Bytes taken as typed before a 2-edit search (typos in the first letter are rare, and letting
#: two edits start there visits most of the first three levels of the trie).
FUZZY_ANCHOR = 1
#: Entries per block of the block-maximum popularity array that lets a short prefix's range be
#: searched for its most popular pages without reading all of it.
BLOCK = 256


def suggest_arrays(reader) -> dict:
    """The sorted key table of an index's titles and redirect titles, made from Python strings
    (the oracle of ``suggest_table``, which the build stores; an index built without it stores
    this in priors.bin or makes it at open).

    ``suggest_offsets`` uint64[E+1] and ``suggest_blob`` uint8[]: the keys, sorted by bytes;
    ``suggest_doc`` int32[E]: the page each leads to; ``suggest_alias`` int32[E]: -1 for a
    title, else the redirect's index in docs.bin's alias arrays.
    """
    n = int(reader.n_docs)
    titles = reader.titles()
    alias_doc, aliases = reader.alias_table()
    keys = [k.encode("utf-8", "surrogatepass") for k in suggest_keys(titles + aliases)]
    entry_doc = np.concatenate([np.arange(n, dtype=np.int32), alias_doc.astype(np.int32)])
    entry_alias = np.concatenate([np.full(n, -1, np.int32), np.arange(len(aliases), dtype=np.int32)])
    # sorted as sorted(range(E), key=keys.__getitem__) sorts them (stable), by the strings' kernel
    # (~5x faster than Python's sort and list building here: a server without priors.bin does
    # this at every start); empty keys (a title of punctuation alone) left out
    lengths = np.fromiter(map(len, keys), np.int64, len(keys))
    all_offsets = np.zeros(len(keys) + 1, np.int64)
    np.cumsum(lengths, out=all_offsets[1:])
    all_blob = np.frombuffer(bytearray(b"".join(keys)), np.uint8)
    idx = SK.sort_strings(all_blob, all_offsets)
    idx = idx[lengths[idx] > 0]
    offsets, blob = SK.gather_strings(all_blob, all_offsets, idx)
    return {"suggest_offsets": offsets.view(np.uint64), "suggest_blob": blob, "suggest_doc": entry_doc[idx],
            "suggest_alias": entry_alias[idx]}


def with_block_max(arrays: dict, scores: np.ndarray) -> dict:
    """The key table plus ``suggest_block_max`` (the best score of each block of BLOCK entries,
    for prior ``scores``): what ``priors.bin`` stores."""
    keys = {k: v for k, v in arrays.items() if k != "suggest_block_max"}
    # (mapped from suggest.bin and priors.bin, they are read-only: the kernel is compiled for
    # writable arrays, at install too, and a copy costs less than loading the compiler)
    doc = np.require(keys["suggest_doc"], requirements=["C", "W"])
    scores = np.require(scores, np.float64, requirements=["C", "W"])
    return {**keys, "suggest_block_max": PK.block_max(scores, doc, BLOCK)}


@dataclass(frozen=True)
class Suggestion:
    """One completion: the page (``title``, ``docid``, ``page_id``), the redirect title that
    matched (None when the title did) and the popularity prior that ordered it."""

    title: str
    docid: int
    page_id: int
    redirect: str | None
    score: float

    def __str__(self) -> str:
        return f"{self.redirect} \u2192 {self.title}" if self.redirect else self.title

    def to_json(self) -> dict:
        return {"title": self.title, "docid": self.docid, "page_id": self.page_id,
                "redirect": self.redirect, "score": self.score}


#: Said (``on_slow``) before the key table is made at open, for an index built without it.
SLOW_NOTE = ("Note: this index has no stored title-suggestion table (built before wikisearch stored "
             "one): making it now, which takes minutes and GBs at full scale; rebuild the index "
             "(`wikisearch index`), or store it once with `wikisearch priors`")


class Suggester:
    """Prefix search over one index's key table; safe to share between threads.

    The table comes from the index (``suggest.bin``, written by the build), else from an older
    index's ``priors.bin``, else it is made now (``on_slow(SLOW_NOTE)`` is called first); the
    block maxima of popularity are computed here unless priors.bin has them."""

    def __init__(self, reader, priors: Priors | None, on_slow=None):
        self.reader = reader
        self.popularity = np.ascontiguousarray(popularity(priors, reader.inlinks), np.float64)
        arrays = load_suggest_table(reader)
        if arrays is None and priors is not None:
            arrays = priors.suggest          # an index built without the table: priors.bin's
        if arrays is None:                    # neither: make the keys now
            if on_slow is not None:
                on_slow(SLOW_NOTE)
            arrays = suggest_arrays(reader)
        if "suggest_block_max" not in arrays:
            arrays = with_block_max(arrays, self.popularity)
        # read-only whether mapped from priors.bin or built now: one compiled kernel per type
        self.offsets = readonly(signed_offsets(arrays["suggest_offsets"]))   # (format 9: uint32 on disk)
        self.blob = readonly(np.asarray(arrays["suggest_blob"]))
        self.doc = readonly(np.asarray(arrays["suggest_doc"]))
        self.alias = readonly(np.asarray(arrays["suggest_alias"]))
        self._bmax = readonly(np.asarray(arrays["suggest_block_max"]))   # stored for the stored settings
        self.popularity = readonly(self.popularity)
        self._no_order = np.zeros(0, np.int64)

    def range(self, prefix: str) -> tuple[int, int]:
        """Entries [lo, hi) whose keys start with ``prefix``'s key."""
        return self._key_range(prefix_key(prefix).encode("utf-8", "surrogatepass"))

    def _key_range(self, key: bytes) -> tuple[int, int]:
        if not key:
            return 0, 0
        lo, hi = SK.prefix_range(self.blob, self.offsets, self._no_order, np.frombuffer(key, np.uint8))
        return int(lo), int(hi)

    def exact_range(self, text: str) -> tuple[int, int]:
        """Entries [lo, hi) whose key is exactly ``text``'s key."""
        key = suggest_key(text).encode("utf-8", "surrogatepass")
        if not key:
            return 0, 0
        lo, hi = SK.prefix_range(self.blob, self.offsets, self._no_order, np.frombuffer(key, np.uint8))
        start = end = int(lo)
        while end < hi and int(self.offsets[end + 1] - self.offsets[end]) == len(key):
            end += 1                           # sorted: the key itself comes first in its range
        return start, end

    def suggest(self, prefix: str, k: int = 10, fuzzy: bool = False) -> list[Suggestion]:
        """The ``k`` most popular pages whose title or a redirect title starts with ``prefix``;
        with ``fuzzy``, then (when fewer than ``k`` do) the most popular of those starting within
        1 edit of the typed key (3-5 characters) or 2 edits after its first letter (6 or more)."""
        key = prefix_key(prefix)                 # made once (it was twice for a fuzzy call: ~15 % of one)
        key_bytes = key.encode("utf-8", "surrogatepass")
        lo, hi = self._key_range(key_bytes)
        exact = self._best(lo, hi, k) if hi > lo and k > 0 else []
        if not fuzzy or len(exact) >= k or k <= 0:
            return [self._suggestion(e, float(self.popularity[self.doc[e]])) for e in exact]
        n_chars = len(key.rstrip())
        if n_chars < FUZZY_MIN:
            return [self._suggestion(e, float(self.popularity[self.doc[e]])) for e in exact]
        dist = 1 if n_chars < FUZZY_TWO else 2
        kb = np.frombuffer(key_bytes, np.uint8)
        anchor = FUZZY_ANCHOR if dist == 2 else 0
        lo0, hi0 = (int(x) for x in SK.prefix_range(self.blob, self.offsets, self._no_order, kb[:anchor])) \
            if anchor else (0, len(self.doc))
        los, his, _d = FK.fuzzy_ranges(self.blob, self.offsets, kb, dist, FUZZY_NODES, anchor, lo0, hi0)
        if not len(los):                         # nothing near (most long prefixes): the exact ones
            return [self._suggestion(e, float(self.popularity[self.doc[e]])) for e in exact]
        seen = {int(self.doc[e]) for e in exact}
        picked = list(exact) + self._best_of(los, his, k - len(exact), seen)
        return [self._suggestion(e, float(self.popularity[self.doc[e]])) for e in picked]

    def _best(self, lo: int, hi: int, k: int) -> list[int]:
        """Entries of the ``k`` most popular distinct pages among entries [lo, hi)."""
        return self._pick(lambda want: PK.range_top(self.popularity, self.doc, self.alias, self.offsets,
                                                    self._bmax, BLOCK, lo, hi, want), hi - lo, k, set())

    def _best_of(self, los: np.ndarray, his: np.ndarray, k: int, skip: set) -> list[int]:
        """Entries of the ``k`` most popular distinct pages not in ``skip`` among the entries of the
        disjoint ranges [los[i], his[i]) (a fuzzy walk's): one kernel call over all of them."""
        los = np.ascontiguousarray(los, np.int64)
        his = np.ascontiguousarray(his, np.int64)
        return self._pick(lambda want: PK.ranges_top(self.popularity, self.doc, self.alias, self.offsets,
                                                     self._bmax, BLOCK, los, his, want),
                          int((his - los).sum()), k, skip)

    def _pick(self, top, n_entries: int, k: int, skip: set) -> list[int]:
        """The first ``k`` distinct pages not in ``skip``, in (popularity desc, tie asc) order of
        the entries ``top(want)`` returns (the ``want`` best of ``n_entries``): several entries
        may share a page, so ``want`` grows until ``k`` pages are found or every entry was read."""
        if k <= 0 or n_entries <= 0:
            return []
        want = 4 * (k + len(skip)) + 16
        while True:
            sel = top(want)
            order = sel[np.lexsort((self._ties(sel), -self.popularity[self.doc[sel]]))]
            picked, seen = [], set(skip)
            for e in order.tolist():
                d = int(self.doc[e])
                if d not in seen:
                    seen.add(d)
                    picked.append(e)
                    if len(picked) == k:
                        break
            if len(picked) == k or len(sel) >= n_entries:
                return picked
            want *= 4

    def _ties(self, entries: np.ndarray) -> np.ndarray:
        """``_priors_kernels._tie`` of many entries at once."""
        # (int64 before the shift: format 9's offsets may be an int32 view, whose << 31 overflows)
        keylen = np.minimum(self.offsets[entries + 1].astype(np.int64) - self.offsets[entries], 511)
        return ((self.alias[entries] >= 0).astype(np.int64) << 40) | (keylen << 31) | \
            self.doc[entries].astype(np.int64)

    def _suggestion(self, e: int, score: float) -> Suggestion:
        r = self.reader
        d = int(self.doc[e])
        a = int(self.alias[e])
        redirect = r.alias_title(a) if a >= 0 else None
        return Suggestion(r.title(d), d, r.page_id(d), redirect, score)
