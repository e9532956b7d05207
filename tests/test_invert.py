"""The invert kernels against plain-Python oracles."""
import os
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wikisearch.index import _invert_kernels as K
from wikisearch.index import _merge_kernels as MK
from wikisearch.index.invert import postings_as_dict

NF = 9


def oracle(term_rank, text_index, n_terms):
    out = {}
    for t, ti in zip(term_rank, text_index):
        doc, f = divmod(int(ti), NF)
        fields = out.setdefault(int(t), {}).setdefault(doc, {})
        fields[f] = fields.get(f, 0) + 1
    return {t: sorted(d.items()) for t, d in out.items()}


@st.composite
def token_streams(draw):
    n_terms = draw(st.integers(1, 20))
    n = draw(st.integers(0, 300))
    terms = draw(st.lists(st.integers(0, n_terms - 1), min_size=n, max_size=n))
    texts = sorted(draw(st.lists(st.integers(0, 6 * NF - 1), min_size=n, max_size=n)))
    return np.array(terms, np.int32), np.array(texts, np.int32), n_terms


@settings(max_examples=150, deadline=None)
@given(token_streams())
def test_invert_tokens_matches_oracle(stream):
    terms, texts, n_terms = stream
    po, d, m, to, tf = K.invert_tokens(terms, texts, n_terms, NF)
    expected = oracle(terms, texts, n_terms)
    for t in range(n_terms):
        got = postings_as_dict(d[po[t]:po[t + 1]], m[po[t]:po[t + 1]], tf[to[t]:to[t + 1]])
        assert got == expected.get(t, [])


@settings(max_examples=150, deadline=None)
@given(token_streams())
def test_invert_tokens_numpy_equals_the_kernel(stream):
    """invert_tokens_numpy (where the kernels run as Python) gives the kernel's arrays."""
    from wikisearch.index.invert import invert_tokens_numpy
    terms, texts, n_terms = stream
    for a, b in zip(K.invert_tokens(terms, texts, n_terms, NF), invert_tokens_numpy(terms, texts, n_terms, NF)):
        assert a.dtype == b.dtype and a.tolist() == b.tolist()


def _random_list(rng, n):
    docs = np.unique(rng.integers(0, 50, n)).astype(np.int32)
    masks = rng.integers(1, 1 << NF, len(docs)).astype(np.uint16)
    tfs = rng.integers(1, 5, int(sum(bin(int(x)).count("1") for x in masks))).astype(np.uint32)
    return docs, masks, tfs


def test_merge_two_matches_oracle():
    rng = np.random.default_rng(7)
    for _ in range(200):
        a = _random_list(rng, rng.integers(0, 20))
        b = _random_list(rng, rng.integers(0, 20))
        got = postings_as_dict(*MK.merge_two(*a, *b))
        exp = {}
        for lst in (postings_as_dict(*a), postings_as_dict(*b)):
            for doc, fields in lst:
                dst = exp.setdefault(doc, {})
                for f, v in fields.items():
                    dst[f] = dst.get(f, 0) + v
        assert got == sorted(exp.items())


def test_count_field_postings():
    rng = np.random.default_rng(3)
    _d, m, _t = _random_list(rng, 30)
    counts = np.zeros(NF, np.int64)
    MK.count_field_postings(m, counts)
    assert counts.tolist() == [sum(int(x) >> f & 1 for x in m) for f in range(NF)]
    from wikisearch.index.merge import count_field_postings_numpy    # where kernels run as Python
    again = np.full(NF, 5, np.int64)
    count_field_postings_numpy(np.append(m, np.uint16(0x1FF)), again)
    assert (again - 5 - (np.arange(NF) < 9)).tolist() == counts.tolist()


def test_kernels_run_without_jit():
    code = ("import numpy as np; from wikisearch.index import _invert_kernels as K, _merge_kernels as MK;"
            "po,d,m,to,tf=K.invert_tokens(np.array([1,0,1],np.int32),np.array([0,9,10],np.int32),2,9);"
            "assert d.tolist()==[1,0,1] and tf.tolist()==[1,1,1], (d, tf);"
            "print(MK.merge_two(d[:1],m[:1],tf[:1],d[1:],m[1:],tf[1:])[0].tolist())")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[0, 1]"
