"""Xapian (xapian-bindings-binary wheels; ``pip install xapian-bindings`` does not build here).

TermGenerator and QueryParser with the English Snowball stemmer and ``STEM_ALL`` (one stemmed term
per word, as the other engines index), no positions (``index_text_without_positions``), default
BM25Weight, query parsed with no operator flags so every query is a plain OR of its terms.
"""
from __future__ import annotations

from pathlib import Path

DISTRIBUTIONS = ("xapian-bindings-binary",)


def check(opts: dict) -> None:
    import xapian  # noqa: F401


def build(ctx) -> dict:
    import numpy as np
    import xapian

    db = xapian.WritableDatabase(str(ctx.index_dir), xapian.DB_CREATE_OR_OVERWRITE)
    tg = xapian.TermGenerator()
    tg.set_stemmer(xapian.Stem("en"))
    tg.set_stemming_strategy(xapian.TermGenerator.STEM_ALL)
    page_ids = []
    for doc in ctx.docs:
        d = xapian.Document()
        tg.set_document(d)
        tg.index_text_without_positions(doc.full_text())
        db.add_document(d)  # docids 1, 2, ... in corpus order: page_ids.npy maps them back
        page_ids.append(doc.page_id)
    ctx.mark("add_documents")
    db.commit()
    ctx.mark("commit")
    postings = sum(t.termfreq for t in db.allterms())
    db.close()
    np.save(Path(ctx.index_dir) / "page_ids.npy", np.asarray(page_ids, dtype=np.int64))
    return {"engine_postings": int(postings),
            "engine_postings_definition": "sum of term frequencies (docs per term) over all terms"}


class Searcher:
    def __init__(self, index_dir: Path):
        import numpy as np
        import xapian

        self.xapian = xapian
        self.db = xapian.Database(str(index_dir))
        self.enquire = xapian.Enquire(self.db)
        self.qp = xapian.QueryParser()
        self.qp.set_stemmer(xapian.Stem("en"))
        self.qp.set_stemming_strategy(xapian.QueryParser.STEM_ALL)
        self.qp.set_database(self.db)
        self.page_ids = np.load(Path(index_dir) / "page_ids.npy")

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        self.enquire.set_query(self.qp.parse_query(query, 0))
        mset = self.enquire.get_mset(0, k)
        return [(int(self.page_ids[m.docid - 1]), float(m.weight)) for m in mset]


def open_index(index_dir: Path, opts: dict) -> Searcher:
    return Searcher(Path(index_dir))
