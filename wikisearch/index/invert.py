"""invert: a block of documents' field texts -> field-tagged postings (CSR arrays).

Texts come doc-major, field-minor: ``texts[doc * N_FIELDS + field]``. The analyzer turns them into
one token stream; a numba kernel groups it by term (a stable counting sort) and then by document,
recording for each (term, document) the field mask and one term frequency per field.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wikisearch.index import _invert_kernels as K
from wikisearch.config import N_FIELDS
from wikisearch.jit import interpreted

#: The kernels run as Python here (``jit.interpreted``): :func:`invert_tokens_numpy` instead.
_PYTHON = interpreted(K.__name__)


@dataclass
class Postings:
    """Postings of a block in CSR form; term ``t``'s postings are
    ``docids[post_offsets[t]:post_offsets[t+1]]`` (same for ``masks``) and its tfs
    ``tfs[tf_offsets[t]:tf_offsets[t+1]]``. ``terms`` are sorted (code point = UTF-8 byte order)."""

    terms: list[str]
    post_offsets: np.ndarray
    docids: np.ndarray
    masks: np.ndarray
    tf_offsets: np.ndarray
    tfs: np.ndarray
    field_lengths: np.ndarray  # uint32 [n_docs, N_FIELDS]

    def term_postings(self, t: int):
        a, b = self.post_offsets[t], self.post_offsets[t + 1]
        c, d = self.tf_offsets[t], self.tf_offsets[t + 1]
        return self.docids[a:b], self.masks[a:b], self.tfs[c:d]

    @property
    def n_postings(self) -> int:
        return int(self.post_offsets[-1])


def invert_texts(texts: list[str], n_docs: int, analyzer) -> Postings:
    """Invert ``n_docs * N_FIELDS`` field texts into sorted, field-tagged postings.

    >>> p = invert_texts(["Berlin", "", "Berlin is big"] + [""] * 6, 1, Analyzer())  # doctest: +SKIP
    """
    if len(texts) != n_docs * N_FIELDS:
        raise ValueError(f"expected {n_docs * N_FIELDS} texts, got {len(texts)}")
    term_ids, text_index, vocab = analyzer.analyze_texts(texts)
    order = sorted(range(len(vocab)), key=vocab.__getitem__)
    rank = np.empty(len(vocab), np.int32)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(vocab), dtype=np.int32)
    terms = [vocab[i] for i in order]
    term_rank = rank[np.asarray(term_ids, dtype=np.int64)] if len(term_ids) else np.zeros(0, np.int32)
    text_index = np.ascontiguousarray(text_index, dtype=np.int32)
    invert = invert_tokens_numpy if _PYTHON else K.invert_tokens
    post_offsets, docids, masks, tf_offsets, tfs = invert(
        np.ascontiguousarray(term_rank, dtype=np.int32), text_index, len(terms), N_FIELDS)
    del term_ids
    lengths = np.bincount(text_index, minlength=n_docs * N_FIELDS)
    field_lengths = lengths.reshape(n_docs, N_FIELDS).astype(np.uint32)
    return Postings(terms, post_offsets, docids, masks, tf_offsets, tfs, field_lengths)


def invert_tokens_numpy(term_rank, text_index, n_terms: int, n_fields: int):
    """``_invert_kernels.invert_tokens`` in numpy, for where the kernels run as Python: a stable
    sort by term, then runs of equal (term, text) (one tf each) and of equal (term, document)
    (one posting each, its mask the OR of the runs' field bits). The same arrays (tests compare).

    >>> [a.tolist() for a in invert_tokens_numpy(np.array([1, 0, 1], np.int32), np.array([0, 0, 2], np.int32), 2, 2)]
    [[0, 1, 3], [0, 0, 1], [1, 1, 1], [0, 1, 3], [1, 1, 1]]
    """
    t = np.asarray(term_rank, np.int64)
    order = np.argsort(t, kind="stable")
    t = t[order]
    x = np.asarray(text_index, np.int64)[order]
    n = t.size
    new_run = np.ones(n, bool)                         # a run: tokens of one term in one text
    new_run[1:] = (t[1:] != t[:-1]) | (x[1:] != x[:-1])
    run_starts = np.flatnonzero(new_run)
    tfs = np.diff(np.append(run_starts, n)).astype(np.uint32)
    run_t, run_doc = t[run_starts], x[run_starts] // n_fields
    bits = np.left_shift(1, x[run_starts] - run_doc * n_fields)
    new_post = np.ones(run_starts.size, bool)          # a posting: runs of one term in one document
    new_post[1:] = (run_t[1:] != run_t[:-1]) | (run_doc[1:] != run_doc[:-1])
    post_starts = np.flatnonzero(new_post)
    masks = (np.bitwise_or.reduceat(bits, post_starts) if post_starts.size else bits).astype(np.uint16)
    post_offsets = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(run_t[post_starts], minlength=n_terms)[:n_terms], out=post_offsets[1:])
    tf_offsets = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(run_t, minlength=n_terms)[:n_terms], out=tf_offsets[1:])
    return post_offsets, run_doc[post_starts].astype(np.int32), masks, tf_offsets, tfs


def invert_slow(texts: list[str], n_docs: int, analyzer) -> dict[str, list[tuple[int, dict[int, int]]]]:
    """The obvious oracle: term -> [(doc, {field: tf})] with docs ascending, using ``analyzer.terms``."""
    index: dict[str, dict[int, dict[int, int]]] = {}
    for i, text in enumerate(texts):
        doc, field = divmod(i, N_FIELDS)
        for term in analyzer.analyze_slow(text):
            fields = index.setdefault(term, {}).setdefault(doc, {})
            fields[field] = fields.get(field, 0) + 1
    return {t: sorted(docs.items()) for t, docs in sorted(index.items())}


def postings_as_dict(docids, masks, tfs) -> list[tuple[int, dict[int, int]]]:
    """Expand one postings list into the oracle's shape: [(doc, {field: tf})]."""
    out, q = [], 0
    for d, m in zip(docids.tolist(), masks.tolist()):
        fields = {}
        for f in range(16):
            if m >> f & 1:
                fields[f] = int(tfs[q])
                q += 1
        out.append((d, fields))
    return out
