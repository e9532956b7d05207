"""search: query text -> ranked hits over a built index.

>>> s = open("wikisearch-index")                     # doctest: +SKIP
>>> for hit in s.search("t:merkel", k=3):            # doctest: +SKIP
...     print(hit.rank, hit.title, round(hit.score, 2))

A plain OR of terms (the common case) is answered by one MaxScore kernel call over pre-scored
lists that stay cached between queries (:class:`_ScoredLists`); queries with AND, phrases or
multi-term words go through exact boolean matching, then scoring of the candidates (phrases are
verified in the stored text, best-scored candidates first, only as far as needed).
A :class:`Searcher` can be shared by threads: its caches only grow under a lock, and a query keeps
what it reads alive.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wikisearch.search import _maxscore_kernels as MK
from wikisearch.search import _prescore_kernels as PK
from wikisearch.search import _search_kernels as K
from wikisearch.config import FIELDS, PriorConfig, RankConfig
from wikisearch.errors import CorruptIndexError, InvalidQueryError
from wikisearch.search.query import Literal, Query, parse_query, resolve_fields
from wikisearch.search.rank import check_config, field_mask, idf as idf_of, kernel_params, mask_fields

#: Per-term bounds are exact maxima of idf * score; a little slack costs nothing.
_BOUND_SLACK = 1e-5
#: Phrase checks done to count matches exactly; past this, ``total_relation`` is "gte".
MAX_PHRASE_CHECKS = 200
_EMPTY_I32 = np.zeros(0, np.int32)
_NO_PRIOR = np.zeros(0, np.float64)
_CACHE_LIMIT = 200_000
#: Postings the plain-OR path keeps decoded and scored between queries (14 bytes each: ~59 MB).
SCORED_CACHE_POSTINGS = 1 << 22
_FIELD_NAMES = [tuple(mask_fields(m)) for m in range(1 << len(FIELDS))]


class Hit:
    """One ranked document: ``Hit(docid, page_id, title, url, score, matched_fields, rank)``.

    A hit made by a search reads its ``title`` and ``url`` from the index on first access, so
    ranking ten hits does not pay for ten URL encodings nobody looks at.
    """

    __slots__ = ("docid", "page_id", "score", "matched_fields", "rank", "_title", "_url", "_reader")

    def __init__(self, docid: int, page_id: int, title: str | None, url: str | None, score: float,
                 matched_fields: list[str], rank: int, *, reader=None):
        self.docid = docid
        self.page_id = page_id
        self.score = score
        self.matched_fields = matched_fields
        self.rank = rank
        self._title = title
        self._url = url
        self._reader = reader

    @property
    def title(self) -> str:
        if self._title is None:
            self._title = self._reader.title(self.docid)
        return self._title

    @property
    def url(self) -> str:
        if self._url is None:
            site = getattr(self._reader, "siteinfo", None)
            self._url = site.url(self.title) if site is not None else self._reader.url(self.docid)
        return self._url

    def _key(self):
        return (self.docid, self.page_id, self.title, self.url, self.score, self.matched_fields, self.rank)

    def __eq__(self, other):
        return isinstance(other, Hit) and self._key() == other._key()

    __hash__ = None

    def __repr__(self):
        return (f"Hit(rank={self.rank}, docid={self.docid}, page_id={self.page_id}, "
                f"title={self.title!r}, score={self.score:.4f}, matched_fields={self.matched_fields})")

    def to_json(self) -> dict:
        return {"rank": self.rank, "docid": self.docid, "page_id": self.page_id, "title": self.title,
                "url": self.url, "score": self.score, "matched_fields": list(self.matched_fields)}


class SearchResult(list):
    """The hits of one search (a list of :class:`Hit`) plus what was searched and how.

    ``total_matches`` is counted on first access (it may cost as much as the search itself);
    ``total_relation`` is "eq", or "gte" when counting stopped early.
    """

    def __init__(self, hits, *, query: str, parsed: Query | None, rank_config: RankConfig,
                 warnings: list[str], counter, took_ms: float, flags: dict | None = None):
        super().__init__(hits)
        self.query = query
        self.parsed = parsed
        self.rank_config = rank_config
        self.warnings = warnings
        self.took_ms = took_ms
        self.flags = flags or {}
        self._counter = counter
        self._total: tuple[int, str] | None = None

    def _count(self) -> tuple[int, str]:
        if self._total is None:
            self._total = self._counter()
            self._counter = None
        return self._total

    @property
    def total_matches(self) -> int:
        return self._count()[0]

    @property
    def total_relation(self) -> str:
        return self._count()[1]

    def to_json(self) -> dict:
        return {"query": self.query, "parsed": str(self.parsed) if self.parsed else None,
                "total_matches": self.total_matches, "total_relation": self.total_relation,
                "took_ms": round(self.took_ms, 3), "warnings": list(self.warnings),
                "flags": dict(self.flags), "rank_config": self.rank_config.to_json(),
                "hits": [h.to_json() for h in self]}


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


class _ScoredLists:
    """Posting lists decoded and scored once, kept for the next queries that use them.

    An entry is one (term ordinal, field selection, ranking): its postings that match in those
    fields, with the term's score in each document before idf (``_maxscore_kernels``), their
    block maxima and overall maximum (the exact bound MaxScore needs), and the term's idf.
    Entries live in arenas shared by all of them, so a query hands the kernel a few offsets
    instead of concatenating its lists. Bounded: when the arenas are full they are replaced by
    fresh ones (starting the cache over); a query still reading the old ones keeps them alive.
    Entries are written once, before anyone reads them, under the lock; reading needs no lock.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.lock = threading.Lock()
        self._start_over()

    def _start_over(self) -> None:
        # np.empty: memory is only touched (and counted) as lists are written
        self.arenas = self._arenas(self.capacity)
        self.pos = self.bpos = 0
        self.entries: dict = {}

    @staticmethod
    def _arenas(n: int, n_lists: int = 1024):
        return (np.empty(n, np.int32), np.empty(n, np.float64), np.empty(n, np.uint16),
                np.empty(n // MK.BLOCK + n_lists + 1, np.float64))

    def lists(self, s: "Searcher", keys, ords, rank: RankConfig, params):
        """(arenas, starts, ends, bstarts, idf, upper) of a query's scoring terms."""
        wanted = [(o, field_mask(f)) for (_, f), o in zip(keys, ords)]
        with self.lock:
            got = [self.entries.get((o, m, rank)) for o, m in wanted]
            if None in got:
                missing = {key for key, e in zip(wanted, got) if e is None}
                need, blocks = _room(s, missing)
                if self.pos + need > self.capacity or self.bpos + blocks > len(self.arenas[3]):
                    need, blocks = _room(s, set(wanted))
                    if need > self.capacity // 2 or blocks > len(self.arenas[3]) // 2:
                        return self._private(s, wanted, need, rank, params)
                    self._start_over()
                    got = [None] * len(wanted)
                decoded: dict = {}
                for i, (o, m) in enumerate(wanted):
                    if got[i] is None:
                        got[i] = self.entries.get((o, m, rank)) or self._add(s, o, m, rank, params, decoded)
            arenas = self.arenas
        return (arenas,) + _query_arrays(got)

    def _add(self, s: "Searcher", o: int, sel: int, rank: RankConfig, params, decoded):
        entry = _score_into(s, o, sel, rank, params, self.arenas, self.pos, self.bpos, decoded)
        self.pos += entry[1]
        self.bpos += -(-entry[1] // MK.BLOCK)
        self.entries[(o, sel, rank)] = entry
        return entry

    def _private(self, s: "Searcher", wanted, need, rank, params):
        """A query whose lists would crowd out the cache: scored into arenas of its own."""
        arenas = self._arenas(need, len(wanted))
        got, pos, bpos, decoded = [], 0, 0, {}
        for o, m in wanted:
            entry = _score_into(s, o, m, rank, params, arenas, pos, bpos, decoded)
            pos += entry[1]
            bpos += -(-entry[1] // MK.BLOCK)
            got.append(entry)
        return (arenas,) + _query_arrays(got)


def _room(s: "Searcher", wanted: set) -> tuple[int, int]:
    """Postings and block maxima that scoring ``wanted`` (ordinal, fields) may write at most."""
    need = blocks = 0
    for o, _m in wanted:
        n = s.reader.doc_freq(o)
        need += n
        blocks += -(-n // MK.BLOCK)
    return need, blocks


def _score_into(s: "Searcher", o: int, sel: int, rank: RankConfig, params, arenas, pos, bpos,
                decoded: dict):
    """Score one term's list into ``arenas`` at ``pos``: its entry (start, n, bstart, max, idf).

    A bit-packed list is decoded and scored in one kernel call, straight from its bytes; other
    codecs (and readers without raw bytes) decode first, into ``decoded`` (a list wanted in two
    field selections is decoded once)."""
    w, a, c, k1, model = params
    df = s.reader.doc_freq(o)
    if s._fused:
        data = s.reader.raw_postings(o)
        end, n, _nb, vmax = PK.bitpacked_score_into(data, df, sel, s._field_lengths, w, a, c, k1, model,
                                                    *arenas[:3], pos, arenas[3], bpos)
        if end != data.shape[0]:
            _corrupt_list(s, o)
    else:
        if o not in decoded:
            decoded[o] = s.reader.postings(o)
        docids, masks, tfs = decoded[o]
        n, _nb, vmax = MK.prescore_into(docids, masks, tfs, sel, s._field_lengths, w, a, c, k1, model,
                                        *arenas[:3], pos, arenas[3], bpos)
    return pos, int(n), bpos, float(vmax), idf_of(s.n_docs, df, rank.model)


def _corrupt_list(s: "Searcher", o: int):
    """Raise the reader's own error for a list the fused kernel could not read (the codec's
    decoder says why), or ours when only its docids are wrong (past the last document)."""
    s.reader.postings(o)
    raise CorruptIndexError(getattr(getattr(s.reader, "post_c", None), "path", "<postings>"),
                            f"undecodable postings of term #{o} (a docid past the last document)")


def _query_arrays(entries):
    """starts, ends, bstarts, idf, upper of a query's entries, for the kernel."""
    T = len(entries)
    ints = np.array([e[0] for e in entries] + [e[0] + e[1] for e in entries] + [e[2] for e in entries],
                    np.int64)
    floats = np.array([e[4] for e in entries] + [e[3] for e in entries], np.float64)
    idf = floats[:T]
    upper = idf * floats[T:] * (1.0 + _BOUND_SLACK) + 1e-12
    return ints[:T], ints[T:2 * T], ints[2 * T:], idf, upper


class Searcher:
    """Searches one index. ``Searcher(path)`` or ``Searcher(IndexReader)``; see :meth:`search`."""

    def __init__(self, index, *, cache_postings: int = SCORED_CACHE_POSTINGS):
        if isinstance(index, (str, Path)):
            from wikisearch.index.segment import IndexReader
            index = IndexReader(index)
        self.reader = index
        self.analyzer = index.analyzer
        self.n_docs = int(index.n_docs)
        self._field_lengths = np.ascontiguousarray(index.field_lengths)
        self._avg = np.asarray(index.avg_field_lengths, np.float64)
        self._params: dict = {}
        self._ordinals: dict = {}
        self._scored = _ScoredLists(cache_postings)
        # bit-packed lists are scored straight from their bytes (_prescore_kernels)
        self._fused = getattr(getattr(index, "codec", None), "name", "") == "bitpacked" and \
            hasattr(index, "raw_postings")
        self._words: dict = {}                  # word -> its terms (query.parse_query)

    # --- public ------------------------------------------------------------------------------
    def warmup(self) -> None:
        """Load (or compile) every kernel now, with the array types real queries use, so the first
        real query is fast: runs a few real searches over words of the first title."""
        words = [t for t in self.analyzer.terms(self.reader.title(0))] if self.n_docs else []
        a = words[0] if words else "warmup"
        b = words[1] if len(words) > 1 else a
        custom = RankConfig(k1=1.0)
        for text, rank in ((a, None), (f"{a} {b}", None), (f"{a} {b}", custom), (f"{a} AND {b}", None),
                           (f'"{a} {b}" -zzzz', None), (f"{a} -{b}", None)):
            try:
                self.search(text, k=3, rank=rank).total_matches
            except InvalidQueryError:
                pass

    def search(self, query: str, k: int = 10, rank: RankConfig | None = None,
               fields=None, priors: bool | PriorConfig | None = None) -> SearchResult:
        """Rank documents for ``query`` (see :mod:`wikisearch.search.query` for the syntax).

        ``rank`` overrides the index's ranking settings (weights, k1, b, model) for this query;
        ``fields`` (names or prefixes, e.g. ``["title", "c"]``) restricts every unprefixed word.
        ``priors``: None or True adds the index's popularity prior (``priors.bin``, if it has one)
        to every score, False leaves it out, a :class:`PriorConfig` overrides its weights.

        >>> [h.title for h in open("idx").search("t:merkel", k=1)]     # doctest: +SKIP
        ['Angela Merkel']
        """
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
            return self._result([], query, q, rank, warnings, lambda: (0, "eq"), t0, flags)
        if q.is_disjunction and not any(l.phrase for l in q.excluded):
            return self._search_or(q, keys, ords, params, rank, k, warnings, flags, t0, prior)
        terms = self._terms(keys, ords, rank)
        return self._search_boolean(q, terms, params, rank, k, warnings, flags, t0, prior)

    def suggest(self, prefix: str, k: int = 10):
        """Titles and redirect titles starting with ``prefix`` (case- and accent-insensitive),
        the most popular pages first: a list of :class:`~wikisearch.popularity.suggest.Suggestion`.

        >>> [str(s) for s in open("idx").suggest("lata man", k=2)]      # doctest: +SKIP
        ['Lata Mangeshkar']
        """
        from wikisearch.popularity.suggest import suggester
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise InvalidQueryError(f"k must be a non-negative integer, not {k!r}")
        return suggester(self).suggest(prefix, int(k))

    # --- plumbing ----------------------------------------------------------------------------
    def _prior(self, priors) -> tuple[np.ndarray, float] | None:
        """(prior per document, its maximum) to add to scores, or None."""
        if priors is False:
            return None
        stored = getattr(self.reader, "priors", None)
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

    def _scoring_terms(self, q: Query) -> tuple[list, list]:
        """The query's (term, fields) pairs that are in the index, and their ordinals."""
        keys, ords = [], []
        for key in q.scoring_terms():
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
        n = self.n_docs
        idf = np.array([idf_of(n, self.reader.doc_freq(o), rank.model) for o in ords], np.float64)
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

    def _hits(self, docids, scores, fields) -> list[Hit]:
        r = self.reader
        page_ids = getattr(r, "page_ids", None)
        ds = docids.tolist()
        pids = np.asarray(page_ids)[docids].tolist() if page_ids is not None else [r.page_id(d) for d in ds]
        return [Hit(d, pid, None, None, s, list(_FIELD_NAMES[f]), i, reader=r)
                for i, (d, pid, s, f) in enumerate(zip(ds, pids, scores.tolist(), fields.tolist()), 1)]

    def _result(self, hits, query, q, rank, warnings, counter, t0, flags) -> SearchResult:
        return SearchResult(hits, query=query, parsed=q, rank_config=rank, warnings=warnings,
                            counter=counter, took_ms=(time.perf_counter() - t0) * 1000, flags=flags)

    # --- the two execution paths -------------------------------------------------------------
    def _excluded_docs(self, q: Query, terms: _Terms | None) -> np.ndarray:
        out = _EMPTY_I32
        for lit in q.excluded:
            if not lit.phrase:
                out = K.union_sorted(out, self._literal_docs(lit, terms))
        return out

    def _search_or(self, q, keys, ords, params, rank, k, warnings, flags, t0, prior) -> SearchResult:
        excluded = self._excluded_docs(q, None) if q.excluded else _EMPTY_I32
        arenas, starts, ends, bstarts, idf, upper = self._scored.lists(self, keys, ords, rank, params)
        docids, scores, fields, bmax = arenas
        values, pmax = prior if prior is not None else (_NO_PRIOR, 0.0)
        docs, scores, fields, _ = MK.maxscore_topk(k, starts, ends, docids, scores, fields, bstarts,
                                                   bmax, idf, upper, excluded, values, pmax)

        def count():
            return int(MK.count_union(starts, ends, docids, excluded)), "eq"
        return self._result(self._hits(docs, scores, fields), q.text, q, rank, warnings, count, t0, flags)

    def _search_boolean(self, q, terms, params, rank, k, warnings, flags, t0, prior) -> SearchResult:
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
                                         terms.tfs, terms.fsel, terms.idf, self._field_lengths,
                                         w, a, c, k1, model)
        if prior is not None:
            scores = scores + prior[0][cands]
        check = _PhraseCheck(self, q, clause_docs, plain, flags)
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
        hits = self._hits(cands[top], scores[top], fields[top])
        return self._result(hits, q.text, q, rank, warnings, count, t0, flags)


class _PhraseCheck:
    """Decides, document by document, the matches that hinge on phrases (verified in stored text)."""

    def __init__(self, searcher: Searcher, q: Query, clause_docs, plain, flags: dict):
        self.s = searcher
        self.q = q
        self.clause_docs = clause_docs
        self.plain = plain
        self.flags = flags
        self.neg_phrases = [l for l in q.excluded if l.phrase]
        self.needed = any(l.phrase for l in q.literals) or bool(self.neg_phrases)
        self.checks = 0
        self.fallback = False
        self._cache: dict = {}
        self._docs: dict = {}
        self._texts: dict = {}

    def matches(self, d: int) -> bool:
        if not self.needed:
            return True
        if d in self._cache:
            return self._cache[d]
        ok = _contains(self.plain, d)
        if not ok:
            for clause, docs in zip(self.q.clauses, self.clause_docs):
                if _contains(docs, d) and all(self._phrase(l, d) for l in clause if l.phrase):
                    ok = True
                    break
        if ok and any(self._phrase(l, d) for l in self.neg_phrases):
            ok = False
        self._cache[d] = ok
        return ok

    def _phrase(self, lit: Literal, d: int) -> bool:
        key = (lit, d)
        if key in self._cache:
            return self._cache[key]
        self.checks += 1
        texts = self._texts.get(d, False)
        if texts is False:
            texts = self.s.reader.stored_text(d)
            if len(self._texts) > 64:
                self._texts.clear()
            self._texts[d] = texts
        if texts is None:                    # no stored text: all the words (in the fields) will do
            self.fallback = True
            self.flags["phrase_fallback"] = True
            if lit not in self._docs:
                self._docs[lit] = self.s._literal_docs(lit, None)
            ok = _contains(self._docs[lit], d)
        else:
            ok = has_phrase(self.s.analyzer, texts, lit.terms, lit.fields or FIELDS)
        self._cache[key] = ok
        return ok


#: Fields whose text is a list of names, one per line: a phrase must not run across two names.
_LIST_FIELDS = frozenset(("title", "redirect", "heading", "category", "link", "infobox"))


def _contains(sorted_docs: np.ndarray, d: int) -> bool:
    i = int(np.searchsorted(sorted_docs, d))
    return i < len(sorted_docs) and int(sorted_docs[i]) == d


def has_phrase(analyzer, texts: dict[str, str], terms: tuple[str, ...], fields) -> bool:
    """Do ``terms`` occur consecutively, after analysis, in one of ``fields`` of ``texts``
    (within one line of the list-like fields: titles, categories, links)?

    >>> from wikisearch.search.query import SimpleAnalyzer
    >>> has_phrase(SimpleAnalyzer(), {"body": "the Bank of America tower"}, ("bank", "america"), ["body"])
    True
    """
    lines = []
    for f in fields:
        text = texts.get(f, "")
        if text:
            lines.extend(text.split("\n") if f in _LIST_FIELDS else (text,))
    if not lines:
        return False
    n = len(terms)
    batch = getattr(analyzer, "analyze_texts", None)
    if batch is None:                         # an analyzer without batching (tests)
        for line in lines:
            toks = analyzer.terms(line)
            if any(tuple(toks[i:i + n]) == terms for i in range(len(toks) - n + 1)):
                return True
        return False
    term_ids, line_of, vocab = batch(lines)   # one tokenizer call for every line
    index = {t: i for i, t in enumerate(vocab)}
    ids = [index.get(t, -1) for t in terms]
    m = len(term_ids) - n + 1
    if -1 in ids or m <= 0:
        return False
    ok = term_ids[:m] == ids[0]
    for j in range(1, n):
        ok &= term_ids[j:m + j] == ids[j]
    ok &= line_of[:m] == line_of[n - 1:]
    return bool(ok.any())


def fast_start() -> None:
    """Skip numba's BLAS probe in this process: it imports scipy.linalg (~0.3 s of a cold start)
    the first time any kernel loads. For short-lived processes that run no numba linear algebra,
    such as the CLI; afterwards numba's np.dot/np.linalg are unavailable here (scipy itself still
    imports fine). Call it before the first search; no effect once numba's array math is loaded.
    """
    import sys
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return

    class _NoScipy:
        def find_spec(self, name, path=None, target=None):
            if name == "scipy" or name.startswith("scipy."):
                raise ImportError("scipy skipped by wikisearch.search.fast_start")
            return None
    blocker = _NoScipy()
    sys.meta_path.insert(0, blocker)
    try:
        import numba.np.arraymath  # noqa: F401  (runs the probe now, against the blocker)
    finally:
        sys.meta_path.remove(blocker)


def open(path) -> Searcher:   # noqa: A001 - the library's entry point, like io.open
    """Open the index at ``path`` for searching (cheap: files are mmapped, kernels load lazily)."""
    return Searcher(path)
