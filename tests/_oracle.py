"""A plain-Python exhaustive searcher: the oracle the kernels and MaxScore pruning are checked against.

It shares nothing with search.py but the parsed query and rank.py's scalar formulas, which it
applies in the same order (fields ascending, terms in query order), so scores agree to the bit.
"""
from __future__ import annotations

from wikisearch.config import FIELDS, N_FIELDS
from wikisearch.search.rank import combine, field_tf, idf, length_norm


def _sel(fields):
    return set(range(N_FIELDS)) if fields is None else {FIELDS.index(f) for f in fields}


def term_docs(reader, term, fields):
    """{docid: {field id: tf}} for the documents having ``term`` in ``fields``."""
    o = reader.term_ordinal(term)
    if o < 0:
        return {}
    docids, masks, tfs = reader.postings(o)
    sel = _sel(fields)
    out, j = {}, 0
    for d, m in zip(docids.tolist(), masks.tolist()):
        per = {}
        for f in range(N_FIELDS):
            if m >> f & 1:
                if f in sel:
                    per[f] = int(tfs[j])
                j += 1
        if per:
            out[d] = per
    return out


def oracle_search(reader, q, rank, k, phrase_ok=None):
    """Top-k [(docid, score)] of parsed query ``q`` by brute force (phrases via ``phrase_ok``).

    Filters (``intitle:`` ...) must match like words of every clause and add nothing to scores."""
    n = reader.n_docs
    unscored = q.filter_only_terms()
    avg = [float(a) for a in reader.avg_field_lengths]
    lengths = reader.field_lengths
    scores: dict[int, float] = {}
    contribs = []
    for term, fields in q.scoring_terms():
        if (term, fields) in unscored:
            continue
        o = reader.term_ordinal(term)
        if o < 0:
            continue
        w = idf(n, reader.doc_freq(o), rank.model)
        per_doc = {}
        for d, tfs in term_docs(reader, term, fields).items():
            acc = 0.0
            for f in sorted(tfs):
                norm = length_norm(rank.b[f], float(lengths[d, f]), avg[f])
                acc += field_tf(float(tfs[f]), rank.weights[f], norm, rank.model)
            per_doc[d] = combine(acc, w, rank.k1, rank.model)
        contribs.append(per_doc)
    for per_doc in contribs:                       # terms in query order, like the kernels
        for d, c in per_doc.items():
            scores[d] = scores.get(d, 0.0) + c

    def lit_docs(lit):
        sets = [set(term_docs(reader, t, lit.fields)) for t in lit.terms]
        docs = set.intersection(*sets) if sets else set()
        if lit.phrase and phrase_ok is not None:
            docs = {d for d in docs if phrase_ok(lit, d)}
        return docs

    matched = set()
    clauses = q.clauses + ((),) * (not q.clauses)      # filters alone: one clause of them
    for clause in clauses:
        clause = tuple(clause) + tuple(q.filters)
        if not clause:
            continue
        matched |= set.intersection(*[lit_docs(l) for l in clause])
    for lit in q.excluded:
        matched -= lit_docs(lit)
    ranked = sorted(matched, key=lambda d: (-scores.get(d, 0.0), d))
    return [(d, scores.get(d, 0.0)) for d in ranked[:k]], len(matched)


def run_with_and_without_jit(code: str, timeout: int = 300) -> list:
    """Run ``code`` (a script printing JSON) in fresh processes with NUMBA_DISABLE_JIT=1, then
    with numba: ``[plain-Python output, numba output]``, for tests that compare the two."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).parent.parent
    runs = []
    for jit in ("1", "0"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=jit, PYTHONPATH=str(root))
        p = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                           text=True, timeout=timeout)
        assert p.returncode == 0, p.stderr[-2000:]
        runs.append(json.loads(p.stdout))
    return runs
