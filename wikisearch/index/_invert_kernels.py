"""Numba kernels of the invert stage: token streams -> field-tagged postings.

Pure functions over contiguous arrays; they also run with NUMBA_DISABLE_JIT=1, and
``invert.invert_slow`` is the plain-Python oracle tests compare them to.
"""
import numpy as np
from wikisearch.jit import njit


@njit(cache=True, nogil=True)
def invert_tokens(term_rank, text_index, n_terms, n_fields):
    """Group a token stream into postings.

    ``term_rank[i]`` is token i's term (its rank in the sorted vocabulary), ``text_index[i]`` the
    text it came from (``doc * n_fields + field``), non-decreasing in token order.
    Returns CSR arrays: ``post_offsets[n_terms+1]`` into ``docids``/``masks``,
    ``tf_offsets[n_terms+1]`` into ``tfs`` (one tf per set mask bit, fields ascending).
    """
    n = term_rank.shape[0]
    counts = np.zeros(n_terms + 1, np.int64)
    for i in range(n):
        counts[term_rank[i] + 1] += 1
    starts = np.cumsum(counts)
    # stable counting sort by term keeps each term's texts in ascending order
    fill = starts[:-1].copy()
    by_term = np.empty(n, np.int32)
    for i in range(n):
        t = term_rank[i]
        by_term[fill[t]] = text_index[i]
        fill[t] += 1
    post_offsets = np.zeros(n_terms + 1, np.int64)
    tf_offsets = np.zeros(n_terms + 1, np.int64)
    docids = np.empty(n, np.int32)
    masks = np.empty(n, np.uint16)
    tfs = np.empty(n, np.uint32)
    p = 0
    q = 0
    for t in range(n_terms):
        j = starts[t]
        end = starts[t + 1]
        while j < end:
            doc = by_term[j] // n_fields
            mask = 0
            while j < end and by_term[j] // n_fields == doc:
                ti = by_term[j]
                tf = 0
                while j < end and by_term[j] == ti:
                    tf += 1
                    j += 1
                mask |= 1 << (ti - doc * n_fields)
                tfs[q] = tf
                q += 1
            docids[p] = doc
            masks[p] = mask
            p += 1
        post_offsets[t + 1] = p
        tf_offsets[t + 1] = q
    return post_offsets, docids[:p].copy(), masks[:p].copy(), tf_offsets, tfs[:q].copy()
