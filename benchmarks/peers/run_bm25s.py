"""bm25s: BM25 scores precomputed into a sparse matrix at index time (numba backend)."""
from __future__ import annotations

from pathlib import Path

DISTRIBUTIONS = ("bm25s", "PyStemmer", "numba", "scipy", "numpy")


def check(opts: dict) -> None:
    import bm25s  # noqa: F401
    import Stemmer  # noqa: F401


def build(ctx) -> dict:
    import bm25s
    import numpy as np
    import Stemmer

    page_ids, texts = [], []
    for doc in ctx.docs:
        page_ids.append(doc.page_id)
        texts.append(doc.full_text())
    ctx.mark("read")
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                            show_progress=False)
    del texts
    ctx.mark("tokenize")
    retriever = bm25s.BM25(backend="numba")
    retriever.index(tokens, show_progress=False)
    ctx.mark("index")
    retriever.save(str(ctx.index_dir), show_progress=False)
    np.save(Path(ctx.index_dir) / "page_ids.npy", np.asarray(page_ids, dtype=np.int64))
    ctx.mark("save")
    return {"engine_postings": int(retriever.scores["data"].size),
            "engine_postings_definition": "non-zeros of bm25s's term x doc score matrix "
                                          "(its own tokenization, stopwords removed)"}


class Searcher:
    def __init__(self, index_dir: Path):
        import bm25s
        import numpy as np
        import Stemmer

        self._bm25s = bm25s
        self._stemmer = Stemmer.Stemmer("english")
        # mmap=True: the documented low-memory way; the score matrix is paged in as queries touch it.
        self.retriever = bm25s.BM25.load(str(index_dir), mmap=True, show_progress=False)
        self.retriever.backend = "numba"
        self.page_ids = np.load(Path(index_dir) / "page_ids.npy")

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        tokens = self._bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer,
                                      return_ids=False, show_progress=False)
        if not tokens[0]:
            return []
        k = min(k, len(self.page_ids))
        docs, scores = self.retriever.retrieve(tokens, k=k, show_progress=False, n_threads=0)
        return [(int(self.page_ids[d]), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


def open_index(index_dir: Path, opts: dict) -> Searcher:
    return Searcher(Path(index_dir))
