"""rank_bm25: pure-Python BM25Okapi that scores every document for every query.

rank_bm25 has no tokenizer and no save method: documents go through the harness's reference
analyzer (lowercase ``\\w+``, PyStemmer English stems, no stopwords) and the index is pickled.
"""
from __future__ import annotations

import pickle
from pathlib import Path

DISTRIBUTIONS = ("rank-bm25", "PyStemmer", "numpy")
INDEX_FILE = "bm25okapi.pickle"


def check(opts: dict) -> None:
    import rank_bm25  # noqa: F401


def build(ctx) -> dict:
    import numpy as np
    from rank_bm25 import BM25Okapi

    from corpus import ReferenceAnalyzer

    analyze = ReferenceAnalyzer()
    page_ids, tokenized = [], []
    for doc in ctx.docs:
        page_ids.append(doc.page_id)
        tokenized.append(analyze(doc.full_text()))
    ctx.mark("read+tokenize")
    bm25 = BM25Okapi(tokenized)
    del tokenized
    ctx.mark("index")
    Path(ctx.index_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(ctx.index_dir) / INDEX_FILE, "wb") as f:
        pickle.dump(bm25, f, protocol=pickle.HIGHEST_PROTOCOL)
    np.save(Path(ctx.index_dir) / "page_ids.npy", np.asarray(page_ids, dtype=np.int64))
    ctx.mark("save")
    return {"engine_postings": sum(len(d) for d in bm25.doc_freqs),
            "engine_postings_definition": "sum of BM25Okapi.doc_freqs sizes (harness tokenization)"}


class Searcher:
    def __init__(self, index_dir: Path):
        import numpy as np

        from corpus import ReferenceAnalyzer

        self.np = np
        self.analyze = ReferenceAnalyzer()
        with open(Path(index_dir) / INDEX_FILE, "rb") as f:
            self.bm25 = pickle.load(f)
        self.page_ids = np.load(Path(index_dir) / "page_ids.npy")

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        np = self.np
        scores = self.bm25.get_scores(self.analyze(query))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.page_ids[i]), float(scores[i])) for i in top if scores[i] > 0]


def open_index(index_dir: Path, opts: dict) -> Searcher:
    return Searcher(Path(index_dir))
