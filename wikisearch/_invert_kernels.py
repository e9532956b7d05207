"""Numba kernels of the invert stage: token streams -> field-tagged postings.

Pure functions over contiguous arrays; they also run with NUMBA_DISABLE_JIT=1, and
``invert.invert_slow`` is the plain-Python oracle tests compare them to.
"""
import numpy as np
from numba import njit


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
    by_term = np.empty(n, np.int64)
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


@njit(cache=True, nogil=True)
def merge_two(d1, m1, t1, d2, m2, t2):
    """Merge two postings lists of one term (docids ascending) into one.

    A document present in both gets the union of the masks and its tfs in ascending field
    order; a field present in both gets the tfs summed.
    """
    n1 = d1.shape[0]
    n2 = d2.shape[0]
    docids = np.empty(n1 + n2, np.int32)
    masks = np.empty(n1 + n2, np.uint16)
    tfs = np.empty(t1.shape[0] + t2.shape[0], np.uint32)
    i = j = p = 0
    a = b = q = 0
    while i < n1 or j < n2:
        if j >= n2 or (i < n1 and d1[i] < d2[j]):
            docids[p] = d1[i]
            masks[p] = m1[i]
            for _ in range(_popcount(m1[i])):
                tfs[q] = t1[a]
                q += 1
                a += 1
            i += 1
        elif i >= n1 or d2[j] < d1[i]:
            docids[p] = d2[j]
            masks[p] = m2[j]
            for _ in range(_popcount(m2[j])):
                tfs[q] = t2[b]
                q += 1
                b += 1
            j += 1
        else:
            mask = m1[i] | m2[j]
            docids[p] = d1[i]
            masks[p] = mask
            for f in range(16):
                bit = 1 << f
                if mask & bit:
                    v = 0
                    if m1[i] & bit:
                        v += t1[a]
                        a += 1
                    if m2[j] & bit:
                        v += t2[b]
                        b += 1
                    tfs[q] = v
                    q += 1
            i += 1
            j += 1
        p += 1
    return docids[:p].copy(), masks[:p].copy(), tfs[:q].copy()


@njit(cache=True, nogil=True)
def _popcount(x):
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


@njit(cache=True, nogil=True)
def bm25f_bound(docids, masks, tfs, field_lengths, avg_lengths, weights, b, k1, field_postings):
    """Max over a term's postings of the saturated BM25F tf part  tf~ / (k1 + tf~).

    Also adds each posting's fields to ``field_postings`` (postings per field, for stats).
    """
    best = 0.0
    q = 0
    nf = weights.shape[0]
    for i in range(docids.shape[0]):
        d = docids[i]
        m = masks[i]
        acc = 0.0
        for f in range(nf):
            if m & (1 << f):
                field_postings[f] += 1
                norm = 1.0 - b[f] + b[f] * field_lengths[d, f] / avg_lengths[f] if avg_lengths[f] > 0 else 1.0
                acc += weights[f] * tfs[q] / norm
                q += 1
        s = acc / (k1 + acc)
        if s > best:
            best = s
    return best
