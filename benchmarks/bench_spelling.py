"""Did you mean (#15): word-level spelling correction on a public misspelling list, side by side
with symspellpy given the same vocabulary, and query-level correction on DBpedia-Entity v2
queries with seeded typos, on the 30k-article corpus.

Word level. The list is codespell's ``dictionary.txt`` (PyPI package ``codespell``; derived from
Wikipedia's "Lists of common misspellings"): entries ``misspelling->correction`` with one
correction, both single words, whose correction is in the index's spelling vocabulary (the words
of ``spelling.bin``: the index's titles, redirects and stored text). Entries are split in two by
position: the even ones ("tune") may be used to choose settings, the odd ones ("test") are the
reported figures. Top-1: the corrector's best word equals the correction (a word with no
candidate counts as itself). Speed: words per second, one thread, after warm-up.
symspellpy gets exactly the same words and counts (``create_dictionary_entry``), max edit distance
2, prefix length 7, ``Verbosity.TOP``.

Query level. Every DBpedia-Entity v2 query with a relevant article in the corpus; 1 or 2 of its
words (4+ letters, not stopwords; a seeded ``random.Random(15)``) get one typo each (a letter
dropped, added, replaced or swapped with its neighbour; never the first letter). nDCG@10 (graded
0/1/2, ir-measures) of: the clean queries (``correct=False``), the typo queries as typed
(``correct=False``), and after correction (the results ``search`` returns, which are the corrected
query's when the query as typed found nothing; when it offers a suggestion, the suggestion's
results, as if it was followed). False corrections: clean queries given a suggestion or rewritten.

    python benchmarks/bench_spelling.py
    python benchmarks/bench_spelling.py --index DIR --corpus DIR --limit-words 5000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import corpus as C  # noqa: E402
from bench_snippets import OUT, TMP, ensure_index  # noqa: E402


def codespell_pairs(vocab) -> list[tuple[str, str]]:
    import codespell_lib
    from wikisearch.analysis.analyzer import normalize
    path = Path(os.path.dirname(codespell_lib.__file__)) / "data" / "dictionary.txt"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if "->" not in line:
            continue
        wrong, right = line.split("->", 1)
        right = right.strip().rstrip(",")
        if "," in right:
            continue                               # several corrections: no single truth
        w, r = normalize(wrong.strip()), normalize(right.strip())
        if not (w.isalpha() and r.isalpha()) or w == r:
            continue
        if r in vocab:
            out.append((w, r))
    return out


def word_level(d, pairs, repeats_speed: int = 1) -> dict:
    from wikisearch.popularity import spelling as S
    res = {}
    for half, sel in (("tune", pairs[0::2]), ("test", pairs[1::2])):
        ok = sum(d.correct(w) == r for w, r in sel)
        res[half] = {"pairs": len(sel), "top1": ok / len(sel)}
    words = [w for w, _ in pairs]
    for w in words[:200]:
        d.correct(w)
    t, c = time.perf_counter(), time.process_time()
    for w in words:
        d.correct(w)
    res["words_per_s"] = len(words) / (time.perf_counter() - t)
    res["words_per_cpu_s"] = len(words) / (time.process_time() - c)
    d.correct_many(words[:200])
    t, c = time.perf_counter(), time.process_time()
    batch = d.correct_many(words)
    res["batch_words_per_s"] = len(words) / (time.perf_counter() - t)
    res["batch_words_per_cpu_s"] = len(words) / (time.process_time() - c)
    assert batch == [d.correct(w) for w in words], "correct_many differs from correct"
    res["settings"] = {"alpha": S.ALPHA, "first_letter": S.FIRST_LETTER, "prefix": S.PREFIX,
                       "max_dist": S.MAX_DIST}
    return res


def symspell_level(d, pairs) -> dict:
    from symspellpy import SymSpell, Verbosity
    t = time.perf_counter()
    sp = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for w, n in zip(d.words, d.counts.tolist()):
        sp.create_dictionary_entry(w, n)
    load = time.perf_counter() - t

    def best(w):
        got = sp.lookup(w, Verbosity.TOP, max_edit_distance=2)
        return got[0].term if got else w
    res = {"load_s": load}
    for half, sel in (("tune", pairs[0::2]), ("test", pairs[1::2])):
        res[half] = {"pairs": len(sel), "top1": sum(best(w) == r for w, r in sel) / len(sel)}
    words = [w for w, _ in pairs]
    for w in words[:200]:
        best(w)
    t, c = time.perf_counter(), time.process_time()
    for w in words:
        best(w)
    res["words_per_s"] = len(words) / (time.perf_counter() - t)
    res["words_per_cpu_s"] = len(words) / (time.process_time() - c)
    return res


def typo(word: str, rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(20):
        kind = rng.choice(("drop", "add", "replace", "swap"))
        i = rng.randrange(1, len(word))
        if kind == "drop":
            out = word[:i] + word[i + 1:]
        elif kind == "add":
            out = word[:i] + rng.choice(letters) + word[i:]
        elif kind == "replace":
            out = word[:i] + rng.choice(letters) + word[i + 1:]
        else:
            if i + 1 >= len(word):
                continue
            out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if out.lower() != word.lower():
            return out
    return word


def seeded_typos(queries: dict, seed: int = 15) -> dict:
    import re
    from wikisearch.search.query import QUERY_STOPWORDS
    stop = QUERY_STOPWORDS["english"]
    rng = random.Random(seed)
    out = {}
    for qid, text in queries.items():
        spans = [m for m in re.finditer(r"[A-Za-z]{4,}", text) if m.group().lower() not in stop]
        if not spans:
            out[qid] = text
            continue
        n = min(len(spans), rng.choice((1, 2)))
        chosen = sorted(rng.sample(spans, n), key=lambda m: m.start())
        parts, pos = [], 0
        for m in chosen:
            parts += [text[pos:m.start()], typo(m.group(), rng)]
            pos = m.end()
        out[qid] = "".join(parts) + text[pos:]
    return out


def query_level(s, queries: dict, qrels: dict) -> dict:
    import ir_measures
    from ir_measures import nDCG
    from wikisearch.errors import InvalidQueryError
    typos = seeded_typos(queries)

    def run(texts, mode):
        out, changed, examples = {}, 0, []
        for qid, text in texts.items():
            try:
                if mode == "plain":
                    r = s.search(text, k=10, correct=False)
                else:
                    r = s.search(text, k=10, correct=True)      # opt-in in the API
                    fix = r.rewritten_query or r.suggestion
                    if fix:
                        changed += 1
                        if len(examples) < 400:
                            examples.append([qid, text, fix])
                    if r.suggestion:
                        r = s.search(r.suggestion, k=10, correct=False)
            except InvalidQueryError:
                out[qid] = {}
                continue
            out[qid] = {str(h.page_id): float(10 - i) for i, h in enumerate(r)}
        return out, changed, examples

    def ndcg(runs, ids):
        q = {k: {d: int(g) for d, g in qrels[k].items()} for k in ids}
        r = {k: runs[k] for k in ids}
        return ir_measures.calc_aggregate([nDCG @ 10], q, r)[nDCG @ 10]
    t = time.perf_counter()
    clean, _, _ = run(queries, "plain")
    clean_c, false_fix, false_ex = run(queries, "correct")
    typo_plain, _, _ = run(typos, "plain")
    typo_c, fixed, fix_ex = run(typos, "correct")
    ids_all = list(queries)
    res = {"queries": len(queries), "seconds": time.perf_counter() - t}
    for half, ids in (("tune", ids_all[0::2]), ("test", ids_all[1::2]), ("all", ids_all)):
        base = ndcg(clean, ids)
        res[half] = {"ndcg_clean": base, "ndcg_clean_with_correction": ndcg(clean_c, ids),
                     "ndcg_typos": ndcg(typo_plain, ids), "ndcg_typos_corrected": ndcg(typo_c, ids),
                     "ratio_corrected_to_clean": ndcg(typo_c, ids) / base,
                     "false_corrections": sum(1 for e in false_ex if e[0] in set(ids)) / len(ids)}
    res["typo_queries_changed"] = fixed / len(queries)
    exact = {qid for qid, text, fix in fix_ex if fix.lower() == queries[qid].lower()}
    res["typo_queries_restored_exactly"] = len(exact) / len(queries)
    res["false_correction_examples"] = false_ex[:40]
    res["typo_examples"] = [[typos[q], queries[q], fix] for q, _t, fix in fix_ex[:40]]
    res["typo_queries_not_changed"] = [[typos[q], queries[q]] for q in queries
                                       if typos[q] != queries[q] and q not in {e[0] for e in fix_ex}][:40]
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=str(TMP / "idx30k"))
    ap.add_argument("--corpus", default=str(TMP / "30k-x1" / "corpus"))
    ap.add_argument("--limit-words", type=int, default=None)
    ap.add_argument("--no-symspellpy", action="store_true")
    ap.add_argument("--no-queries", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    from wikisearch.search.searcher import Searcher

    index_dir = Path(args.index)
    ensure_index(index_dir, Path(args.corpus))
    s = Searcher(str(index_dir))
    t = time.perf_counter()
    d = s.spelling()
    load_s = time.perf_counter() - t
    pairs = codespell_pairs(set(d.words))
    if args.limit_words:
        pairs = pairs[:args.limit_words]
    res = {"machine": {"python": platform.python_version(), "platform": platform.platform()},
           "index": str(index_dir), "n_docs": int(s.reader.n_docs), "vocabulary": len(d),
           "dictionary_load_s": load_s, "codespell_pairs": len(pairs)}
    res["wikisearch"] = word_level(d, pairs)
    print(json.dumps(res["wikisearch"]), flush=True)
    if not args.no_symspellpy:
        res["symspellpy"] = symspell_level(d, pairs)
        print(json.dumps(res["symspellpy"]), flush=True)
    if not args.no_queries:
        info = json.loads((Path(args.corpus) / "corpus.json").read_text())
        queries, qrels = C.load_judgments(info["title_to_ids"])
        res["queries"] = query_level(s, queries, qrels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "spelling.json").write_text(json.dumps(res, indent=1, ensure_ascii=False))
    w = res["wikisearch"]
    md = ["# Did you mean: spelling correction", "",
          f"Index: {res['n_docs']:,} articles; spelling vocabulary {res['vocabulary']:,} words "
          f"(loaded in {load_s:.2f} s). codespell pairs with the correction in the vocabulary: "
          f"{len(pairs):,} (tune half / test half).", "",
          "| corrector | top-1 tune | top-1 test | words/s (wall, one thread) | words per CPU second |",
          "|---|---|---|---|---|",
          f"| wikisearch, one call a word (`correct`) | {w['tune']['top1']:.1%} | {w['test']['top1']:.1%} | "
          f"{w['words_per_s']:,.0f} | {w['words_per_cpu_s']:,.0f} |",
          f"| wikisearch, one call for the list (`correct_many`) | (same) | (same) | "
          f"{w['batch_words_per_s']:,.0f} | {w['batch_words_per_cpu_s']:,.0f} |"]
    if "symspellpy" in res:
        y = res["symspellpy"]
        md.append(f"| symspellpy (same words and counts) | {y['tune']['top1']:.1%} | {y['test']['top1']:.1%} | "
                  f"{y['words_per_s']:,.0f} | {y['words_per_cpu_s']:,.0f} |")
    if "queries" in res:
        q = res["queries"]
        md += ["", f"Query level: {q['queries']} DBpedia-Entity v2 queries, 1-2 seeded typos each "
                   f"(nDCG@10, graded).", "",
               "| half | clean | clean, correction on | typos | typos corrected | corrected / clean | false corrections (clean) |",
               "|---|---|---|---|---|---|---|"]
        for half in ("tune", "test", "all"):
            h = q[half]
            md.append(f"| {half} | {h['ndcg_clean']:.4f} | {h['ndcg_clean_with_correction']:.4f} | "
                      f"{h['ndcg_typos']:.4f} | {h['ndcg_typos_corrected']:.4f} | "
                      f"{h['ratio_corrected_to_clean']:.1%} | {h['false_corrections']:.1%} |")
        md += ["", f"Typo queries changed by correction: {q['typo_queries_changed']:.1%}; "
                   f"restored exactly: {q['typo_queries_restored_exactly']:.1%}."]
    md += ["", "Command: `python benchmarks/bench_spelling.py " + " ".join(argv or sys.argv[1:]) + "`"]
    (out / "spelling.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
