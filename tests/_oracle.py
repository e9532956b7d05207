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


def oracle_rerank_features(reader, terms, docids, rank):
    """The re-ranker's text features by brute force (wikisearch.search.rerank.features):
    {"bm25f", "bm25_<group>", "bm25_<group>_ratio", "cov_<group>", "cov_all", "title_precision",
    "idf_mean", "score_ratio" (no prior: bm25f over the best), "bm25f_ratio", "title_dice",
    "cov_title_gap", "title_dice_gap", "n_title_exact", "title_exact_first"} per document, from term_docs and
    rank.py's scalar formulas, one document and one term at a time."""
    from wikisearch.config import RankConfig
    from wikisearch.search.rerank import FIELD_GROUPS
    n = reader.n_docs
    avg = dict(zip(FIELDS, (float(a) for a in reader.avg_field_lengths)))
    one = RankConfig(k1=1.2, weights=(1.0,) * N_FIELDS, b=rank.b)
    per_term = []
    for t in terms:
        o = reader.term_ordinal(t)
        per_term.append((idf(n, reader.doc_freq(o), rank.model), term_docs(reader, t, None)))
    total = sum(i for i, _ in per_term)
    out = []
    for d in docids:
        lens = {f: int(reader.field_lengths[d, i]) for i, f in enumerate(FIELDS)}
        row = {"bm25f": 0.0, "cov_all": 0.0}
        for i, docs in per_term:
            if d in docs:
                acc = 0.0
                for f in sorted(docs[d]):
                    acc += field_tf(docs[d][f], rank.weights[f], length_norm(rank.b[f], lens[FIELDS[f]],
                                                                             avg[FIELDS[f]]), rank.model)
                row["bm25f"] += combine(acc, i, rank.k1, rank.model)
                row["cov_all"] += i / total
        for g, fields in FIELD_GROUPS:
            ids = {FIELDS.index(f) for f in fields}
            s = cov = 0.0
            in_title = 0
            for i, docs in per_term:
                got = {f: tf for f, tf in docs.get(d, {}).items() if f in ids}
                if got:
                    acc = 0.0
                    for f in sorted(got):
                        acc += field_tf(got[f], 1.0, length_norm(rank.b[f], lens[FIELDS[f]], avg[FIELDS[f]]))
                    s += combine(acc, i, 1.2)
                    cov += i / total
                    in_title += 1
            row[f"bm25_{g}"], row[f"cov_{g}"] = s, cov
            if g == "title":
                row["title_precision"] = min(1.0, in_title / max(lens["title"], 1))
        row["idf_mean"] = total / len(per_term)
        out.append(row)
    for name in ["bm25f"] + [f"bm25_{g}" for g, _ in FIELD_GROUPS]:       # over the best candidate's
        best = max(row[name] for row in out)
        for row in out:
            row["score_ratio" if name == "bm25f" else f"{name}_ratio"] = row[name] / best if best > 0 else 0.0
    for row in out:
        row["bm25f_ratio"] = row["score_ratio"]
        ct, tp = row["cov_title"], row["title_precision"]
        row["title_dice"] = 2 * ct * tp / (ct + tp) if ct + tp > 0 else 0.0
    exact = [row["cov_title"] >= 1 - 1e-12 and row["title_precision"] >= 1 for row in out]
    best_cov = max(row["cov_title"] for row in out)
    best_dice = max(row["title_dice"] for row in out)
    for j, row in enumerate(out):     # against the other candidates, first-stage order
        row["cov_title_gap"] = row["cov_title"] - best_cov
        row["title_dice_gap"] = row["title_dice"] - best_dice
        row["n_title_exact"] = float(sum(exact))
        row["title_exact_first"] = float(exact[j] and not any(exact[:j]))
    return out


def oracle_proximity_features(reader, terms, idf, docids, chars, window):
    """The re-ranker's proximity features (wikisearch.search.rerank.proximity_features) by brute
    force: each document's stored fields, its prose (``article_text``) cut to ``chars``
    characters, analysed by the plain-Python ``analyze_slow`` into its kept terms in order; then
    every window of every length tried. Rows of {"prefix_cov", "prox_window", "prox_density",
    "prox_bigrams", "first_sentence_cov"}."""
    import re
    from wikisearch.search.results import article_text
    a = reader.analyzer
    T, total = len(terms), sum(idf)
    out = []
    for d in docids:
        fields = reader.stored_text(d) or {}
        prose = article_text(fields)[:chars]
        toks = a.analyze_slow(prose)
        have = [t for t in terms if t in toks]
        row = {"prefix_cov": sum(i for t, i in zip(terms, idf) if t in toks) / total,
               "prox_window": max((len(set(toks[p:p + window]) & set(terms)) for p in range(len(toks))),
                                  default=0) / T}
        spans = [z - p for p in range(len(toks)) for z in range(p + 1, len(toks) + 1)
                 if set(have) <= set(toks[p:z])]
        row["prox_density"] = len(have) / min(spans) if have else 0.0
        pairs = sum(any(toks[p] == terms[j] and toks[p + 1] == terms[j + 1] for p in range(len(toks) - 1))
                    for j in range(T - 1))
        row["prox_bigrams"] = pairs / (T - 1) if T > 1 else 0.0
        m = re.search(r"[.!?\u3002\uff01\uff1f]\s", prose)
        first = set(a.analyze_slow(prose[:m.start() + 1] if m else prose))
        row["first_sentence_cov"] = sum(t in first for t in terms) / T
        out.append(row)
    return out


def oracle_tree_predict(spec, X):
    """A re-ranking model's scores (wikisearch.search.rerank.TreeModel) by plain numpy, one tree
    at a time over all rows: every row walks down from the root until it reaches a leaf."""
    import numpy as np
    X = np.asarray(X, np.float64)
    out = np.zeros(len(X), np.float64)
    rows = np.arange(len(X))
    for t in spec["trees"]:
        feat, thr = np.asarray(t["feature"], np.int64), np.asarray(t["threshold"], np.float64)
        left, right = np.asarray(t["left"], np.int64), np.asarray(t["right"], np.int64)
        value = np.asarray(t["value"], np.float64)
        if not len(feat):
            out += value[0]
            continue
        node = np.zeros(len(X), np.int64)
        live = rows
        while len(live):
            nd = node[live]
            node[live] = np.where(X[live, feat[nd]] <= thr[nd], left[nd], right[nd])
            live = live[node[live] >= 0]
        out += value[-node - 1]
    return out


def weighted_osa_slow(q: str, w: str) -> float:
    """Plain-Python weighted optimal string alignment (``popularity._spelling_kernels``'s costs):
    insert/delete/substitute 1, a doubled letter added or dropped 0.5, a vowel for a vowel 0.75,
    two neighbours swapped 0.75; no cap, no early exit."""
    vowels = set("aeiouy")
    n, m = len(q), len(w)
    d = [[0.0] * (m + 1) for _ in range(n + 1)]
    for j in range(1, m + 1):
        d[0][j] = d[0][j - 1] + (0.5 if j > 1 and w[j - 1] == w[j - 2] else 1.0)
    for i in range(1, n + 1):
        dq = 0.5 if i > 1 and q[i - 1] == q[i - 2] else 1.0
        d[i][0] = d[i - 1][0] + dq
        for j in range(1, m + 1):
            a, b = q[i - 1], w[j - 1]
            sub = 0.0 if a == b else (0.75 if a in vowels and b in vowels else 1.0)
            dw = 0.5 if j > 1 and w[j - 1] == w[j - 2] else 1.0
            v = min(d[i - 1][j - 1] + sub, d[i - 1][j] + dq, d[i][j - 1] + dw)
            if i > 1 and j > 1 and a == w[j - 2] and q[i - 2] == b and a != b:
                v = min(v, d[i - 2][j - 2] + 0.75)
            d[i][j] = v
    return d[n][m]


def resolve_redirects_slow(redirects: list[tuple[str, str]], docid_of: dict[str, int]) -> dict[str, int]:
    """Redirect source -> docid of its target, with dicts (what the build ran before the numpy tables,
    ``index.links.resolve_redirects``): chains followed up to 5 hops."""
    next_of = dict(redirects)
    out = {}
    for src, dst in redirects:
        hops = 0
        while dst not in docid_of and dst in next_of and hops < 5:
            dst = next_of[dst]
            hops += 1
        if dst in docid_of and src not in docid_of:
            out[src] = docid_of[dst]
    return out


def oracle_snippet_window(starts, ends, which, n_terms: int, phrase_at: dict, width: int, n_chars: int):
    """The best run of matches fitting in ``width`` characters: (first, last) match indexes --
    ``snippets.window`` (a numba kernel) in plain Python, on lists."""
    from wikisearch.search.snippets import _EARLY, _PHRASE, _REPEAT
    best, best_score = (0, 0), -1.0
    m = len(starts)
    counts = [0] * n_terms
    distinct = 0
    repeats = phr = 0.0
    j = 0                                   # matches [i, j) are in the window
    for i in range(m):
        limit = starts[i] + width
        while j < m and ends[j] <= limit:
            c = counts[which[j]]
            if c == 0:
                distinct += 1
            else:
                repeats += _REPEAT * 1.1 ** -(c - 1)
            counts[which[j]] = c + 1
            j += 1
        if j <= i:                          # one match wider than the window: itself
            j = i + 1
            counts[which[i]] += 1
            distinct += counts[which[i]] == 1
        if phrase_at:
            phr = _PHRASE * sum(1 for a, (b, _) in phrase_at.items() if i <= a and b < j)
        score = distinct + min(repeats, 0.9) + phr - _EARLY * starts[i] / max(n_chars, 1)
        if score > best_score + 1e-12:
            best_score, best = score, (i, j - 1)
        c = counts[which[i]] - 1            # match i leaves the window
        counts[which[i]] = c
        if c == 0:
            distinct -= 1
        else:
            repeats -= _REPEAT * 1.1 ** -(c - 1)
    return best


def osa_slow(a: bytes, b: bytes) -> int:
    """Plain optimal string alignment distance (Levenshtein with adjacent swaps, each once)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def fuzzy_ranges_slow(keys: list[bytes], key: bytes, max_dist: int, anchor: int, lo0: int, hi0: int):
    """What ``popularity._suggest_kernels.fuzzy_ranges`` returns, from its definition rather than
    its walk: (los, his, dists) of the key prefixes P (of ``keys[lo0:hi0]``, sorted, sharing
    ``key[:anchor]``; longer than ``anchor``) within ``max_dist`` OSA edits of ``key`` whose
    shorter prefixes (longer than ``anchor``) each are not, yet are within ``max_dist`` of some
    prefix of ``key`` and shorter than ``len(key) + max_dist`` (the walk reaches P): their key
    ranges, in decreasing byte order of P, with OSA(P, key). ``[lo0, hi0)`` itself when
    ``key[:anchor]`` is within reach already."""
    n = len(key)
    if osa_slow(key[:anchor], key) <= max_dist:
        return [lo0], [hi0], [osa_slow(key[:anchor], key)]
    sub = keys[lo0:hi0]
    prefixes = sorted({k[:m] for k in sub for m in range(anchor + 1, len(k) + 1)}, reverse=True)

    def reached(p: bytes) -> bool:
        for m in range(anchor + 1, len(p)):
            a = p[:m]
            if osa_slow(a, key) <= max_dist or m >= n + max_dist or \
                    min(osa_slow(a, key[:j]) for j in range(n + 1)) > max_dist:
                return False
        return True

    los, his, dists = [], [], []
    for p in prefixes:
        d = osa_slow(p, key)
        if d <= max_dist and reached(p):
            inside = [lo0 + i for i, k in enumerate(sub) if k.startswith(p)]
            los.append(inside[0])
            his.append(inside[-1] + 1)
            dists.append(d)
    return los, his, dists


def best_lines_slow(analyzer, groups: list[list[str]], terms: set) -> list[tuple[str, int]]:
    """The oracle of ``snippets._best_lines`` (given each text's lines): every non-blank line's terms
    found apart, the first line with the most distinct terms."""
    out = []
    for lines in groups:
        best, most = "", 0
        for line in lines:
            if line.strip():
                n = len({t for _, _, t in analyzer.spans(line) if t in terms})
                if n > most:
                    best, most = line.strip(), n
        out.append((best, most))
    return out


def suggest_arrays_slow(reader) -> dict:
    """``popularity.suggest.suggest_arrays`` with Python's sort and lists (its code before the
    strings' kernels sorted and gathered the keys): the oracle the kernels' table is checked
    against, array for array."""
    import numpy as np
    from wikisearch.popularity.suggest import suggest_keys
    n = int(reader.n_docs)
    titles = reader.titles()
    alias_doc, aliases = reader.alias_table()
    keys = [k.encode("utf-8", "surrogatepass") for k in suggest_keys(titles + aliases)]
    entry_doc = np.concatenate([np.arange(n, dtype=np.int32), alias_doc.astype(np.int32)])
    entry_alias = np.concatenate([np.full(n, -1, np.int32), np.arange(len(aliases), dtype=np.int32)])
    order = [i for i in sorted(range(len(keys)), key=keys.__getitem__) if keys[i]]
    offsets = np.zeros(len(order) + 1, np.uint64)
    np.cumsum([len(keys[i]) for i in order], out=offsets[1:])
    blob = np.frombuffer(b"".join(keys[i] for i in order), np.uint8)
    idx = np.asarray(order, np.int64)
    return {"suggest_offsets": offsets, "suggest_blob": blob, "suggest_doc": entry_doc[idx],
            "suggest_alias": entry_alias[idx]}


def fsst_encode(strings: list[bytes], symbols: list[bytes]) -> list[bytes]:
    """FSST coding by the definition (docs/FORMAT.md, docs.bin): at each position the longest
    symbol that matches (the lowest code among equally long ones), else 255 and the byte."""
    out = []
    for s in strings:
        coded, p = bytearray(), 0
        while p < len(s):
            best = -1
            for c, sym in enumerate(symbols):
                if s.startswith(sym, p) and (best < 0 or len(sym) > len(symbols[best])):
                    best = c
            if best < 0:
                coded += bytes([255, s[p]])
                p += 1
            else:
                coded.append(best)
                p += len(symbols[best])
        out.append(bytes(coded))
    return out


def fsst_decode(coded: bytes, symbols: list[bytes]) -> bytes:
    out, i = bytearray(), 0
    while i < len(coded):
        if coded[i] == 255:
            out.append(coded[i + 1])
            i += 2
        else:
            out += symbols[coded[i]]
            i += 1
    return bytes(out)


def word_encode_slow(data: bytes, words: list[bytes]) -> bytes:
    """The store's word transform (``index.wordcode``) by regular expressions, from the format's
    description: code bytes escaped, then each maximal run of ASCII letters, with the one space
    before it, replaced by its code when its lower case is listed and it is lower case,
    capitalised or (2 letters or more) in capitals."""
    import re
    from wikisearch.index.wordcode import CAP, CODE_BYTES, ESC, NOSP, UP, code_of
    rank = {w: r for r, w in enumerate(words)}
    out = re.sub(b"[" + re.escape(CODE_BYTES) + b"]", lambda m: bytes([ESC]) + m.group(), data)

    def word(m):
        sp, w = m.group(1), m.group(2)
        low = w.lower()
        if low not in rank:
            return m.group()
        if w == low:
            flag = b""
        elif w[:1].isupper() and w[1:] == low[1:]:
            flag = bytes([CAP])
        elif w.isupper():
            flag = bytes([UP])
        else:
            return m.group()
        return (b"" if sp else bytes([NOSP])) + flag + code_of(rank[low])
    return re.sub(rb"( ?)([A-Za-z]+)", word, out)


def word_decode_slow(data: bytes, words: list[bytes]) -> bytes:
    """The inverse of :func:`word_encode_slow`, token by token."""
    from wikisearch.index.wordcode import BASE, CAP, ESC, KIND, NOSP, UP
    out, i = bytearray(), 0
    while i < len(data):
        c = data[i]
        if c == ESC:
            out.append(data[i + 1])
            i += 2
            continue
        if not KIND[c]:
            out.append(c)
            i += 1
            continue
        spaced = data[i] != NOSP
        i += 0 if spaced else 1
        flag = data[i] if data[i] in (CAP, UP) else None
        i += 0 if flag is None else 1
        n = int(KIND[data[i]]) - 4                     # code length: 1, 2 or 3
        r = int(BASE[data[i]]) + int.from_bytes(data[i + 1:i + n], "big")
        w = words[r]
        w = w.capitalize() if flag == CAP else w.upper() if flag == UP else w
        out += (b" " if spaced else b"") + w
        i += n
    return bytes(out)


def oracle_feedback(records, top, n_terms, sentinel):
    """benchmarks/feedback.py's ``feedback_features`` read plainly: ``records`` are the candidates'
    term ordinals in the first stage's order. A term that two or more of the first ``top`` hold is
    weighed (head share) * ln((C + 1) / (holders + 0.5)); the ``n_terms`` heaviest (ties: the smaller
    ordinal) are the feedback terms; a candidate's value is their weight it holds over their total."""
    import math
    sets = [set(int(o) for o in r) - {int(sentinel)} for r in records]
    C, top = len(sets), min(int(top), len(sets))
    if C == 0 or top < 2 or n_terms <= 0:
        return [0.0] * C
    weight = {}
    for t in sorted(set().union(*sets[:top])):
        f = sum(t in s for s in sets[:top])
        if f >= 2:
            weight[t] = f / top * math.log((C + 1.0) / (sum(t in s for s in sets) + 0.5))
    chosen = sorted(weight, key=lambda t: (-weight[t], t))[:n_terms]
    mass = 0.0
    for t in chosen:
        mass += weight[t]
    if not chosen or mass <= 0:
        return [0.0] * C
    return [sum(weight[t] for t in chosen if t in s) / mass for s in sets]


def oracle_mentions(record, first, phrase):
    """benchmarks/entity_mention.py's ``mention_features`` for one record read plainly: (does
    ``record`` hold ``phrase`` as consecutive tokens, does such a run start before token ``first``)."""
    L = len(phrase)
    starts = [i for i in range(len(record) - L + 1) if L and list(record[i:i + L]) == list(phrase)]
    return (1.0 if starts else 0.0, 1.0 if any(i < first for i in starts) else 0.0)
