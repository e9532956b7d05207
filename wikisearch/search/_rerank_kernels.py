"""Numba kernel of the re-ranker: a sum of regression trees over a feature matrix.

Trees are concatenated: tree t owns internal nodes ``node_start[t]:node_start[t+1]`` of ``feature``,
``threshold``, ``left`` and ``right`` (children local to the tree: ``c >= 0`` an internal node,
``c < 0`` leaf ``-c - 1``) and leaves ``leaf_start[t]:leaf_start[t+1]`` of ``value``. A row goes
left when its feature value is ``<= threshold``. Each row's sum runs over trees in order from 0.0,
so the result equals the plain-numpy evaluation (tests/_oracle.py) to the bit.
"""
from __future__ import annotations

import numpy as np
from wikisearch.jit import njit


@njit(cache=True, nogil=True)
def predict_trees(X, node_start, leaf_start, feature, threshold, left, right, value):
    n = X.shape[0]
    T = node_start.shape[0] - 1
    out = np.zeros(n, np.float64)
    for i in range(n):
        acc = 0.0
        for t in range(T):
            ns = node_start[t]
            if node_start[t + 1] == ns:                       # a single leaf
                acc += value[leaf_start[t]]
                continue
            node = np.int64(0)
            while node >= 0:
                j = ns + node
                if X[i, feature[j]] <= threshold[j]:
                    node = left[j]
                else:
                    node = right[j]
            acc += value[leaf_start[t] - node - 1]
        out[i] = acc
    return out
