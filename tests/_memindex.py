"""A tiny in-memory stand-in for segment.IndexReader, for kernel and search unit tests."""
from __future__ import annotations

import math

import numpy as np

from wikisearch.config import FIELDS, N_FIELDS, RankConfig
from wikisearch.search.query import SimpleAnalyzer


class MemorySiteInfo:
    def url(self, title: str) -> str:
        return "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")


class MemoryIndex:
    """docs: list of {field name: text}; the title field is the title."""

    def __init__(self, docs: list[dict], rank_config: RankConfig | None = None, store_text=True,
                 analyzer=None):
        self.analyzer = analyzer or SimpleAnalyzer()
        self.rank_config = rank_config or RankConfig()
        self.siteinfo = MemorySiteInfo()
        self.priors = None
        self.docs = docs
        self.store = store_text
        self.n_docs = len(docs)
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
        self._bound = [self._exact_bound(i) for i in range(self.n_terms)]

    def _exact_bound(self, o):
        cfg = self.rank_config
        best = 0.0
        docids, masks, tfs = self._post[o]
        j = 0
        for d, m in zip(docids.tolist(), masks.tolist()):
            acc = 0.0
            for f in range(N_FIELDS):
                if m >> f & 1:
                    avg = self.avg_field_lengths[f]
                    norm = (1 - cfg.b[f]) + (cfg.b[f] / avg if avg > 0 else 0.0) * float(self.field_lengths[d, f])
                    acc += cfg.weights[f] * float(tfs[j]) / norm
                    j += 1
            best = max(best, acc / (cfg.k1 + acc))
        return float(np.float32(best))    # like an index storing float32 bounds

    def term_ordinal(self, term):
        return self._ord.get(term, -1)

    def doc_freq(self, o):
        return len(self._post[o][0])

    def term_bound(self, o):
        return self._bound[o]

    def postings(self, o):
        return self._post[o]

    def page_id(self, d):
        return 1000 + int(d)

    def title(self, d):
        return self.docs[d].get("title", "")

    def redirects(self, d):
        return self.docs[d].get("redirect", "").split("\n") if self.docs[d].get("redirect") else []

    def url(self, d):
        return self.siteinfo.url(self.title(d))

    def stored_text(self, d):
        if not self.store:
            return None
        return {f: self.docs[d].get(f, "") for f in FIELDS}

    def docid_for_title(self, title):
        for i, doc in enumerate(self.docs):
            if doc.get("title") == title:
                return i
        return -1
