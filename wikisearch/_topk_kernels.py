"""The bounded top-k heap shared by the search and suggest kernels.

Entries are (score, key, payload) in three parallel arrays; the root is the worst entry kept:
lower score first, then higher key (so ties go to the lower docid / tie key). Pure functions; they
run with NUMBA_DISABLE_JIT=1 too.
"""
import numpy as np
from wikisearch.jit import njit


@njit(cache=True, nogil=True)
def _worse(s1, d1, s2, d2):
    """Is (s1, d1) ranked below (s2, d2)? Higher score first, then lower docid."""
    return s1 < s2 or (s1 == s2 and d1 > d2)


@njit(cache=True, nogil=True)
def _sift_down(hs, hd, hf, size, i):
    while True:
        l = 2 * i + 1
        if l >= size:
            return
        w = l
        r = l + 1
        if r < size and _worse(hs[r], hd[r], hs[l], hd[l]):
            w = r
        if _worse(hs[w], hd[w], hs[i], hd[i]):
            hs[i], hs[w] = hs[w], hs[i]
            hd[i], hd[w] = hd[w], hd[i]
            hf[i], hf[w] = hf[w], hf[i]
            i = w
        else:
            return


@njit(cache=True, nogil=True)
def _sift_up(hs, hd, hf, i):
    while i > 0:
        parent = (i - 1) >> 1
        if _worse(hs[i], hd[i], hs[parent], hd[parent]):
            hs[i], hs[parent] = hs[parent], hs[i]
            hd[i], hd[parent] = hd[parent], hd[i]
            hf[i], hf[parent] = hf[parent], hf[i]
            i = parent
        else:
            return


@njit(cache=True, nogil=True)
def offer(hs, hd, hf, size, m, s, d, f):
    """Offer (s, d, f) to a heap of at most ``m`` entries holding ``size``; returns the new size."""
    if size < m:
        hs[size], hd[size], hf[size] = s, d, f
        _sift_up(hs, hd, hf, size)
        return size + 1
    if not _worse(hs[0], hd[0], s, d):
        return size
    hs[0], hd[0], hf[0] = s, d, f
    _sift_down(hs, hd, hf, size, np.int64(0))
    return size


@njit(cache=True, nogil=True)
def heap_sorted(hs, hd, hf, size):
    """Heap contents best first (score descending, then key ascending): popped worst first into
    the back of fresh arrays (heap sort; no numpy sort, whose compile costs seconds)."""
    hs = hs[:size].copy()
    hd = hd[:size].copy()
    hf = hf[:size].copy()
    scores = np.empty(size, hs.dtype)
    docs = np.empty(size, hd.dtype)
    fields = np.empty(size, hf.dtype)
    root = np.int64(0)
    for n in range(size - 1, -1, -1):
        scores[n], docs[n], fields[n] = hs[0], hd[0], hf[0]
        hs[0], hd[0], hf[0] = hs[n], hd[n], hf[n]
        _sift_down(hs, hd, hf, np.int64(n), root)
    return docs, scores, fields
