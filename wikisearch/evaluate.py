"""evaluate: effectiveness of a searcher against relevance judgments (nDCG@10, MRR@10, Recall@100).

>>> r = run_eval("idx", "queries-v2.txt", "qrels-v2.txt")          # doctest: +SKIP
>>> r["measures"]["nDCG@10"]                                        # doctest: +SKIP

Judgments name documents by title (``key="title"``; DBpedia-Entity's ``<dbpedia:Title_With_Underscores>``
are decoded) or by page id (``key="page_id"``). Judgments of documents the index does not hold are
dropped, and so are queries left without a relevant document: the measures describe the corpus
the index covers. A run lists each query's hits best first; ir_measures (pytrec_eval) computes
the measures, and a query whose text has nothing to search for counts as an empty run (all 0).
"""
from __future__ import annotations

import html
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from wikisearch.errors import InvalidQueryError, MissingExtraError, WikisearchError

MEASURES = ("nDCG@10", "RR@10", "R@100")
#: Human names of the measures in reports (ir_measures' RR@10 is the MRR@10 of the literature).
LABELS = {"nDCG@10": "nDCG@10", "RR@10": "MRR@10", "R@100": "Recall@100"}


def load_queries(path) -> dict[str, str]:
    """``qid<TAB>text`` lines -> {qid: text} (blank lines and ``#`` comments skipped)."""
    out = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        qid, sep, text = line.partition("\t")
        if not sep:
            raise WikisearchError(f"{path}:{n}: expected 'qid<TAB>query text'")
        out[qid.strip()] = text.strip()
    return out


def load_qrels(path) -> dict[str, dict[str, int]]:
    """TREC qrels (``qid iter docno rel``, whitespace separated) -> {qid: {docno: rel}}."""
    out: dict[str, dict[str, int]] = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 4:
            raise WikisearchError(f"{path}:{n}: expected 'qid 0 docno relevance'")
        try:
            rel = int(parts[-1])
        except ValueError:
            raise WikisearchError(f"{path}:{n}: relevance {parts[-1]!r} is not an integer") from None
        out.setdefault(parts[0], {})[" ".join(parts[2:-1])] = rel
    return out


def doc_title(key: str) -> str:
    """A judged document name -> page title.

    >>> doc_title("<dbpedia:Bank_of_America>"), doc_title("<dbpedia:Caf%C3%A9_&amp;_Bar>")
    ('Bank of America', 'Café & Bar')
    """
    if key.startswith("<dbpedia:") and key.endswith(">"):
        key = key[len("<dbpedia:"):-1]
    return html.unescape(unquote(key.replace("_", " ")))


def restrict_qrels(qrels: dict, reader, key: str = "title") -> dict[str, dict[str, int]]:
    """Judgments with document names turned into index keys, only for documents the index holds.
    ``reader``: the index's reader, or a list of readers (the shards of one collection)."""
    if key not in ("title", "page_id"):
        raise WikisearchError(f"key must be 'title' or 'page_id', not {key!r}")
    readers = list(reader) if isinstance(reader, (list, tuple)) else [reader]
    present: set = set()
    if key == "title":                   # every judged title looked up in one call (a shard)
        names = sorted({doc_title(n) for docs in qrels.values() for n in docs})
        for r in readers:
            found = r.docids_for_titles(names, redirects=False)
            present.update(t for t, d in zip(names, found.tolist()) if d >= 0)
    else:
        for r in readers:
            present.update(np.asarray(r.page_ids).tolist())
    out: dict[str, dict[str, int]] = {}
    for qid, docs in qrels.items():
        kept = {}
        for name, rel in docs.items():
            if key == "title":
                doc = doc_title(name)
                if doc not in present:
                    continue
            else:
                doc = name.strip()
                if not doc.isdigit() or int(doc) not in present:
                    continue
            kept[doc] = max(rel, kept.get(doc, rel))
        if any(rel > 0 for rel in kept.values()):
            out[qid] = kept
    return out


def _ir_measures():
    try:
        import ir_measures
    except ImportError:
        raise MissingExtraError("evaluation needs ir_measures: pip install 'wikisearch[eval]'") from None
    return ir_measures


def coverage(queries: dict[str, str], qrels: dict, used: dict) -> dict:
    """How much of the judgments an evaluation could use: queries given, queries judged, judged
    documents (distinct names, relevant or not) and those of them that the index holds
    (``used``: the judgments after :func:`restrict_qrels`)."""
    judged = {name for docs in qrels.values() for name in docs}
    return {"queries_given": len(queries), "queries_judged": len(set(queries) & set(qrels)),
            "judged_documents": len(judged),
            "judged_documents_in_index": len({d for docs in used.values() for d in docs})}


def _looks_like(names) -> str:
    sample = list(names)[:50]
    if sample and all(n.strip().isdigit() for n in sample):
        return "page ids"
    return "titles"


def check_coverage(result: dict, key: str, qrels: dict) -> None:
    """Raise a :class:`WikisearchError` that says why when an evaluation measured nothing (no
    judged query left, because no judged document is in the index or the query ids differ)."""
    c = result["coverage"]
    if result["n_queries"]:
        return
    if not c["queries_judged"]:
        raise WikisearchError(
            f"none of the {c['queries_given']} queries has judgments: the query ids of the queries "
            "file and of the qrels differ")
    names = [n for docs in qrels.values() for n in docs]
    seen = _looks_like(names)
    hint = ""
    if (key == "page_id") != (seen == "page ids"):
        hint = f"; the judgments name documents by {seen} ({names[0]!r}): try --key " + \
               ("page_id" if seen == "page ids" else "title")
    raise WikisearchError(
        f"none of the {c['judged_documents']:,} judged documents (of {c['queries_judged']} judged "
        f"queries) is a relevant document in this index (matched by {key}){hint}")


def evaluate(searcher, queries: dict[str, str], qrels: dict[str, dict[str, int]], key: str = "title",
             k: int = 100, rank=None, measures=MEASURES, restrict: bool = True, priors=None,
             rerank=None, search=None) -> dict:
    """Search every judged query and score the runs.

    Returns ``{"measures": {ir_measures name: mean}, "metrics": {report label (MRR@10...): mean},
    "per_query": {qid: {name: value}}, "n_queries",
    "n_skipped" (queries without judgments in the index), "coverage" (see :func:`coverage`),
    "mean_latency_ms", "run"}``. ``priors``: as in ``Searcher.search`` (False: text scores alone).
    ``rerank``: True (the shipped model) or a :class:`~wikisearch.search.rerank.TreeModel` re-orders
    each query's top hits (:func:`wikisearch.search.rerank.rerank`); None or False: first stage only.
    ``search``: ``search(text, k) -> hits`` in place of all that (dense and hybrid modes,
    :func:`mode_searcher`).
    """
    if rerank:
        from wikisearch.search.rerank import load_model, rerank as rerank_search
        model = load_model() if rerank is True else rerank
    irm = _ir_measures()
    given = qrels
    if restrict:
        shards = getattr(searcher, "shards", None)          # a ShardedSearcher: every shard's documents
        qrels = restrict_qrels(qrels, [sh.reader for sh in shards] if shards else searcher.reader, key)
    qids = [q for q in queries if q in qrels]
    run: dict[str, dict[str, float]] = {}
    took = 0.0
    for qid in qids:
        t = time.perf_counter()
        try:
            if search is not None:
                hits = search(queries[qid], k)
            elif rerank:
                hits = rerank_search(searcher, queries[qid], k=k, rank=rank, priors=priors, model=model)
            else:
                hits = searcher.search(queries[qid], k=k, rank=rank, priors=priors)
        except InvalidQueryError:
            hits = []
        took += time.perf_counter() - t
        # scores by rank: the evaluator must see our order (trec_eval breaks score ties its own way)
        run[qid] = {(h.title if key == "title" else str(h.page_id)): float(len(hits) - i)
                    for i, h in enumerate(hits)}
    parsed = [irm.parse_measure(m) for m in measures]
    per_query = {qid: {m: 0.0 for m in measures} for qid in qids}
    used_qrels = {q: qrels[q] for q in qids}
    nonempty = {q: r for q, r in run.items() if r}
    if nonempty:
        for m in irm.iter_calc(parsed, used_qrels, nonempty):
            per_query[m.query_id][str(m.measure)] = float(m.value)
    means = {m: (sum(v[m] for v in per_query.values()) / len(qids) if qids else 0.0)
             for m in measures}
    return {"measures": means, "metrics": {LABELS.get(m, m): v for m, v in means.items()},
            "per_query": per_query, "n_queries": len(qids),
            "n_skipped": len([q for q in queries if q not in qrels]),
            "coverage": coverage(queries, given, qrels),
            "mean_latency_ms": took / max(len(qids), 1) * 1000, "key": key, "k": k, "run": run}


def mode_searcher(searcher, mode: str, dense_dir, fusion: str = "rerank", priors=None, model=None):
    """``search(text, k)`` for ``mode`` "dense" or "hybrid" over ``searcher``'s index and the
    dense directory ``dense_dir``, as ``wikisearch query
    --mode`` searches: hybrid ``fusion`` "rerank" (the learned model with dense similarity:
    ``model``, a TreeModel, else the shipped one), "rrf" or "weighted". Needs the dense extra."""
    from wikisearch.dense import require
    require("faiss", "torch", "sentence_transformers")
    from wikisearch.dense.search import HybridSearcher, open_dense
    dense = open_dense(dense_dir, lexical=searcher)
    if mode == "dense":
        return lambda text, k: dense.search(text, k=k, priors=priors)
    if mode != "hybrid":
        raise ValueError(f"mode must be dense or hybrid, not {mode!r}")
    hybrid = HybridSearcher(searcher, dense)
    return lambda text, k: hybrid.search(text, k=k, fusion_method=fusion, priors=priors, rerank=model)


def run_eval(index_path, queries_path, qrels_path, key: str = "title", k: int = 100,
             rank=None, priors=None, rerank=None, mode: str = "lexical", dense_dir=None,
             fusion: str = "rerank") -> dict:
    """Open an index, load queries and qrels, evaluate (what ``wikisearch eval`` runs);
    ``mode`` "dense" or "hybrid" searches as :func:`mode_searcher` does (``dense_dir`` None: the
    default beside the index).

    Raises a :class:`WikisearchError` saying why when nothing could be measured (no judged
    document in the index, e.g. page-id judgments read as titles)."""
    from wikisearch.search.sharded import open as open_searcher
    searcher = open_searcher(index_path)          # one index, or a directory of shards
    searcher.warmup()
    search = None
    if mode != "lexical" and getattr(searcher, "shards", None):
        raise WikisearchError(f"{index_path} holds shards: dense and hybrid modes take one index")
    if mode != "lexical":
        from wikisearch.dense.cli import default_dense_dir
        model = rerank if rerank is not None and not isinstance(rerank, bool) else None
        search = mode_searcher(searcher, mode, dense_dir or default_dense_dir(index_path), fusion, priors, model)
    qrels = load_qrels(qrels_path)
    result = evaluate(searcher, load_queries(queries_path), qrels, key=key, k=k, rank=rank,
                      priors=priors, rerank=rerank, search=search)
    check_coverage(result, key, qrels)
    result["index"] = str(index_path)
    result["mode"] = f"hybrid ({fusion})" if mode == "hybrid" else mode
    return result


def format_report(result: dict) -> str:
    """A short markdown table of the mean measures."""
    lines = ["| measure | value |", "|---|---|"]
    for name, value in result["measures"].items():
        lines.append(f"| {LABELS.get(name, name)} | {value:.4f} |")
    lines.append(f"\n{result['n_queries']} queries evaluated ({result['n_skipped']} without "
                 f"judged documents in the index); mean latency {result['mean_latency_ms']:.2f} ms")
    if "coverage" in result:
        lines.append(describe_coverage(result))
    return "\n".join(lines)


def describe_coverage(result: dict) -> str:
    """One line: how many queries and judged documents matched the index."""
    c = result["coverage"]
    return (f"{result['n_queries']} of {c['queries_given']} queries evaluated "
            f"({c['queries_judged']} judged); {c['judged_documents_in_index']:,} of "
            f"{c['judged_documents']:,} judged documents are in the index "
            f"(matched by {result.get('key', 'title')})")
