"""rank: the scoring functions, small and pure (the numba kernels repeat them operation by operation).

BM25F (Robertson & Zaragoza, "The Probabilistic Relevance Framework", 2009, eq. 3.18-3.20):

    tf~(t, d)  = sum_f  w_f * tf_f / ((1 - b_f) + (b_f / avglen_f) * len_f)
    score(d)   = sum_t  idf(t) * tf~ / (k1 + tf~)
    idf(t)     = ln(1 + (N - df + 0.5) / (df + 0.5))

TF-IDF (``model="tfidf"``): SMART ``ltn`` weights with Singhal's pivoted length normalisation in
place of the cosine norm, per field, with the same weights and b:

    score(d)   = sum_t  ln(1 + N / df) * sum_f w_f * (1 + ln tf_f) / ((1 - b_f) + (b_f / avglen_f) * len_f)

``df`` counts documents containing the term in any field (the index keeps one df per term).
A field restriction (``t:merkel``) sums over its fields only.
"""
from __future__ import annotations

import math

import numpy as np

from wikisearch.config import FIELDS, N_FIELDS, RankConfig

MODELS = {"bm25f": 0, "tfidf": 1}


def idf(n_docs: int, df: int, model: str = "bm25f") -> float:
    """Inverse document frequency; always > 0.

    >>> round(idf(1000, 10), 4)
    4.5574
    """
    if model == "tfidf":
        return math.log(1.0 + n_docs / df)
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def length_norm(b: float, length: float, avg_length: float) -> float:
    """BM25 length normalisation ``(1 - b) + (b / avg) * len`` (1 for a field empty everywhere)."""
    c = b / avg_length if avg_length > 0 else 0.0
    return (1.0 - b) + c * length


def field_tf(tf: float, weight: float, norm: float, model: str = "bm25f") -> float:
    """One field's share of a term's weight in a document."""
    if model == "tfidf":
        return weight * (1.0 + math.log(tf)) / norm
    return weight * tf / norm


def combine(acc: float, idf_value: float, k1: float, model: str = "bm25f") -> float:
    """A term's score from its summed field weights ``acc``: BM25 saturation, or plain for TF-IDF."""
    if model == "tfidf":
        return idf_value * acc
    return idf_value * (acc / (k1 + acc))


def term_score(tfs: dict[str, int], lengths: dict[str, int], avg_lengths: dict[str, float],
               idf_value: float, config: RankConfig, fields=None) -> float:
    """Score of one term in one document from per-field tfs and lengths (the reference formula).

    >>> cfg = RankConfig()
    >>> round(term_score({"title": 1}, {"title": 2}, {"title": 2.0}, 1.0, cfg), 4)
    0.9434
    """
    acc = 0.0
    for f in FIELDS:                      # ascending field order, like the kernels
        if tfs.get(f, 0) > 0 and (fields is None or f in fields):
            i = FIELDS.index(f)
            norm = length_norm(config.b[i], lengths[f], avg_lengths[f])
            acc += field_tf(tfs[f], config.weights[i], norm, config.model)
    return combine(acc, idf_value, config.k1, config.model)


def check_config(config: RankConfig) -> None:
    """Raise ValueError for parameters that make scores meaningless (negative weights, k1 <= 0)."""
    if not config.k1 > 0 or not math.isfinite(config.k1):
        raise ValueError(f"k1 must be a positive number, not {config.k1}")
    for f, w, b in zip(FIELDS, config.weights, config.b):
        if not (w >= 0 and math.isfinite(w)):
            raise ValueError(f"weight of field {f} must be >= 0, not {w}")
        if not 0 <= b <= 1:
            raise ValueError(f"b of field {f} must be in [0, 1], not {b}")


def kernel_params(config: RankConfig, avg_field_lengths: np.ndarray):
    """(weights, norm_a, norm_c, k1, model code) arrays for the kernels: norm = norm_a + norm_c * len."""
    weights = np.asarray(config.weights, np.float64)
    b = np.asarray(config.b, np.float64)
    avg = np.asarray(avg_field_lengths, np.float64)
    norm_a = 1.0 - b
    norm_c = np.zeros(N_FIELDS, np.float64)
    nz = avg > 0
    norm_c[nz] = b[nz] / avg[nz]
    return weights, norm_a, norm_c, float(config.k1), MODELS[config.model]


def kernel_lengths(field_lengths) -> np.ndarray:
    """A reader's field lengths (uint32[n, fields]) as the kernels take them: in C or Fortran
    order as stored, never copied (a format 8 index keeps them field by field, a Fortran-order
    view: a copy to C order would undo that and cost memory), else a C-order copy."""
    a = np.asarray(field_lengths)
    return a if a.flags.c_contiguous or a.flags.f_contiguous else np.ascontiguousarray(a)


def field_mask(fields) -> int:
    """Field names -> bit mask (None: all fields)."""
    if fields is None:
        return (1 << N_FIELDS) - 1
    m = 0
    for f in fields:
        m |= 1 << FIELDS.index(f)
    return m


def mask_fields(mask: int) -> list[str]:
    """Bit mask -> field names in field order."""
    return [f for i, f in enumerate(FIELDS) if mask >> i & 1]
