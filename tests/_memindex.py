"""A tiny in-memory index implementing :class:`wikisearch.index.reader.Reader`, for kernel and
search unit tests (the same interface the on-disk IndexReader offers)."""
from __future__ import annotations


import numpy as np

from wikisearch.config import FIELDS, N_FIELDS, RankConfig
from wikisearch.index.store import PREFIX_CHARS, encode_doc, prefix_end
from wikisearch.search.query import SimpleAnalyzer


class MemorySiteInfo:
    namespaces = {0: ""}

    def url(self, title: str) -> str:
        return "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")

    def normalize_title(self, title: str) -> str:
        t = " ".join(title.replace("_", " ").split())
        return t[:1].upper() + t[1:]


class MemoryIndex:
    """docs: list of {field name: text}; the title field is the title."""

    def __init__(self, docs: list[dict], rank_config: RankConfig | None = None, store_text=True,
                 analyzer=None):
        self.analyzer = analyzer or SimpleAnalyzer()
        self.rank_config = rank_config or RankConfig()
        self.siteinfo = MemorySiteInfo()
        self.path = None
        self.manifest = {}
        self.codec_name = None            # no encoded bytes: search decodes with postings()
        self.block_maxima = None
        self.postings_data = None
        self.docs = docs
        self.store = store_text
        self.n_docs = len(docs)
        self.page_ids = np.arange(1000, 1000 + self.n_docs, dtype=np.int64)
        self.inlinks = np.zeros(self.n_docs, np.uint32)
        self.field_lengths = np.zeros((self.n_docs, N_FIELDS), np.uint32)
        post: dict[str, dict[int, list[int]]] = {}
        for d, doc in enumerate(docs):
            for f, name in enumerate(FIELDS):
                terms = self.analyzer.terms(doc.get(name, ""))
                self.field_lengths[d, f] = len(terms)
                for t in terms:
                    post.setdefault(t, {}).setdefault(d, [0] * N_FIELDS)[f] += 1
        self.avg_field_lengths = self.field_lengths.mean(axis=0).astype(np.float64) if docs \
            else np.zeros(N_FIELDS)
        self.terms = sorted(post)
        self.n_terms = len(self.terms)
        self._ord = {t: i for i, t in enumerate(self.terms)}
        self._post = []
        for t in self.terms:
            docids = np.array(sorted(post[t]), np.int32)
            masks = np.array([sum(1 << f for f in range(N_FIELDS) if post[t][d][f]) for d in docids],
                             np.uint16)
            tfs = np.array([post[t][d][f] for d in docids for f in range(N_FIELDS) if post[t][d][f]],
                           np.uint32)
            self._post.append((docids, masks, tfs))

    def term_ordinal(self, term):
        return self._ord.get(term, -1)

    def term_ordinals(self, terms):
        return [self._ord.get(t, -1) for t in terms]

    def doc_freq(self, o):
        return len(self._post[o][0])

    def postings(self, o):
        return self._post[o]

    def raw_postings(self, o):
        raise NotImplementedError("an in-memory index has no encoded postings (codec_name is None)")

    def page_id(self, d):
        return int(self.page_ids[d])

    def title(self, d):
        return self.docs[d].get("title", "")

    def titles(self):
        return [self.title(d) for d in range(self.n_docs)]

    def redirects(self, d):
        return self.docs[d].get("redirect", "").split("\n") if self.docs[d].get("redirect") else []

    def url(self, d):
        return self.siteinfo.url(self.title(d))

    def stored_text(self, d):
        if not self.store:
            return None
        return {f: self.docs[d].get(f, "") for f in FIELDS}

    def stored_doc(self, d):
        if not self.store:
            return None
        return encode_doc([self.docs[d].get(f, "") for f in FIELDS])

    def stored_prefix(self, d, prose_chars):
        doc = self.stored_doc(d)        # (the store's prefix where it holds prose_chars, as a store does)
        return doc if doc is None or prose_chars > PREFIX_CHARS else doc[:prefix_end(doc, PREFIX_CHARS)]

    def alias_table(self):
        per_doc = [self.redirects(d) for d in range(self.n_docs)]
        return (np.repeat(np.arange(self.n_docs, dtype=np.int32), [len(a) for a in per_doc]),
                [t for a in per_doc for t in a])

    def alias_title(self, a):
        return self.alias_table()[1][a]

    def docids_for_titles(self, titles, *, redirects=True):
        exact = {}
        for i, doc in enumerate(self.docs):
            exact.setdefault(doc.get("title"), i)
        alias_doc, aliases = self.alias_table()
        alias = {}
        for d, t in zip(alias_doc.tolist(), aliases):
            alias.setdefault(t, d)
        return np.array([exact.get(t, alias.get(t, -1) if redirects else -1) for t in titles], np.int64)

    def docid_for_title(self, title):
        return int(self.docids_for_titles([title], redirects=False)[0])
