"""searcher: query text -> ranked hits over a built index.

>>> s = open("wikisearch-index")                     # doctest: +SKIP
>>> for hit in s.search("t:merkel", k=3):            # doctest: +SKIP
...     print(hit.rank, hit.title, round(hit.score, 2))

A plain OR of terms (the common case) is answered by one MaxScore kernel call over pre-scored
lists that stay cached between queries (``cache.ScoredLists``); queries with AND, phrases or
multi-term words go through exact boolean matching, then scoring of the candidates (phrases are
verified in the stored text, best-scored candidates first, only as far as needed: ``phrase``).
A :class:`Searcher` can be shared by threads: its caches only grow under a lock, and a query keeps
what it reads alive.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wikisearch.config import FIELDS, PriorConfig, RankConfig
from wikisearch.errors import InvalidQueryError
from wikisearch.index.reader import IndexReader, Reader
from wikisearch.popularity.priors import Priors, load_priors
from wikisearch.search import _blockmax_kernels as BK
from wikisearch.search import _maxscore_kernels as MK
from wikisearch.search import _search_kernels as K
from wikisearch.search.blockmax import BlockMaxSearch
from wikisearch.search.cache import SCORED_CACHE_POSTINGS, ScoredLists
from wikisearch.search.phrase import MAX_PHRASE_CHECKS, PhraseCheck, has_phrase  # noqa: F401 (re-exported)
from wikisearch.search.proximity import Proximity
from wikisearch.search.query import Literal, Query, parse_query, resolve_fields
from wikisearch.jit import readonly
from wikisearch.search.rank import (check_config, field_mask, idf as idf_of, kernel_lengths, kernel_params,
                                    mask_fields)
from wikisearch.search.results import Document, Hit, SearchResult
from wikisearch.search.snippets import (SNIPPET_CHARS, SnippetTerms, make_snippets, matched_via,
                                         matched_via_many, snippet_sources)
from wikisearch.search.startup import fast_start  # noqa: F401 (re-exported)

if TYPE_CHECKING:   # loaded when first used: a plain search needs neither (nor their kernels)
    from wikisearch.popularity.spelling import SpellingDictionary
    from wikisearch.popularity.suggest import Suggester
    from wikisearch.search.spelling import Corrector

_EMPTY_I32 = np.zeros(0, np.int32)
_NO_PRIOR = readonly(np.zeros(0, np.float64))   # (read-only already: the kernels take it so, and a
#                                                 view made read-only per query costs 2.3 us)
_CACHE_LIMIT = 200_000
_FIELD_NAMES = [tuple(mask_fields(m)) for m in range(1 << len(FIELDS))]


@dataclass
class _Terms:
    """The distinct scoring terms of a query that exist in the index, postings concatenated."""

    keys: list                       # (term, fields) per scoring term
    ordinals: np.ndarray             # int64[T]
    offsets: np.ndarray              # int64[T+1]
    docids: np.ndarray
    masks: np.ndarray
    tfs: np.ndarray
    fsel: np.ndarray                 # int64[T]
    idf: np.ndarray                  # float64[T]
    index: dict = field(default_factory=dict)   # (term, fields) -> t

    def docs(self, t: int) -> np.ndarray:
        return self.docids[self.offsets[t]:self.offsets[t + 1]]


class Searcher:
    """Searches one index. ``Searcher(path)`` or ``Searcher(reader)`` (any
    :class:`~wikisearch.index.reader.Reader`); see :meth:`search`. ``priors``: a
    :class:`~wikisearch.popularity.priors.Priors` to use instead of the index's ``priors.bin``.
    ``collection``: statistics to score with instead of the index's own (``n_docs``,
    ``avg_field_lengths``, ``doc_freq(term)``): those of all shards when this index is one
    (:mod:`wikisearch.search.sharded`)."""

    def __init__(self, index, *, cache_postings: int = SCORED_CACHE_POSTINGS, priors: Priors | None = None,
                 collection=None):
        if isinstance(index, (str, Path)):
            index = IndexReader(index)
        self.reader: Reader = index
        self.analyzer = index.analyzer
        self.n_docs = int(index.n_docs)
        #: The index's popularity prior (``priors.bin``), an optional add-on: None without it.
        self.priors = priors if priors is not None else load_priors(index)
        self._field_lengths = readonly(kernel_lengths(index.field_lengths))
        self.collection = collection
        self._avg = np.asarray((collection or index).avg_field_lengths, np.float64)
        self._params: dict = {}
        self._ordinals: dict = {}
        self._scored = ScoredLists(index, cache_postings, idf=self._idf)
        # first-sight plain-OR queries read long lists a block at a time (blocks.bin; its bounds
        # hold under the index's own statistics only)
        # (the re-ranker reads its candidates' postings a block at a time by the same block data:
        # their places need no statistics, so a shard of a collection reads them so too)
        self._block_lists = BlockMaxSearch(index, index.block_maxima, self._field_lengths) \
            if index.block_maxima is not None and index.codec_name == "bitpacked" else None
        self._blockmax = self._block_lists if collection is None else None
        self._words: dict = {}                  # word -> its terms (query.parse_query)
        self._suggester: Suggester | None = None
        self._corrector: Corrector | None = None
        self._spelling: SpellingDictionary | None = None
        self._proximity: Proximity | None = None
        #: Called with a one-line message before slow one-time work (building ``spelling.bin``
        #: on the first correction); the CLI prints it, so a long first query does not look hung.
        self.on_slow_start = None
        #: Where did-you-mean's dictionary comes from when it is not loaded yet: None, made or read
        #: by :meth:`spelling` on first need (the CLI); else a callable returning it, or None while
        #: it is not ready, at once (``wikisearch serve``: a process of its own builds spelling.bin,
        #: and no request waits for it: no correction until it is there).
        self.spelling_source = None
        self._term_docs: dict = {}              # term -> its docids, for query correction
        self._page_ids = None                   # the reader's page ids, once a search needs them
        self._lock = threading.Lock()

    # --- public ------------------------------------------------------------------------------
    def warmup(self) -> None:
        """Load (or compile) every kernel now, with the array types real queries use, so the first
        real query is fast: runs a few real searches over two words of one of the first titles."""
        words = self._warmup_words()
        a = words[0] if words else "warmup"
        b = words[1] if len(words) > 1 else a
        custom = RankConfig(k1=1.0)
        for text, rank in ((a, None), (f"{a} {b}", None), (f"{a} {b}", custom), (f"{a} AND {b}", None),
                           (f'"{a} {b}" -zzzz', None), (f"{a} -{b}", None)):
            try:
                self.search(text, k=3, rank=rank).total_matches
            except InvalidQueryError:
                pass

    @property
    def proximity(self) -> Proximity:
        """Term proximity in documents' prose for the re-ranker (:mod:`wikisearch.search.proximity`:
        from the index's ``forward.bin``, opened on first use, else from its stored text)."""
        if self._proximity is None:
            with self._lock:
                if self._proximity is None:
                    self._proximity = Proximity(self.reader)
        return self._proximity

    @property
    def word_cache(self) -> dict:
        """Words' terms as this searcher's query parsing analysed them (bounded; see
        :func:`~wikisearch.search.query.analyze_words`)."""
        return self._words

    def _warmup_words(self, titles: int = 64) -> list[str]:
        """The terms of one of the first ``titles`` titles with two distinct terms, the one whose
        rarer term the fewest documents hold: its phrase (counted exactly, so checked in every
        candidate's stored text) checks a few texts, not hundreds (a one-word title's phrase
        "anarch anarch" checked 152 texts, ~0.5 s). The first title's terms if none has two."""
        if not self.n_docs:
            return []
        first = list(self.analyzer.terms(self.reader.title(0)))
        best, best_df = first, None
        for d in range(min(self.n_docs, titles)):
            words = list(dict.fromkeys(self.analyzer.terms(self.reader.title(d))))
            if len(words) < 2:
                continue
            ords = [self._ordinal(w) for w in words[:2]]
            df = min(int(self.reader.doc_freq(o)) if o >= 0 else 0 for o in ords)
            if df and (best_df is None or df < best_df):
                best, best_df = words[:2], df
        return best

    def search(self, query: str, k: int = 10, rank: RankConfig | None = None,
               fields=None, priors: bool | PriorConfig | None = None, offset: int = 0,
               snippets: bool = False, snippet_chars: int = SNIPPET_CHARS,
               correct: bool = False) -> SearchResult:
        """Rank documents for ``query`` (see :mod:`wikisearch.search.query` for the syntax).

        ``rank`` overrides the index's ranking settings (weights, k1, b, model) for this query;
        ``fields`` (names or prefixes, e.g. ``["title", "c"]``) restricts every unprefixed word.
        ``priors``: None or True adds the index's popularity prior (``priors.bin``, if it has one)
        to every score, False leaves it out, a :class:`PriorConfig` overrides its weights.
        ``offset``: hits ``offset`` to ``offset + k`` (paging; ranks count from the first hit).
        ``snippets``: give every hit a :class:`~wikisearch.search.results.Snippet` of about
        ``snippet_chars`` characters of its stored text (:mod:`~wikisearch.search.snippets`).
        ``correct``: when a word looks misspelt, set ``result.suggestion`` ("did you mean"); when
        the query as typed finds nothing, return the corrected query's hits and set
        ``result.rewritten_query`` instead (:mod:`~wikisearch.search.spelling`). Opt-in, like
        snippets, so that the plain path pays nothing for it; the CLI and the server turn both on.
        Every hit's ``matched_via`` (title, redirect, heading, category) is worked out when read.

        >>> [h.title for h in open("idx").search("t:merkel", k=1)]     # doctest: +SKIP
        ['Angela Merkel']
        """
        if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
            raise InvalidQueryError(f"offset must be a non-negative integer, not {offset!r}")
        if isinstance(snippet_chars, bool) or not isinstance(snippet_chars, (int, np.integer)) \
                or snippet_chars < 1:
            raise InvalidQueryError(f"snippet_chars must be a positive integer, not {snippet_chars!r}")
        result = self._search_page(query, k, rank, fields, priors, offset)
        if correct:
            result = self._corrected(query, result, bool(offset),
                                     lambda text: self._search_page(text, k, rank, fields, priors, offset))
        self._explain(result, snippets, int(snippet_chars))
        return result

    def _corrected(self, query, result: SearchResult, paged: bool, again) -> SearchResult:
        """``result`` with its "did you mean" (``suggestion``), or, when the query as typed found
        nothing (and ``paged`` is False), ``again(corrected query)``'s result as
        ``rewritten_query``."""
        suggestion = self._suggestion(query, result.parsed)
        if suggestion is None:
            return result
        found = len(result.top[0]) if result.top is not None else len(result)
        if not found and not paged:
            other = again(suggestion)
            other.took_ms += result.took_ms
            other.query = result.query
            other.rewritten_query = suggestion
            return other
        result.suggestion = suggestion
        return result

    def first_stage(self, query: str, k: int, rank: RankConfig | None = None, fields=None,
                    priors: bool | PriorConfig | None = None, correct: bool = False) -> SearchResult:
        """What :meth:`search` finds for the top ``k`` (``offset`` 0, no snippets), as arrays and
        without hits: a :class:`SearchResult` with no hits whose ``top`` is ``(docids int64,
        scores float64, field masks)`` in rank order, and whose ``query``, ``parsed``, totals,
        warnings, flags, ``suggestion`` and ``rewritten_query`` are :meth:`search`'s; :meth:`hits`
        makes hits of any of them (a test compares both ways). For a caller that orders many
        candidates and shows a few (the re-ranker: 100 candidates, 10 hits), so that it makes
        hits only of those it shows."""
        result = self._search(query, k, rank, fields, priors, arrays=True)
        if correct:
            result = self._corrected(query, result, False,
                                     lambda text: self._search(text, k, rank, fields, priors, arrays=True))
        return result

    def hits(self, docids, scores, masks, first_rank: int = 1) -> list[Hit]:
        """Hits of documents ``docids`` with ``scores`` and matched-field ``masks`` (a
        :meth:`first_stage` result's ``top``, or part of it), ranked from ``first_rank``, as
        :meth:`search` makes them (``matched_via`` is set by :meth:`explain`)."""
        return self._hits(np.asarray(docids, np.int64), np.asarray(scores, np.float64),
                          np.asarray(masks, np.int64), first_rank)

    def _search_page(self, query, k, rank, fields, priors, offset) -> SearchResult:
        if offset:
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
                raise InvalidQueryError(f"k must be a non-negative integer, not {k!r}")
            return self._search(query, int(k) + int(offset), rank, fields, priors)[int(offset):]
        return self._search(query, k, rank, fields, priors)

    def _search(self, query, k, rank, fields, priors, arrays: bool = False) -> SearchResult:
        """The top ``k``; with ``arrays``, a result without hits whose ``top`` holds them as
        arrays (:meth:`first_stage`)."""
        t0 = time.perf_counter()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise InvalidQueryError(f"k must be a non-negative integer, not {k!r}")
        k = int(min(k, max(self.n_docs, 1)))
        rank = rank or self.reader.rank_config
        if not isinstance(rank, RankConfig):
            raise InvalidQueryError(f"rank must be a RankConfig, not {type(rank).__name__}")
        if rank not in self._params:
            try:
                check_config(rank)
            except ValueError as e:
                raise InvalidQueryError(f"bad ranking settings: {e}") from None
        prior = self._prior(priors)
        q = parse_query(query, self.analyzer, word_cache=self._words).with_default_fields(
            resolve_fields(fields))
        warnings = list(q.warnings)
        flags: dict = {"priors": True} if prior is not None else {}
        keys, ords = self._scoring_terms(q)
        params = self._kernel_params(rank)
        if not keys:                            # no positive term is in the index
            none = (np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64))
            return self._result(none if arrays else [], query, q, rank, warnings, lambda: (0, "eq"), t0, flags)
        if q.is_disjunction and not any(l.phrase for l in q.excluded):
            return self._search_or(q, keys, ords, params, rank, k, warnings, flags, t0, prior, arrays)
        terms = self._terms(keys, ords, rank)
        return self._search_boolean(q, terms, params, rank, k, warnings, flags, t0, prior, arrays)

    def suggest(self, prefix: str, k: int = 10, fuzzy: bool = True):
        """Titles and redirect titles starting with ``prefix`` (case- and accent-insensitive),
        the most popular pages first: a list of :class:`~wikisearch.popularity.suggest.Suggestion`.
        With ``fuzzy``, when fewer than ``k`` start so, titles starting within 1 edit of a prefix
        of 3-5 characters (2 edits if longer) follow, the most popular first.

        >>> [str(s) for s in open("idx").suggest("lata man", k=2)]      # doctest: +SKIP
        ['Lata Mangeshkar']
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise InvalidQueryError(f"k must be a non-negative integer, not {k!r}")
        return self._get_suggester().suggest(prefix, int(k), fuzzy=bool(fuzzy))

    def _get_suggester(self) -> Suggester:
        if self._suggester is None:
            with self._lock:
                if self._suggester is None:
                    from wikisearch.popularity.suggest import Suggester
                    self._suggester = Suggester(self.reader, self.priors, on_slow=self.on_slow_start)
        return self._suggester

    # --- what a person reads: did you mean, snippets, matched via -----------------------------
    def spelling(self, build: bool = True) -> SpellingDictionary | None:
        """The index's spelling dictionary (``spelling.bin``, made on first use); with
        ``build=False``, None rather than making it (a minute for 30k articles) when spelling.bin
        is missing or stale. With a :attr:`spelling_source`, what it returns (neither made nor
        read here)."""
        if self._spelling is None:
            if self.spelling_source is not None:
                self._spelling = self.spelling_source()
                return self._spelling
            with self._lock:
                if self._spelling is None:
                    from wikisearch.popularity.spelling import load_dictionary, stored_dictionary
                    if not build:
                        self._spelling = stored_dictionary(self.reader)
                        return self._spelling
                    self._spelling = load_dictionary(self.reader, say=self.on_slow_start)
        return self._spelling

    def _get_corrector(self) -> Corrector:
        if self._corrector is None:
            def doc_freq(term):
                o = self._ordinal(term)
                return int(self.reader.doc_freq(o)) if o >= 0 else 0

            def docs(term):
                got = self._term_docs.get(term)
                if got is None:
                    o = self._ordinal(term)
                    got = self.reader.postings(o)[0] if o >= 0 else _EMPTY_I32
                    if len(self._term_docs) > 256:
                        self._term_docs.clear()
                    self._term_docs[term] = got
                return got

            def title_prefix(text):
                lo, hi = self._get_suggester().range(text + " ")
                if hi > lo:
                    return True
                lo, hi = self._get_suggester().exact_range(text)
                return hi > lo
            from wikisearch.search.spelling import Corrector
            self._corrector = Corrector(self.analyzer, doc_freq, docs, self.spelling, title_prefix)
        return self._corrector

    def _suggestion(self, query: str, q: Query | None) -> str | None:
        """A corrected query when a word of ``query`` is rare or unknown (checked on the parsed
        terms' document frequencies first, so sure queries never load the dictionary)."""
        if q is None:
            return None
        from wikisearch.search.spelling import RARE_DOCS as SPELL_RARE_DOCS
        for lit in q.literals + list(q.filters):
            for t in lit.terms:
                o = self._ordinal(t)
                if o < 0 or self.reader.doc_freq(o) <= SPELL_RARE_DOCS:
                    return self._get_corrector().correct(query)
        return None

    def explain(self, result: SearchResult, snippets: bool = False,
                snippet_chars: int | None = None) -> None:
        """Give ``result``'s hits what :meth:`search` gives its own: a snippet each (with
        ``snippets``; ``snippet_chars`` long, default as there) and their ``matched_via``. For a
        result whose hits were re-ordered after the search (``search.rerank``)."""
        chars = SNIPPET_CHARS if snippet_chars is None else snippet_chars
        if isinstance(chars, bool) or not isinstance(chars, (int, np.integer)) or chars < 1:
            raise InvalidQueryError(f"snippet_chars must be a positive integer, not {chars!r}")
        self._explain(result, bool(snippets), int(chars))

    def _explain(self, result: SearchResult, snippets: bool, chars: int) -> None:
        q = result.parsed
        if q is None or not len(result):
            return
        terms = {t for lit in q.literals + list(q.filters) for t in lit.terms}
        analyzer, reader = self.analyzer, self.reader

        if not snippets:                    # matched via: worked out when read
            def explain(hit):
                return matched_via(analyzer, reader, hit.docid, hit.title, hit.matched_fields, terms)
            for h in result:
                h._explain = explain
            return
        # each hit's stored text read once (in docid order: neighbours may share a store block),
        # for its snippet and its matched via; the snippets made together
        # (its bytes: a snippet decodes only the text it looks at)
        # (only as far as the snippets' scanned prose goes: the store blocks' prefixes)
        docids = sorted({h.docid for h in result})
        raw = dict(zip(docids, snippet_sources(reader, docids, chars)))
        have = [h for h in result if raw[h.docid] is not None]
        try:
            made = make_snippets(analyzer, [raw[h.docid] for h in have], SnippetTerms.from_query(q), chars)
        except UnicodeDecodeError:
            for h in have:                  # raises CorruptIndexError, naming the document
                reader.stored_text(h.docid)
            raise
        for h, snippet in zip(have, made):
            h.snippet = snippet
        vias = matched_via_many(analyzer, reader, [(h.docid, h.title, h.matched_fields, raw[h.docid])
                                                   for h in result], terms)
        for h, via in zip(result, vias):
            h._via = via

    # --- plumbing ----------------------------------------------------------------------------
    def _prior(self, priors) -> tuple[np.ndarray, float] | None:
        """(prior per document, its maximum) to add to scores, or None."""
        if priors is False:
            return None
        stored = self.priors
        if stored is None:
            if priors is None:
                return None
            raise InvalidQueryError("this index has no priors (make them with `wikisearch priors`)")
        if priors is None or priors is True:
            config = stored.config
        elif isinstance(priors, PriorConfig):
            config = priors
        else:
            raise InvalidQueryError(f"priors must be True, False, None or a PriorConfig, not {priors!r}")
        return stored.scores(config), stored.max_score(config)

    def _idf(self, o: int, model: str) -> float:
        """The idf of term ``o`` (an ordinal of this index) in the collection searched."""
        c = self.collection
        if c is None:
            return idf_of(self.n_docs, self.reader.doc_freq(o), model)
        return idf_of(c.n_docs, c.doc_freq(self.reader.term(o)), model)

    def term_ordinal(self, term: str) -> int:
        """The index's ordinal of ``term`` (-1 if absent), looked up once per searcher (the
        re-ranker asks for the terms the search just looked up)."""
        return self._ordinal(term)

    def _ordinal(self, term: str) -> int:
        o = self._ordinals.get(term)
        if o is None:
            if len(self._ordinals) > _CACHE_LIMIT:
                self._ordinals.clear()
            o = self._ordinals[term] = self.reader.term_ordinal(term)
        return o

    def _kernel_params(self, rank: RankConfig):
        p = self._params.get(rank)
        if p is None:
            if len(self._params) > 1000:
                self._params.clear()
            p = self._params[rank] = kernel_params(rank, self._avg)
        return p

    def candidate_postings(self, ordinals, cands: np.ndarray):
        """``(offsets, docids, masks, tfs)`` (CSR, term t at ``offsets[t]:offsets[t+1]``) of terms
        ``ordinals`` restricted to the sorted, distinct documents ``cands`` (int32), read a block at
        a time where the index has block data (``blocks.bin``); None where it has not (the caller
        decodes the lists whole). The re-ranker's features read their postings so."""
        cands = np.ascontiguousarray(cands, np.int32)
        lists = self._block_lists
        if lists is None or np.any(cands[1:] <= cands[:-1]):
            return None
        return lists.candidate_postings(list(ordinals), cands, self._kernel_params(lists.rank))

    def _scoring_terms(self, q: Query) -> tuple[list, list]:
        """The query's (term, fields) pairs that are in the index, and their ordinals (the terms
        not seen before looked up together: one dictionary search for all)."""
        keys, ords = [], []
        known = self._ordinals
        wanted = q.scoring_terms()
        new = [key[0] for key in wanted if key[0] not in known]
        if new:
            if len(known) + len(new) > _CACHE_LIMIT:
                known.clear()
            new = list(dict.fromkeys(new))
            known.update(zip(new, self.reader.term_ordinals(new)))
        for key in wanted:
            o = known.get(key[0])
            if o is None:                       # (another thread started the cache over)
                o = self._ordinal(key[0])
            if o >= 0:
                keys.append(key)
                ords.append(o)
        return keys, ords

    def _terms(self, keys, ords, rank: RankConfig) -> _Terms:
        lists = {}
        for o in ords:
            if o not in lists:
                lists[o] = self.reader.postings(o)
        parts = [lists[o] for o in ords]
        offsets = np.zeros(len(parts) + 1, np.int64)
        np.cumsum([len(p[0]) for p in parts], out=offsets[1:])
        if len(parts) == 1:
            docids, masks, tfs = parts[0]
        else:
            docids = np.concatenate([p[0] for p in parts])
            masks = np.concatenate([p[1] for p in parts])
            tfs = np.concatenate([p[2] for p in parts])
        idf = np.array([self._idf(o, rank.model) for o in ords], np.float64)
        fsel = np.array([field_mask(f) for _, f in keys], np.int64)
        return _Terms(keys, np.asarray(ords, np.int64), offsets, docids, masks, tfs, fsel, idf,
                      {key: t for t, key in enumerate(keys)})

    def _literal_docs(self, lit: Literal, terms: _Terms | None) -> np.ndarray:
        """Documents having every term of ``lit`` in its fields (phrases: a superset)."""
        out = None
        sel = field_mask(lit.fields)
        for term in lit.terms:
            t = terms.index.get((term, lit.fields)) if terms is not None else None
            if t is None:
                o = self._ordinal(term)
                if o < 0:
                    return _EMPTY_I32
                d, m, _ = self.reader.postings(o)
            else:
                s = slice(terms.offsets[t], terms.offsets[t + 1])
                d, m = terms.docids[s], terms.masks[s]
            docs = K.field_docs(d, m, sel)
            out = docs if out is None else K.intersect_sorted(out, docs)
            if not len(out):
                break
        return out

    def _hits(self, docids, scores, fields, first_rank: int = 1) -> list[Hit]:
        r = self.reader
        pids = self._page_ids
        if pids is None:                        # (read once: a property that checks the column)
            pids = self._page_ids = np.asarray(r.page_ids)
        names = _FIELD_NAMES
        return [Hit(d, pid, None, None, s, list(names[f]), i, reader=r)
                for i, d, pid, s, f in zip(range(first_rank, first_rank + len(docids)), docids.tolist(),
                                           pids[docids].tolist(),
                                           scores.tolist(), fields.tolist())]

    def _result(self, hits, query, q, rank, warnings, counter, t0, flags) -> SearchResult:
        """``hits``: a list of hits, or ``(docids, scores, masks)``: a :meth:`first_stage` result."""
        top = None
        if isinstance(hits, tuple):
            top, hits = tuple(np.asarray(a, t) for a, t in zip(hits, (np.int64, np.float64, np.int64))), []
        result = SearchResult(hits, query=query, parsed=q, rank_config=rank, warnings=warnings,
                              counter=counter, took_ms=(time.perf_counter() - t0) * 1000, flags=flags)
        result.top = top
        return result

    # --- the two execution paths -------------------------------------------------------------
    def _excluded_docs(self, q: Query, terms: _Terms | None) -> np.ndarray:
        out = _EMPTY_I32
        for lit in q.excluded:
            if not lit.phrase:
                out = K.union_sorted(out, self._literal_docs(lit, terms))
        return out

    def _search_or(self, q, keys, ords, params, rank, k, warnings, flags, t0, prior, arrays) -> SearchResult:
        excluded = self._excluded_docs(q, None) if q.excluded else _EMPTY_I32
        values, pmax = prior if prior is not None else (_NO_PRIOR, 0.0)

        def count_lists(arenas, starts, ends, *_rest):
            if int((ends - starts).sum()) >= self.n_docs >> 6:     # (a bitset beats the merge)
                return int(MK.count_union_bitset(starts, ends, arenas[0], excluded, self.n_docs)), "eq"
            return int(MK.count_union(starts, ends, arenas[0], excluded)), "eq"
        blockmax = self._blockmax is not None and self._blockmax.eligible(rank)
        # from the cache (its missing lists scored whole into it) when they fit, else block-max
        lists = self._scored.lists(keys, ords, rank, params, admitted_only=blockmax)
        if lists is None:
            docs, scores, fields = self._blockmax.topk(keys, ords, params, rank, k, excluded, values, pmax)

            def count():                        # (asked for: the lists are scored whole then)
                return count_lists(*self._scored.lists(keys, ords, rank, params))
        else:
            arenas, starts, ends, bstarts, idf, upper = lists
            docids, scores, fields, bmax = arenas
            docs, scores, fields, _ = BK.maxscore_topk(k, starts, ends, docids, scores, fields, bstarts,
                                                       bmax, idf, upper, excluded, values, pmax)

            def count():
                return count_lists(*lists)
        result = self._result((docs, scores, fields) if arrays else self._hits(docs, scores, fields), q.text, q,
                              rank, warnings, count, t0, flags)
        self._scored.after_query()              # (memory for the next queries' lists, meanwhile)
        return result

    def _search_boolean(self, q, terms, params, rank, k, warnings, flags, t0, prior, arrays) -> SearchResult:
        parsed, idf = q, terms.idf
        if q.filters:                           # in every clause, to match; out of the scores
            warnings.extend(self._filter_warnings(q.filters))
            unscored = [terms.index[key] for key in q.filter_only_terms() if key in terms.index]
            if unscored:
                idf = idf.copy()
                idf[unscored] = 0.0
            q = q.with_filters_in_clauses()
        plain = _EMPTY_I32                      # matched by a clause without phrases: certain
        maybe = _EMPTY_I32                      # matched only if a phrase checks out
        clause_docs = []
        for clause in q.clauses:
            docs = None
            for lit in clause:
                ld = self._literal_docs(lit, terms)
                docs = ld if docs is None else K.intersect_sorted(docs, ld)
                if not len(docs):
                    break
            clause_docs.append(docs)
            if any(l.phrase for l in clause):
                maybe = K.union_sorted(maybe, docs)
            else:
                plain = K.union_sorted(plain, docs)
        excluded = self._excluded_docs(q, terms)
        cands = K.difference_sorted(K.union_sorted(plain, maybe), excluded)
        w, a, c, k1, model = params
        tfpos = K.tf_positions(terms.masks)
        scores, fields, _ = K.score_docs(cands, terms.offsets, terms.docids, terms.masks, tfpos,
                                         terms.tfs, terms.fsel, idf, self._field_lengths,
                                         w, a, c, k1, model)
        if prior is not None:
            scores = scores + prior[0][cands]
        check = PhraseCheck(self.reader, self.analyzer, lambda lit: self._literal_docs(lit, None), q,
                            clause_docs, plain, flags)
        order = np.lexsort((cands, -scores))
        top = []
        for i in order.tolist():
            if len(top) >= k:
                break
            if check.matches(int(cands[i])):
                top.append(i)
        top = np.asarray(top, np.int64)
        if check.fallback:
            warnings.append("the index stores no text: phrases matched as all their words")

        def count():
            if not check.needed:
                return len(cands), "eq"
            n, relation = 0, "eq"
            for i, d in enumerate(cands.tolist()):
                if check.checks > MAX_PHRASE_CHECKS:
                    relation = "gte"
                    break
                n += check.matches(d)
            return n, relation
        got = (cands[top], scores[top], fields[top])
        return self._result(got if arrays else self._hits(*got), q.text, parsed, rank, warnings, count, t0, flags)

    def _filter_warnings(self, filters) -> list[str]:
        """A warning per filter on fields that hold nothing in this index (WikiExtractor output
        has no categories or links): such a filter lets no document through."""
        out = []
        for lit in filters:
            if not any(self._avg[FIELDS.index(f)] > 0 for f in lit.fields):
                out.append(f"this index has no {'/'.join(lit.fields)} data (its input had none, "
                           f"as WikiExtractor output has no categories or links): the filter "
                           f"on {lit.text!r} matches nothing")
        return out

    # --- articles and batches ----------------------------------------------------------------
    def doc(self, title_or_page_id) -> Document:
        """The article with this title (a redirect's title gives its target; ``berlin_wall``
        is normalised like Wikipedia normalises titles) or, given an ``int``, this page id:
        a :class:`~wikisearch.search.results.Document` (title, url, redirects, and from the
        stored text: ``text``, ``sections``, ``infobox``, ``categories``, ``fields``).

        >>> open("idx").doc("Berlin").sections[:2]                   # doctest: +SKIP
        ['History', 'Etymology']
        """
        d = self._docid_of(title_or_page_id)
        r = self.reader
        return Document(d, int(r.page_id(d)), r.title(d), r.url(d), list(r.redirects(d)),
                        r.stored_text(d))

    def _docid_of(self, key) -> int:
        from wikisearch.errors import WikisearchError
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            found = np.flatnonzero(np.asarray(self.reader.page_ids) == int(key))
            if not len(found):
                raise WikisearchError(f"no article with page id {int(key)} in this index")
            return int(found[0])
        if not isinstance(key, str) or not key.strip():
            raise InvalidQueryError(f"give a title (str) or a page id (int), not {key!r}")
        title = key.strip()
        names = list(dict.fromkeys([title, self.reader.siteinfo.normalize_title(title)]))
        for d in self.reader.docids_for_titles(names, redirects=True).tolist():
            if d >= 0:
                return int(d)
        try:                                     # "ikea" -> IKEA, when only the case differs
            close = self.suggest(title, 10)
        except WikisearchError:
            close = []
        folded = title.casefold()
        same = {s.docid for s in close if (s.redirect or s.title).casefold() == folded}
        if len(same) == 1:
            return same.pop()
        hint = f"; titles starting so: {'; '.join(str(s) for s in close[:3])}" if close else ""
        raise WikisearchError(f"no article titled {title!r} in this index{hint}")

    def search_many(self, queries, k: int = 10, *, threads: int | None = None, offset: int = 0,
                    **options) -> list[SearchResult]:
        """:meth:`search` of every query of ``queries``, on ``threads`` threads (default: one per
        core this process may use; the kernels run without the GIL). The results come in the
        order of ``queries``, each exactly what ``search(query, k, **options)`` returns (hits
        ``offset`` to ``offset + k`` with ``offset``). An invalid query raises, as in :meth:`search`.

        >>> [r[0].title for r in open("idx").search_many(["ikea", "t:berlin"], k=1)]  # doctest: +SKIP
        ['IKEA', 'Berlin']
        """
        queries = list(queries)
        if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
            raise InvalidQueryError(f"offset must be a non-negative integer, not {offset!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InvalidQueryError(f"threads must be a positive integer or None, not {threads!r}")

        def one(query):
            return self.search(query, k, offset=offset, **options)
        if threads is None:
            import os
            try:
                threads = len(os.sched_getaffinity(0))
            except AttributeError:
                threads = os.cpu_count() or 1
        threads = max(1, min(threads, len(queries)))
        if threads == 1:
            return [one(q) for q in queries]
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(threads, thread_name_prefix="wikisearch") as pool:
            return list(pool.map(one, queries))


def open(path) -> Searcher:   # noqa: A001 - the library's entry point, like io.open
    """Open the index at ``path`` for searching (cheap: files are mmapped, kernels load lazily)."""
    return Searcher(path)
