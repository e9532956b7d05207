"""Numba kernels of the merge stage: merge dictionaries, gather block postings, fold in aliases.

Pure functions over contiguous arrays; they also run with NUMBA_DISABLE_JIT=1 and tests compare
them to plain-Python oracles (tests/test_invert.py, tests/test_build.py).
"""
import numpy as np
from wikisearch.jit import njit

from wikisearch.index import _codec_kernels as CK
from wikisearch.index import _strings_kernels as SK

VARBYTE = 0
BITPACKED = 1


@njit(cache=True, nogil=True)
def gather_chunk(codec_id, buf, e_start, e_df, e_base, e_term, n_terms, n_postings, tf_capacity):
    """Decode block lists (entries sorted by term, then block) and concatenate them per term.

    Entry i is a list of ``e_df[i]`` postings at ``buf[e_start[i]:]`` belonging to chunk term
    ``e_term[i]``; its docids are shifted by ``e_base[i]`` (the block's first docid).
    Returns CSR ``(post_offsets, docids, masks, tf_offsets, tfs)``, or an empty ``post_offsets``
    if the bytes are damaged.
    """
    post_offsets = np.zeros(n_terms + 1, np.int64)
    tf_offsets = np.zeros(n_terms + 1, np.int64)
    docids = np.empty(n_postings, np.int32)
    masks = np.empty(n_postings, np.uint16)
    tfs = np.empty(tf_capacity, np.uint32)
    p = 0
    q = 0
    for i in range(e_start.shape[0]):
        n = e_df[i]
        if codec_id == VARBYTE:
            end, nt = CK.varbyte_decode_into(buf, e_start[i], n, docids[p:], masks[p:], tfs[q:])
        else:
            end, nt = CK.bitpacked_decode_into(buf, e_start[i], n, docids[p:], masks[p:], tfs[q:])
        if end < 0:
            return np.zeros(0, np.int64), docids, masks, tf_offsets, tfs
        base = e_base[i]
        for j in range(p, p + n):
            docids[j] += base
        p += n
        q += nt
        post_offsets[e_term[i] + 1] = p
        tf_offsets[e_term[i] + 1] = q
    for t in range(n_terms):  # terms with no block entry (alias-only) keep the running offsets
        if post_offsets[t + 1] < post_offsets[t]:
            post_offsets[t + 1] = post_offsets[t]
        if tf_offsets[t + 1] < tf_offsets[t]:
            tf_offsets[t + 1] = tf_offsets[t]
    return post_offsets, docids, masks, tf_offsets, tfs[:q]


@njit(cache=True, nogil=True)
def merge_alias_chunk(po, d, m, to, t, apo, ad, am, ato, at):
    """Per term, merge the alias (redirect-field) list into the block list (both CSR)."""
    n_terms = po.shape[0] - 1
    out_po = np.zeros(n_terms + 1, np.int64)
    out_to = np.zeros(n_terms + 1, np.int64)
    out_d = np.empty(d.shape[0] + ad.shape[0], np.int32)
    out_m = np.empty(d.shape[0] + ad.shape[0], np.uint16)
    out_t = np.empty(t.shape[0] + at.shape[0], np.uint32)
    p = 0
    q = 0
    for k in range(n_terms):
        d2, m2, t2 = merge_two(d[po[k]:po[k + 1]], m[po[k]:po[k + 1]], t[to[k]:to[k + 1]],
                               ad[apo[k]:apo[k + 1]], am[apo[k]:apo[k + 1]], at[ato[k]:ato[k + 1]])
        out_d[p:p + d2.shape[0]] = d2
        out_m[p:p + d2.shape[0]] = m2
        out_t[q:q + t2.shape[0]] = t2
        p += d2.shape[0]
        q += t2.shape[0]
        out_po[k + 1] = p
        out_to[k + 1] = q
    return out_po, out_d[:p], out_m[:p], out_to, out_t[:q]


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
def count_field_postings(masks, field_postings):
    """Add each posting's fields to ``field_postings`` (postings per field, for the manifest)."""
    nf = field_postings.shape[0]
    for i in range(masks.shape[0]):
        m = masks[i]
        for f in range(nf):
            if m & (1 << f):
                field_postings[f] += 1


@njit(cache=True, nogil=True)
def _term_cmp(blob, offs, i, j):
    """-1, 0, 1 as term ``i`` is below, equal to, above term ``j`` (UTF-8 byte order)."""
    return SK.compare_bytes(blob, offs[i], offs[i + 1], blob, offs[j], offs[j + 1])


@njit(cache=True, nogil=True)
def _before(blob, offs, run_of, i, j):
    """Merge order of entries: by term, then by run (source) number."""
    c = _term_cmp(blob, offs, i, j)
    if c != 0:
        return c < 0
    return run_of[i] < run_of[j]


@njit(cache=True, nogil=True)
def merge_runs(blob, offs, run_lo, run_hi, run_final):
    """One step of a k-way heap merge over sorted runs of terms held in windows.

    Entries ``run_lo[r]:run_hi[r]`` of ``offs`` are run ``r``'s window, sorted, each term once.
    ``run_final[r]`` says the window holds the rest of the run. Emits, in (term, run) order, every
    entry whose term is <= the smallest last term of a non-final window: no entry still to come
    can sort before them, and a term's entries are never split between steps.
    Returns ``(order, new_term, taken)``: entry indices, whether each starts a new term, and per
    run how many entries were taken.
    """
    k = run_lo.shape[0]
    n = offs.shape[0] - 1
    run_of = np.empty(n, np.int64)
    for r in range(k):
        for i in range(run_lo[r], run_hi[r]):
            run_of[i] = r
    cut = -1  # entry index of the cutoff term; -1: none (every window is final)
    for r in range(k):
        if not run_final[r] and run_hi[r] > run_lo[r]:
            last = run_hi[r] - 1
            if cut < 0 or _term_cmp(blob, offs, last, cut) < 0:
                cut = last
    heap = np.empty(k, np.int64)   # entry indices; heap[0] is the next in merge order
    pos = run_lo.copy()
    h = 0
    for r in range(k):
        if pos[r] < run_hi[r]:
            heap[h] = pos[r]
            h += 1
            j = h - 1
            while j > 0:  # sift up
                p = (j - 1) // 2
                if _before(blob, offs, run_of, heap[j], heap[p]):
                    heap[j], heap[p] = heap[p], heap[j]
                    j = p
                else:
                    break
    order = np.empty(n, np.int64)
    new_term = np.empty(n, np.bool_)
    m = 0
    while h > 0:
        e = heap[0]
        if cut >= 0 and _term_cmp(blob, offs, e, cut) > 0:
            break
        order[m] = e
        new_term[m] = m == 0 or _term_cmp(blob, offs, order[m - 1], e) != 0
        m += 1
        r = run_of[e]
        pos[r] += 1
        if pos[r] < run_hi[r]:
            heap[0] = pos[r]
        else:
            h -= 1
            heap[0] = heap[h]
        j = 0
        while True:  # sift down
            a = 2 * j + 1
            if a >= h:
                break
            c = a
            if a + 1 < h and _before(blob, offs, run_of, heap[a + 1], heap[a]):
                c = a + 1
            if _before(blob, offs, run_of, heap[c], heap[j]):
                heap[c], heap[j] = heap[j], heap[c]
                j = c
            else:
                break
    taken = pos - run_lo
    return order[:m], new_term[:m], taken


@njit(cache=True, nogil=True)
def gather_terms(blob, offs, idx):
    """The bytes of terms ``idx`` of a (blob, offsets) string table, back to back, and their lengths."""
    n = idx.shape[0]
    lengths = np.empty(n, np.int64)
    total = 0
    for i in range(n):
        lengths[i] = offs[idx[i] + 1] - offs[idx[i]]
        total += lengths[i]
    out = np.empty(total, np.uint8)
    p = 0
    for i in range(n):
        a = offs[idx[i]]
        for j in range(lengths[i]):
            out[p + j] = blob[a + j]
        p += lengths[i]
    return out, lengths
