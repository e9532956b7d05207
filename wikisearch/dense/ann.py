"""ann: the FAISS index over the passage vectors (inner product on unit vectors = cosine).

``flat`` (IndexFlatIP) is exact: 4 bytes a dimension, a full scan per query; the choice for small
collections. ``ivfpq`` (IndexIVFPQ) clusters the vectors into ``nlist ~ 4 sqrt(N)`` lists and
stores each as ``m`` one-byte codes (m divides the dimension; ``dim / 8`` by default: 48 bytes for
384 dimensions, 32x smaller than float32); a query scans ``nprobe`` lists. Searches over IVF-PQ
re-score their candidates exactly with the stored shard vectors when asked (``refine``), which
recovers most of the recall PQ loses, for a few hundred vector reads.

``auto`` picks flat below :data:`FLAT_MAX` vectors, IVF-PQ from there. The index is stored as
FAISS's own serialization inside a wikisearch container (``index.bin``, kind DANN).
"""
from __future__ import annotations

import math

import numpy as np

from wikisearch.fileio import atomic_path
from wikisearch.index.container import Container, write_container
from wikisearch.dense.store import INDEX_KIND

FLAT_MAX = 100_000
INDEX_TYPES = ("auto", "flat", "ivfpq")
#: Training points per centroid FAISS asks for (it warns below 39).
_PER_CENTROID = 39
_TRAIN_MAX = 256 * 1024


def choose(n: int, dim: int, index_type: str = "auto") -> dict:
    """Index parameters for ``n`` vectors of ``dim`` dimensions.

    >>> choose(1_000_000, 384)
    {'type': 'ivfpq', 'nlist': 4000, 'm': 48, 'nbits': 8, 'nprobe': 128, 'train': 156000}
    >>> choose(5000, 384, "ivfpq")["nlist"], choose(5000, 384)["type"]
    (128, 'flat')
    """
    if index_type not in INDEX_TYPES:
        raise ValueError(f"index type must be one of {', '.join(INDEX_TYPES)}, not {index_type!r}")
    if index_type == "flat" or (index_type == "auto" and n < FLAT_MAX) or n < 2 * _PER_CENTROID:
        return {"type": "flat"}
    nlist = max(1, min(round(4 * math.sqrt(n)), n // _PER_CENTROID))
    nbits = max(4, min(8, int(math.log2(max(n // _PER_CENTROID, 16)))))
    train = min(n, max(_PER_CENTROID * max(nlist, 2 ** nbits), 50_000), _TRAIN_MAX)
    return {"type": "ivfpq", "nlist": nlist, "m": _pq_m(dim), "nbits": nbits,
            "nprobe": max(8, min(128, nlist // 16)), "train": train}


def _pq_m(dim: int) -> int:
    """The divisor of ``dim`` closest to ``dim / 8`` (one code byte per ~8 dimensions)."""
    divisors = [m for m in range(1, dim + 1) if dim % m == 0]
    return min(divisors, key=lambda m: (abs(m - dim / 8), m))


def build(vectors, n: int, dim: int, params: dict, *, sample=None, seed: int = 0):
    """An index over ``n`` vectors. ``vectors`` yields float32 blocks in id order (it is read once,
    or twice for IVF-PQ when ``sample`` is None); ``sample(ids)`` returns given rows (training)."""
    import faiss
    if params["type"] == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, params["nlist"], params["m"], params["nbits"],
                                 faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        ids = np.sort(rng.choice(n, size=min(params["train"], n), replace=False))
        train = sample(ids) if sample is not None else np.concatenate(list(vectors()))[ids]
        index.train(np.ascontiguousarray(train, np.float32))
        index.nprobe = params["nprobe"]
    for block in vectors():
        index.add(np.ascontiguousarray(block, np.float32))
    return index


def save(index, path, params: dict) -> None:
    import faiss
    data = faiss.serialize_index(index)
    with atomic_path(path) as tmp:
        write_container(tmp, INDEX_KIND, {"faiss": np.asarray(data, np.uint8)},
                        {"params": params, "ntotal": int(index.ntotal), "dim": int(index.d)})


def load(path):
    """(faiss index, params) from ``index.bin``."""
    import faiss
    c = Container(path, INDEX_KIND)
    index = faiss.deserialize_index(np.array(c["faiss"]))
    params = c.meta["params"]
    c.close()
    if params.get("type") == "ivfpq":
        index.nprobe = int(params["nprobe"])
    return index, params


def search(index, queries: np.ndarray, k: int, *, nprobe: int | None = None, refine=None,
           refine_factor: int = 10):
    """(scores, ids) float32/int64 [nq, k], best first; ids -1 where fewer than k exist.

    ``refine(ids) -> float32 vectors``: re-score the top ``k * refine_factor`` candidates exactly.
    """
    q = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
    if nprobe is not None and hasattr(index, "nprobe"):
        index.nprobe = int(nprobe)
    if refine is None or not hasattr(index, "nprobe"):
        return index.search(q, k)
    scores, ids = index.search(q, k * refine_factor)
    out_s = np.full((len(q), k), -np.inf, np.float32)
    out_i = np.full((len(q), k), -1, np.int64)
    for r in range(len(q)):
        cand = ids[r][ids[r] >= 0]
        if not len(cand):
            continue
        exact = refine(cand) @ q[r]
        order = np.argsort(-exact, kind="stable")[:k]
        out_s[r, :len(order)] = exact[order]
        out_i[r, :len(order)] = cand[order]
    return out_s, out_i


def bytes_per_vector(params: dict, dim: int) -> float:
    """Index bytes a vector costs (codes and ids; not the centroids)."""
    if params["type"] == "flat":
        return 4.0 * dim
    return params["m"] * params["nbits"] / 8 + 8      # PQ code + the int64 id in its list
