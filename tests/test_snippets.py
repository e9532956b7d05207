"""Results people can read (#15): snippets with highlights, "matched via", did-you-mean and fuzzy
title suggestions, on hand-made documents whose expected answers are written by hand."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _memindex import MemoryIndex
from wikisearch.analysis.analyzer import Analyzer
from wikisearch.popularity import _spelling_kernels as SPK
from wikisearch.popularity import _suggest_kernels as FK
from wikisearch.popularity.spelling import SpellingDictionary, _codepoints, _csr, deletes_numpy
from wikisearch.popularity.suggest import Suggester, suggest_key
from wikisearch.search.results import MatchedVia, Snippet
from wikisearch.search.searcher import Searcher
from wikisearch.search.snippets import (SnippetTerms, _best_lines, _fields_of, _phrase_runs, heading_anchor, make_snippet,
                                        make_snippets, window)
from _oracle import best_lines_slow, oracle_snippet_window
from conftest import SHARED_DATA

EN = Analyzer("english")


def marked(sn: Snippet) -> list[str]:
    return [sn.text[a:b] for a, b in sn.highlights]


def terms_of(query_words: str, phrases=()) -> SnippetTerms:
    return SnippetTerms.of(EN, EN.terms(query_words), [tuple(EN.terms(p)) for p in phrases])


# --- Snippet and MatchedVia as data --------------------------------------------------------------
def test_snippet_renders_escaped_html_bold_terminal_and_json():
    sn = Snippet("a <b> & c", [(2, 5), (8, 9)])
    assert sn.html() == 'a <span class="searchmatch">&lt;b&gt;</span> &amp; <span class="searchmatch">c</span>'
    assert sn.terminal() == "a \x1b[1m<b>\x1b[0m & \x1b[1mc\x1b[0m"
    assert json.loads(json.dumps(sn.to_json())) == {"text": "a <b> & c", "highlights": [[2, 5], [8, 9]]}
    assert Snippet("x\x1b[2Jy", []).terminal() == "x [2Jy"          # no escape from stored text


def test_matched_via_json_and_kinds():
    assert MatchedVia("heading", "Early life", "Early_life").to_json() == \
        {"kind": "heading", "text": "Early life", "anchor": "Early_life"}
    with pytest.raises(ValueError):
        MatchedVia("body", "x")
    assert heading_anchor("  Life and  career ") == "Life_and_career"


_LINE_WORDS = ["History", "history", "Early life", "early", "Lives", "living", "Café", "cafe", "Berlin",
               "Wall", "walls", "of", "the", "Straße", "東京", "", " ", "  ", "Kraków", "ünïcode", "run", "running"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.lists(st.sampled_from(_LINE_WORDS), max_size=5), max_size=8), min_size=1, max_size=4),
       st.sets(st.sampled_from(["histori", "earli", "life", "live", "cafe", "berlin", "wall", "strasse", "run",
                                "kraków", "東京"]), max_size=4))
def test_best_lines_equals_the_line_by_line_oracle(groups, terms):
    """The best line of each text (found around each match) is the first of its non-blank lines
    showing the most distinct terms, each line analyzed on its own; blank lines, repeats,
    stemmed and accented forms, no match."""
    an = Analyzer()
    lines = [[" ".join(words) for words in group] for group in groups]
    assert _best_lines(an, ["\n".join(g) for g in lines], terms) == best_lines_slow(an, lines, terms)


def test_fields_of_decodes_the_wanted_fields_as_the_whole_document():
    """A stored document's wanted fields, decoded alone, are the whole document's (the separator
    is ASCII); missing trailing fields are missing; a damaged field raises CorruptIndexError."""
    from wikisearch.config import FIELDS
    from wikisearch.errors import CorruptIndexError
    from wikisearch.index.store import SEP_FIELD, decode_doc

    class Reader:
        def stored_text(self, docid):
            raise CorruptIndexError("store.bin", f"stored document {docid} is damaged")
    texts = ["T", "", "Ünïcode opening", "H1\nH2", "body € text", "", "Cat A\nCat B", "", "ref"]
    for n in range(len(FIELDS) + 1):
        raw = SEP_FIELD.join(texts[:n]).encode("utf-8")
        whole = dict(zip(FIELDS, decode_doc(raw)))
        for wanted in ({"heading", "category"}, {"heading"}, {"category"}, set(FIELDS)):
            assert _fields_of(Reader(), 0, raw, wanted) == {f: t for f, t in whole.items() if f in wanted}
    raw = SEP_FIELD.join(texts).encode("utf-8")             # a document's first bytes only
    for end in range(len(raw)):
        for wanted in ({"heading", "category"}, {"heading"}, {"category"}):
            complete = raw[:end].count(SEP_FIELD.encode()) > max(FIELDS.index(f) for f in wanted)
            got = _fields_of(Reader(), 0, raw[:end], wanted, prefix=True)
            assert got == ({f: t for f, t in zip(FIELDS, texts) if f in wanted} if complete else None)
    bad = SEP_FIELD.join(["T", "", "x", "\xff\xfe"]).encode("utf-8").replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe")
    with pytest.raises(CorruptIndexError):
        _fields_of(Reader(), 7, bad, {"heading"})


# --- snippet windows -------------------------------------------------------------------------------
FILLER = "Nothing to see in this sentence at all. " * 12


def test_window_shows_most_distinct_terms_not_repeats():
    body = ("Berlin Berlin Berlin Berlin is a word repeated here. " + FILLER +
            "Berlin is the capital of Germany and its largest city. " + FILLER)
    sn = make_snippet(EN, {"opening": "", "body": body}, terms_of("berlin germany"), 150)
    assert marked(sn)[:2] == ["Berlin", "Germany"]
    assert sn.text.startswith("Berlin is the capital")               # a sentence start


def test_early_text_preferred_among_equal_windows():
    body = "Lead. The tower is tall. " + FILLER + "Another tower stands here. " + FILLER
    sn = make_snippet(EN, {"opening": "", "body": body}, terms_of("tower"), 80)
    assert sn.text.startswith("Lead. The tower") or sn.text.startswith("The tower")
    assert marked(sn) == ["tower"]


def test_phrase_is_highlighted_as_one_span():
    body = FILLER + "The Bank of America tower is in New York. A bank near America. " + FILLER
    sn = make_snippet(EN, {"body": body}, terms_of("", phrases=["bank of america"]), 150)
    assert marked(sn)[0] == "Bank of America"
    assert "bank" in marked(sn) and "America" in marked(sn)             # loose words: words


def test_stemmed_forms_are_highlighted():
    body = FILLER + "She runs every day; running is her hobby, and she ran twice. " + FILLER
    sn = make_snippet(EN, {"body": body}, terms_of("running"), 150)
    assert marked(sn) == ["runs", "running"]                            # "ran": another stem


def test_no_body_match_falls_back_to_the_opening():
    fields = {"opening": "Zebras are African equines with black-and-white stripes.", "body": FILLER}
    sn = make_snippet(EN, fields, terms_of("horse"), 40)
    assert sn.highlights == [] and sn.text == "Zebras are African equines with"
    assert len(sn.text) <= 40


def test_a_match_beyond_the_scanned_prose_falls_back_to_the_opening():
    """Only the first SCAN_CHARS characters of the prose are searched for the window (what the
    store keeps at the front of its blocks): a match after them is not shown, the opening is."""
    from wikisearch.search.snippets import SCAN_CHARS
    opening = "Zebras are African equines with black-and-white stripes."
    body = FILLER * (SCAN_CHARS // len(FILLER) + 1) + "A horse is not a zebra."
    sn = make_snippet(EN, {"opening": opening, "body": body}, terms_of("horse"), 40)
    assert sn.highlights == [] and sn.text == "Zebras are African equines with"
    sn = make_snippet(EN, {"opening": opening, "body": body}, terms_of("horse"), 40,
                      scan_chars=len(opening) + 2 + len(body))
    assert marked(sn) == ["horse"]
    near = FILLER * ((SCAN_CHARS - 200) // len(FILLER)) + "A horse is not a zebra."
    assert marked(make_snippet(EN, {"opening": opening, "body": near}, terms_of("horse"), 40)) == ["horse"]


def test_unicode_offsets_are_characters_of_the_text():
    body = ("Die Straße führt nach Köln. " * 3 + "Ελληνική γλώσσα και Ελλάδα. 東京は日本の首都です。"
            + " Ünïcödé 👩‍👩‍👧 café Café CAFÉ.")
    sn = make_snippet(EN, {"body": body}, SnippetTerms.of(EN, ["cafe", "koln", "東"], []), 150)
    assert {m.casefold() for m in marked(sn)} <= {"café", "köln", "東"}
    assert "café" in marked(sn) and "東" in marked(sn)
    for a, b in sn.highlights:
        assert 0 <= a < b <= len(sn.text)
    assert sn.highlights == sorted(sn.highlights)
    # never a combining mark cut from its letter at the edges
    decomposed = "e\u0301" * 200 + " cafe"
    sn = make_snippet(EN, {"body": decomposed}, SnippetTerms.of(EN, ["cafe"], []), 30)
    assert not sn.text.startswith("\u0301")


def test_long_article_is_cut_before_it_is_copied():
    """make_snippet cuts opening and body to the scanned characters before joining them: the
    snippet equals the one made from the whole article text cut afterwards."""
    from wikisearch.search import snippets as SN
    an = EN
    opening = "Berlin is the capital of Germany. " * 30
    body = ("The wall stood for decades.\nA river runs through the city. " * 400
            + "Late mention of the Reichstag and the wall and Berlin together.")
    for fields in ({"opening": opening, "body": body}, {"opening": "", "body": body},
                   {"opening": opening}, {"opening": opening[:50], "body": body}):
        for words in ("reichstag", "wall berlin", "rivers", "absent"):
            terms = terms_of(words)
            for scan in (None, 700, 5000):
                got = make_snippet(an, fields, terms, 150, scan_chars=scan)
                whole = SN.article_text(fields)                    # the whole text, then the cut
                n = max(SN.SCAN_CHARS if scan is None else scan, 4 * 150)
                want = make_snippet(an, {"opening": whole[:n]}, terms, 150, scan_chars=scan)
                assert got == want, (words, scan)


@pytest.mark.parametrize("chars", [20, 60, 150, 300])
def test_length_is_about_the_asked_characters(chars):
    body = " ".join(f"word{i} tower" if i % 7 == 0 else f"word{i}" for i in range(400))
    sn = make_snippet(EN, {"body": body}, terms_of("tower"), chars)
    assert chars // 2 <= len(sn.text) <= chars
    assert all(sn.text[a:b] == "tower" for a, b in sn.highlights) and sn.highlights


# --- through the searcher: snippets opt-in, matched via ------------------------------------------
DOCS = [
    {"title": "Lata Mangeshkar", "redirect": "Nightingale of India\nLata",
     "opening": "Lata Mangeshkar was an Indian playback singer.",
     "heading": "Early life\nCareer", "body": "She was born in Indore. Her career spanned decades.",
     "category": "Indian women playback singers\n1929 births"},
    {"title": "Indore", "opening": "Indore is the largest city of Madhya Pradesh.",
     "heading": "History\nGeography and climate", "body": "The city lies on the Malwa plateau.",
     "category": "Cities in Madhya Pradesh"},
    {"title": "Plateau", "opening": "A plateau is a flat elevated landform.", "body": "Tablelands.",
     "category": "Landforms"},
    {"title": "Quantum mechanics", "opening": "Quantum mechanics is a theory of physics.",
     "body": "Quantum mechanics describes nature at small scales. Quantum theory is famous. "
             "Quantum physics and quantum mechanics are taught.", "heading": "History",
     "category": "Quantum physics"},
    {"title": "Christmas", "opening": "Christmas is a holiday. Christmas trees are common.",
     "body": "Christmas is celebrated on 25 December. Christmas Christmas.",
     "category": "Christmas"},
]


@pytest.fixture(scope="module")
def mem():
    return Searcher(MemoryIndex(DOCS, analyzer=EN))


def test_snippets_are_opt_in_and_in_json(mem):
    plain = mem.search("indore")
    assert all(h.snippet is None for h in plain)
    got = mem.search("indore", snippets=True)
    assert [h.title for h in got] == [h.title for h in plain]
    assert all(h.snippet is not None for h in got)
    body = got.to_json()
    assert set(body["hits"][0]) >= {"snippet", "matched_via"}
    assert body["suggestion"] is None and body["rewritten_query"] is None
    assert plain.to_json()["hits"][0]["snippet"] is None


def via(mem, query, title):
    hit = next(h for h in mem.search(query, k=10, correct=False) if h.title == title)
    return hit.matched_via


def test_matched_via_order_title_redirect_heading_category(mem):
    assert via(mem, "indore", "Indore") == MatchedVia("title", "Indore")
    assert via(mem, "nightingale", "Lata Mangeshkar") == MatchedVia("redirect", "Nightingale of India")
    assert via(mem, "early life", "Lata Mangeshkar") == MatchedVia("heading", "Early life", "Early_life")
    assert via(mem, "climate", "Indore") == MatchedVia("heading", "Geography and climate",
                                                      "Geography_and_climate")
    assert via(mem, "births", "Lata Mangeshkar") == MatchedVia("category", "1929 births")
    assert via(mem, "malwa", "Indore") is None                           # the body only
    # a search with snippets reads its hits' prefixes (no category: the whole document is read)
    for query, title in (("nightingale", "Lata Mangeshkar"), ("early life", "Lata Mangeshkar"),
                         ("climate", "Indore"), ("births", "Lata Mangeshkar"), ("malwa", "Indore")):
        hit = next(h for h in mem.search(query, k=10, correct=False, snippets=True) if h.title == title)
        assert hit.matched_via == via(mem, query, title)
    # title beats the rest: "plateau" is Plateau's title and Indore's body
    assert via(mem, "plateau", "Plateau").kind == "title"


# --- did you mean ----------------------------------------------------------------------------------
def test_dictionary_lookup_equals_brute_force():
    rng = np.random.default_rng(7)
    letters = list("abcdeilmnorstu")
    words = sorted({"".join(rng.choice(letters, rng.integers(2, 11))) for _ in range(3000)})
    d = SpellingDictionary(words, rng.integers(1, 1000, len(words)))
    for _ in range(300):
        q = "".join(rng.choice(letters, rng.integers(2, 11)))
        md = 1.0 if len(q) <= 4 else 2.0
        got = {w for w, _c, _n in d.candidates(q, 10_000)}
        qc = _codepoints(q)
        brute = set()
        for w in words:
            wc = _codepoints(w)
            # the weighted distance is at most the plain one: tested first, it is the cheap filter
            if SPK.weighted_osa(qc, wc, 0, len(wc), md) <= md and _osa(q, w) <= md:
                brute.add(w)
        assert brute <= got, (q, brute - got)
        for w in got:
            wc = _codepoints(w)
            assert SPK.weighted_osa(qc, wc, 0, len(wc), md) <= md


def test_weighted_osa_equals_plain_python_under_every_cap():
    """The kernel's early exit (a row past the cap, and the one before it: a swap reaches back
    two rows) never cuts a path that ends within the cap."""
    from _oracle import weighted_osa_slow
    rng = np.random.default_rng(15)
    letters = list("aabeeilmnoorsttu")
    pairs = [("abbreivates", "abbreviates"), ("recieve", "receive"), ("teh", "the")]
    for _ in range(1500):
        w = "".join(rng.choice(letters, rng.integers(1, 9)))
        q = list(w)
        for _e in range(rng.integers(0, 4)):            # a few edits, swaps and doublings among them
            i = int(rng.integers(0, len(q)))
            kind = rng.integers(0, 4)
            if kind == 0 and i + 1 < len(q):
                q[i], q[i + 1] = q[i + 1], q[i]
            elif kind == 1:
                q.insert(i, q[i])
            elif kind == 2 and len(q) > 1:
                del q[i]
            else:
                q[i] = str(rng.choice(letters))
        pairs.append(("".join(q), w))
    for q, w in pairs:
        want = weighted_osa_slow(q, w)
        qc, wc = _codepoints(q), _codepoints(w)
        for cap in (0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 0.98, 3.0):
            got = SPK.weighted_osa(qc, wc, 0, len(wc), cap)
            if want <= cap:
                assert got == want, (q, w, cap, got, want)
            else:
                assert got > cap, (q, w, cap, got, want)


def test_dictionary_costs_order_and_file_round_trip():
    """Candidates' costs are the plain weighted distance (+ the first-letter cost), whatever order
    the words were given in, and ``spelling.bin`` read back answers the same."""
    from _oracle import weighted_osa_slow
    from wikisearch.popularity import spelling as S
    rng = np.random.default_rng(3)
    letters = list("abdeilmnorstu")
    words = sorted({"".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(2000)})
    counts = rng.integers(2, 500, len(words))
    d = SpellingDictionary(words, counts)
    perm = rng.permutation(len(words))
    d2 = SpellingDictionary([words[i] for i in perm], counts[perm])
    assert d.words == d2.words and d.counts.tolist() == d2.counts.tolist()
    assert d.counts.tolist() == sorted(d.counts.tolist(), reverse=True)    # ids by count
    path = Path(tempfile.mkdtemp()) / "spelling.bin"
    S.write_dictionary(path, d, "sum")
    d3 = S.read_dictionary(path, "sum")
    queries = ["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(300)] + words[:20]
    for q in queries:
        got = d.candidates(q, 50)
        assert got == d2.candidates(q, 50) == d3.candidates(q, 50)
        md = S.max_dist_for(q)
        for w, cost, _n in got:
            want = weighted_osa_slow(q, w) + (S.FIRST_LETTER if q[0] != w[0] else 0.0)
            assert cost == want and weighted_osa_slow(q, w) <= md, (q, w, cost, want)
    assert d3.correct_many(queries) == [d.correct(q) for q in queries]


def test_spelling_file_is_compact_and_checked():
    """``spelling.bin`` keeps no code-point table (it is derived from the words when read), stores
    the directory and counts narrow, and a file whose delete table does not fit its words is
    refused with a clear error, never used."""
    from wikisearch.errors import CorruptIndexError
    from wikisearch.index.container import Container, write_container
    from wikisearch.popularity import spelling as S
    words = ["christmas", "chrism", "mount", "everest", "zoë", "日本語"]
    d = SpellingDictionary(words, [50, 2, 40, 30, 7, 9])
    path = Path(tempfile.mkdtemp()) / "spelling.bin"
    S.write_dictionary(path, d, "sum")
    c = Container(path, S.KIND)
    assert "cps" not in c.arrays and "offsets" not in c.arrays
    assert c["dir"].dtype == np.int32 and c["counts"].dtype == np.uint32
    back = S.read_dictionary(path, "sum")
    assert back.cps.tolist() == d.cps.tolist() and back.offsets.tolist() == d.offsets.tolist()
    assert back.correct("chrismas") == "christmas" and back.correct("zoe") == d.correct("zoe")
    arrays = {k: np.array(c[k]) for k in c.arrays}
    meta = dict(c.meta)
    c.close()
    arrays["ids"][0] = len(words) + 3                  # a word id past the word table
    write_container(path, S.KIND, arrays, meta)
    with pytest.raises(CorruptIndexError, match="delete table does not match its words"):
        S.read_dictionary(path, "sum")


def test_stored_problem_tells_missing_stale_and_damaged_apart(tmp_path):
    """``stored_problem`` (what a server asks before it builds ``spelling.bin``) says "missing",
    "stale" (intact, but made for another build of the index or with other settings: a typed
    StaleIndexFileError, not the error's wording) or "damaged", and None for a usable file."""
    from types import SimpleNamespace
    from wikisearch.errors import CorruptIndexError, StaleIndexFileError
    from wikisearch.index.container import Container, write_container
    from wikisearch.popularity import spelling as S
    reader = SimpleNamespace(path=tmp_path, manifest={"checksum": "sum"})
    path = S.spelling_path(tmp_path)
    assert S.stored_problem(reader) == "missing"
    d = SpellingDictionary(["mount", "everest"], [5, 3])
    S.write_dictionary(path, d, "sum")
    assert S.stored_problem(reader) is None
    assert S.stored_problem(SimpleNamespace(path=tmp_path, manifest={"checksum": "other"})) == "stale"
    with pytest.raises(StaleIndexFileError, match="another build"):
        S.read_dictionary(path, "other")
    c = Container(path, S.KIND)
    arrays, meta = {k: np.array(c[k]) for k in c.arrays}, dict(c.meta)
    c.close()
    write_container(path, S.KIND, arrays, {**meta, "max_dist": meta["max_dist"] + 1})
    assert S.stored_problem(reader) == "stale"
    with pytest.raises(StaleIndexFileError, match="other settings"):
        S.read_dictionary(path, "sum")
    path.write_bytes(b"not a container")
    assert S.stored_problem(reader) == "damaged"
    with pytest.raises(CorruptIndexError) as e:
        S.read_dictionary(path, "sum")
    assert not isinstance(e.value, StaleIndexFileError)


def _osa(a: str, b: str) -> int:
    """Plain optimal string alignment distance (the oracle's)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_misspelt_query_gets_a_suggestion_and_correct_ones_none(mem):
    r = mem.search("quantom mechanics", correct=True)
    assert r.suggestion == "quantum mechanics" and r.rewritten_query is None
    assert mem.search("Quantum mechanics", correct=True).suggestion is None
    assert mem.search("indore plateau", correct=True).suggestion is None
    assert mem.search("Quantom Mechanics", correct=True).suggestion == "Quantum Mechanics"   # case kept
    assert mem.search("quantom", correct=False).suggestion is None


def test_query_that_finds_nothing_runs_the_correction(mem):
    r = mem.search("chrismas", correct=True)
    assert r.rewritten_query == "christmas" and r.suggestion is None
    assert r.query == "chrismas" and r[0].title == "Christmas"
    assert mem.search("chrismas", correct=False).rewritten_query is None
    assert len(mem.search("chrismas", correct=False)) == 0
    assert len(mem.search("xqzjwv", correct=True)) == 0                               # nothing near: nothing


def test_operators_prefixes_and_exclusions_are_kept(mem):
    assert mem.search("t:quantom OR mechanics -indore", correct=True).suggestion == "t:quantum OR mechanics -indore"
    r = mem.search("t:quantom AND mechanics -indore", correct=True)                   # nothing as typed
    assert r.rewritten_query == "t:quantum AND mechanics -indore" and r[0].title == "Quantum mechanics"


# --- fuzzy suggest ---------------------------------------------------------------------------------
def _prefix_dist(key: str, q: str) -> int:
    """Oracle: the smallest OSA distance between q and a prefix of key."""
    return min(_osa(q, key[:i]) for i in range(len(key) + 1))


def test_fuzzy_ranges_equal_brute_force():
    rng = np.random.default_rng(3)
    letters = list("abcde ")
    keys = sorted({"".join(rng.choice(letters, rng.integers(1, 9))).strip() for _ in range(800)} - {""})
    blobs = [k.encode() for k in keys]
    offsets = np.zeros(len(keys) + 1, np.int64)
    np.cumsum([len(b) for b in blobs], out=offsets[1:])
    blob = np.frombuffer(b"".join(blobs), np.uint8)
    for _ in range(200):
        q = "".join(rng.choice(letters[:-1], rng.integers(1, 7)))
        for md, anchor in ((1, 0), (2, 0), (2, 1), (1, 2)):
            if anchor > len(q):
                continue
            lo = sum(1 for k in keys if k[:anchor] < q[:anchor])
            hi = lo + sum(1 for k in keys if k[:anchor] == q[:anchor])
            los, his, _ = FK.fuzzy_ranges(blob, offsets, np.frombuffer(q.encode(), np.uint8), md, 10**7,
                                          anchor, lo, hi)
            got = set()
            for a, b in zip(los.tolist(), his.tolist()):
                got.update(range(a, b))
            brute = {i for i, k in enumerate(keys)
                     if k[:anchor] == q[:anchor] and _prefix_dist(k, q) <= md}
            assert got == brute, (q, md, anchor)


def test_fuzzy_suggest_exact_first_then_near(mem):
    s = Suggester(mem.reader, None)
    assert [x.title for x in s.suggest("chris", 5)] == ["Christmas"]
    assert [x.title for x in mem.suggest("chrsi", 5, fuzzy=False)] == []
    assert [x.title for x in mem.suggest("chrsi", 5)] == ["Christmas"]            # a swap
    assert "Lata Mangeshkar" in [str(x) for x in mem.suggest("lata mangeshkr", 5)]
    got = [str(x) for x in mem.suggest("lat", 5)]
    assert got[0] in ("Lata Mangeshkar", "Lata \u2192 Lata Mangeshkar")           # exact first
    assert [x.title for x in mem.suggest("qu", 5)] == ["Quantum mechanics"]      # too short: exact
    assert suggest_key("Quantum mechanics") == "quantum mechanics"


# --- the fast term finder against the analyzer's plain-Python oracle ------------------------------
TEXTS = [
    "The runners ran; running dogs run. DYING and dies, die! Café cafés CAFÉ naïve Naive",
    "Die Straße führt nach Köln; Straßen in KÖLN. Über über",
    "Ελληνική γλώσσα και Ελλάδα, ελληνικά. Москва — столица России; москвы",
    "東京は日本の首都です。東京都 e\u0301te\u0301 ETE",
    "",
]


def assert_finds_the_slow_spans(spans, terms, found, positions, why=None) -> None:
    """The oracle check of every fast term finder: ``found`` (starts, ends, which, position) holds
    exactly the matches of ``terms`` among ``spans`` (:meth:`Analyzer.spans_slow` of the text):
    offsets and terms; with ``positions=True`` the positions among the kept tokens, with
    ``positions=None`` every position 0 (``positions=False``: not checked here)."""
    s, e, w, p = found
    want = [(a, b, terms.index(t)) for a, b, t in spans if t in terms]
    assert list(zip(s.tolist(), e.tolist(), w.tolist())) == want, why
    if positions:
        kept = [t for _, _, t in spans]
        assert [kept[i] for i in p.tolist()] == [terms[i] for i in w.tolist()], why
    elif positions is None:
        assert not p.any(), why


@pytest.mark.parametrize("language", ["english", "german", "greek", "russian", "indonesian", ""])
@pytest.mark.parametrize("text", TEXTS)
def test_find_terms_equals_the_slow_spans(language, text):
    an = Analyzer(language)
    spans = an.spans_slow(text)
    vocab = sorted({t for _, _, t in spans})
    for terms in (vocab, vocab[::3], vocab[1:2], ["nothing"]):
        for positions in (True, False):
            assert_finds_the_slow_spans(spans, terms, an.find_terms(text, terms, positions=positions),
                                        positions, (terms, positions))


@pytest.mark.parametrize("language", ["english", "russian", "indonesian", ""])
def test_find_terms_many_equals_the_slow_spans_of_each_text(language):
    """One tokenizer pass over several texts (a search's snippets) finds in each text what the
    slow spans of that text alone find: offsets and positions counted from the text's start."""
    an = Analyzer(language)
    many = " ".join(f"w{i}" for i in range(3000))          # the tables grow
    texts = TEXTS + TEXTS[::-1] + ["", "run " * 3000 + "Köln", many + " Köln run", "Ελλάδα run"]
    spans = [an.spans_slow(t) for t in texts]
    vocab = sorted({t for sp in spans for _, _, t in sp})
    for terms in (vocab, vocab[::3], vocab[1:2], ["nothing"]):
        for positions in (True, False):
            got = an.find_terms_many(texts, terms, positions=positions)
            assert len(got) == len(texts)
            for text, sp, found in zip(texts, spans, got):
                assert_finds_the_slow_spans(sp, terms, found, positions, (text, terms, positions))
                if not positions:
                    assert found[3].tolist() == an.find_terms(text, terms, positions=False)[3].tolist()


@pytest.mark.parametrize("language", ["english", "german", ""])
def test_find_terms_without_positions_equals_the_slow_spans(language):
    """``positions=None`` (a snippet without phrases: only the tokens starting with a query
    term's letter are looked at, the ASCII text between them passed fast) finds what the slow
    spans find: words running from ASCII into accents, combining marks, CJK and back, ASCII
    after non-ASCII separators, digits, tokens over the length limit, lone surrogates."""
    an = Analyzer(language)
    pieces = ["run", "Runs", "xrun", "runé", "érun", "\u6771run", "run\u6771", "e\u0301run", "r\u0301un",
              "\u2014run", "na\u00efve", "Na\u00efve", "x" * 70, "r" * 70, "r" * 64, "\ud800", "\n", ".", "3run",
              "run3", "_run", "Köln", "dog", "DOGS", "d\u00f6g", "\u200drun", "run\u200d", "'run", "RUN",
              "dying", "Dies", "DYING", "die", "dy", "d", "vying", "rat", "ra", "r", "rU", "RAN", "ru\u0301n"]
    rng = np.random.default_rng(5)
    for case in range(120):
        out = []
        for _ in range(int(rng.integers(0, 40))):
            out.append(pieces[int(rng.integers(len(pieces)))])
            out.append(" " if rng.random() < 0.6 else "")
        texts = ["".join(out), "", "run " + "".join(out[::-1])]
        spans = [an.spans_slow(t) for t in texts]
        vocab = sorted({t for sp in spans for _, _, t in sp if ord(t[0]) < 128})
        for terms in (vocab, vocab[::2], vocab[1::3], ["run"], ["nothing"]):
            got, chars = an.find_terms_encoded(*_encode_texts(texts), terms, positions=None)
            assert chars.tolist() == [len(t) for t in texts]
            for text, sp, found in zip(texts, spans, got):
                assert_finds_the_slow_spans(sp, terms, found, None, (text, terms))


def test_english_terms_keep_their_words_first_two_letters():
    """What the term finder's first-two-letters filter rests on (``Analyzer._first_pairs``):
    every English term of two letters or more starts with its word's first two letters, or with
    the others ``_TWO_LETTER_STEMMERS`` gives (dying -> die); checked on every ASCII word of the
    sample dumps and every word of one to three letters with each Porter2 suffix."""
    import itertools
    import re
    import string
    from wikisearch.analysis.analyzer import _TWO_LETTER_STEMMERS
    other = _TWO_LETTER_STEMMERS["english"]
    import bz2
    import lzma
    words = set()
    samples = [SHARED_DATA / "enwiki-xml" / "enwik8-head-4MB.xml.bz2",
               SHARED_DATA / "enwiki-text" / "vital-articles-level4-summaries-en.ovos.json.xz"]
    for path in samples + sorted(Path(__file__).parent.joinpath("data").glob("*.xml")):
        if path.is_file():
            opener = {".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix, open)
            with opener(path, "rb") as f:
                words.update(re.findall(r"[A-Za-z0-9]{2,40}", f.read().decode("utf-8", "replace")))
    suffixes = ["ing", "ingly", "ed", "edly", "ies", "ied", "s", "y", "ly", "li", "ational", "tional", "enci",
                "anci", "abli", "entli", "izer", "ization", "ation", "ator", "alism", "aliti", "alli", "fulness",
                "ousli", "ousness", "iveness", "iviti", "biliti", "bli", "ogi", "fulli", "lessli", "alize",
                "icate", "iciti", "ical", "ful", "ness", "ative", "al", "ance", "ence", "er", "ic", "able", "ible",
                "ant", "ement", "ment", "ent", "ism", "ate", "iti", "ous", "ive", "ize", "ion", "e", "eed", "sses",
                "ying", "yed", "yes", "ier", "iest", ""]
    letters = string.ascii_lowercase
    words.update("".join(p) + x for n in (1, 2) for p in itertools.product(letters, repeat=n) for x in suffixes)
    words.update("".join(p) for p in itertools.product(letters, repeat=3))
    words = sorted(words)
    assert len(words) > 20_000
    for w, t in zip(words, EN._terms_of(words)):
        if t is not None and len(t) >= 2:
            assert t[:2] == w[:2].lower() or w[:2].lower() in other(t), (w, t)
    assert EN._first_pairs(["die", "run"]).reshape(128, 128)[ord("d"), ord("y")]
    assert not EN._first_pairs(["run"]).reshape(128, 128)[ord("r"), ord("a")]
    assert Analyzer("german")._first_pairs(["run"]).all()      # not known to keep them: no filter


def _encode_texts(texts):
    raw = [t.encode("utf-8", "surrogatepass") for t in texts]
    ends = np.cumsum([len(r) for r in raw]).astype(np.int64)
    return np.frombuffer(b"".join(raw), np.uint8), ends


def test_window_kernel_equals_the_plain_python_window():
    """The numba window (sums in the same order) picks the oracle's window on random matches:
    repeats, matches wider than the window, phrases, ties at equal scores."""
    rng = np.random.default_rng(15)
    for case in range(400):
        m = int(rng.integers(1, 120)) if case else 2100       # more than MAX_MATCHES once
        n_terms = int(rng.integers(1, 6))
        gaps = rng.integers(0, 40, m)
        lens = rng.integers(1, 12 if case % 5 else 300, m)
        starts = np.cumsum(gaps + np.concatenate(([0], lens[:-1]))).astype(np.int64)
        ends = (starts + lens).astype(np.int64)
        which = rng.integers(0, n_terms, m).astype(np.int64)
        position = np.cumsum(rng.integers(1, 3, m)).astype(np.int64)
        phrases = [tuple(int(x) for x in rng.integers(0, n_terms, int(rng.integers(2, 4))))
                   for _ in range(int(rng.integers(0, 3)))]
        runs = _phrase_runs(which.tolist(), position.tolist(), phrases)
        width = int(rng.integers(5, 200))
        n_chars = int(ends[-1]) + int(rng.integers(0, 1000))
        want = oracle_snippet_window(starts.tolist(), ends.tolist(), which.tolist(), n_terms, runs,
                                     width, n_chars)
        assert window(starts, ends, which, n_terms, runs, width, n_chars) == want, case


def test_windows_of_several_texts_in_one_call_equal_the_plain_python_window():
    """``best_windows`` (the texts of a search's hits in one kernel call, no phrases) picks the
    oracle's window of each text: texts without matches, with more than MAX_MATCHES (only the
    first looked at), wide matches, ties."""
    from wikisearch.search import _snippet_kernels as K
    from wikisearch.search.snippets import MAX_MATCHES, _EARLY, _REPEATS
    rng = np.random.default_rng(16)
    for case in range(60):
        n_terms = int(rng.integers(2, 6))
        width = int(rng.integers(5, 200))
        texts = []
        for t in range(int(rng.integers(1, 12))):
            m = int(rng.choice([0, 1, 2, 30, 120])) if (case, t) != (3, 1) else MAX_MATCHES + 150
            gaps = rng.integers(0, 40, m)
            lens = rng.integers(1, 12 if t % 4 else 300, m)
            starts = np.cumsum(gaps + np.concatenate(([0], lens[:-1]))).astype(np.int64)
            which = rng.integers(0, n_terms, m).astype(np.int64)
            if m > MAX_MATCHES:             # the best window beyond the first MAX_MATCHES
                which[:MAX_MATCHES] = 0
                which[MAX_MATCHES:] = np.arange(m - MAX_MATCHES) % n_terms
            texts.append((starts, (starts + lens).astype(np.int64), which,
                          (int(starts[-1] + lens[-1]) if m else 0) + int(rng.integers(0, 1000))))
        cuts = np.cumsum([len(x[0]) for x in texts]).astype(np.int64)
        starts, ends, which = (np.concatenate([x[k] for x in texts]) for k in range(3))
        n_chars = np.array([x[3] for x in texts], np.int64)
        got = K.best_windows(starts, ends, which, cuts, n_terms, width, n_chars, MAX_MATCHES,
                             _REPEATS, _EARLY).tolist()
        want = [list(oracle_snippet_window(s[:MAX_MATCHES].tolist(), e[:MAX_MATCHES].tolist(),
                                           w[:MAX_MATCHES].tolist(), n_terms, {}, width, n))
                if len(s) else [-1, -1] for s, e, w, n in texts]
        assert got == want, case


def test_snippets_made_together_equal_one_at_a_time():
    docs = [{"opening": "Dogs run fast.", "body": "A dog runs. The runner ran home."},
            {"opening": "", "body": "Nothing here matches at all."},
            {"opening": "Köln und Straße", "body": "running dogs " * 50},
            {"opening": "", "body": ""}]
    for terms in (terms_of("dog run"), terms_of("run", ["dog runs"]), terms_of("zebra")):
        for chars in (20, 150):
            together = make_snippets(EN, docs, terms, chars)
            alone = [make_snippet(EN, d, terms, chars) for d in docs]
            assert [(a.text, a.highlights) for a in together] == [(b.text, b.highlights) for b in alone]


def test_pruned_top_k_and_batch_equal_the_full_ranking():
    words = ["christmas", "chrism", "christ", "charisma", "mount", "amount", "everest", "events",
             "every", "receive", "relieve", "received", "the", "then", "ten", "teh"]
    d = SpellingDictionary(words, [50, 2, 400, 30, 40, 80, 30, 900, 700, 60, 9, 300, 10**6, 9000, 800, 3])
    queries = ["chrismas", "everst", "recieve", "teh", "mont", "zzzzzz", "christ", "the", "amout"]
    for q in queries:
        full = d.candidates(q, 10_000)
        for k in (1, 2, 3):
            assert d.candidates(q, k) == full[:k], (q, k)
    assert d.correct_many(queries) == [d.correct(q) for q in queries]
    assert d.correct("zzzzzz") == "zzzzzz" and d.correct("chrismas") == "christmas"


def _random_text(rng, n_words: int) -> str:
    pieces = ["run", "Runs", "dog", "DOGS", "Köln", "straße", "Ελλάδα", "москва", "東京", "e\u0301te\u0301",
              "\ud800", "\U0001f600", "a", ".", "!", "\n", "\t", "\r", "--", "x" * 20, "Naïve", "\u200d"]
    out = []
    for _ in range(n_words):
        out.append(pieces[int(rng.integers(len(pieces)))])
        out.append(" " if rng.random() < 0.8 else "")
    return "".join(out)


def test_snippets_from_stored_bytes_equal_those_from_fields():
    """What a search hands over (a document's stored bytes, not decoded whole) gives the same
    snippets as its decoded fields: prose cut at the scanned characters within multi-byte
    characters, empty and missing fields, lone surrogates, line breaks shown as spaces."""
    from wikisearch.config import FIELDS
    from wikisearch.index.store import encode_doc
    rng = np.random.default_rng(7)
    for case in range(150):
        fields = {f: _random_text(rng, int(rng.integers(0, 40))) for f in FIELDS}
        if case % 4 == 0:
            fields["opening"] = ""
        if case % 5 == 0:
            fields["body"] = ""
        if case % 3 == 0:
            fields["body"] = _random_text(rng, 3000)          # longer than the scanned part
        raw = encode_doc([fields[f] for f in FIELDS])
        cut = encode_doc([fields[f] for f in FIELDS[:FIELDS.index("body") + (case % 2)]])  # fields left out
        few = {f: fields[f] for f in FIELDS[:FIELDS.index("body") + (case % 2)]}
        for terms in (terms_of("run dog"), terms_of("köln", ["москва run"]), terms_of("zebra")):
            for chars in (5, 60, 150):
                for scan in (None, 23, 701):
                    a = make_snippets(EN, [fields, few], terms, chars, scan)
                    b = make_snippets(EN, [raw, cut], terms, chars, scan)
                    assert [(x.text, x.highlights) for x in a] == [(x.text, x.highlights) for x in b], case
                    assert "\n" not in a[0].text and "\t" not in a[0].text


def test_snippets_from_a_stored_prefix_equal_those_from_the_whole_document():
    """A search reads its hits' prefixes (``store.prefix_end``: the stored bytes up to the end of
    the first characters of prose) where they hold the scanned prose: the prose cut and the
    snippets are the whole document's, for every scan up to the prefix's length."""
    from wikisearch.config import FIELDS
    from wikisearch.index.store import encode_doc, prefix_end
    from wikisearch.search.snippets import _article, scan_length
    rng = np.random.default_rng(8)
    for case in range(150):
        fields = {f: _random_text(rng, int(rng.integers(0, 40))) for f in FIELDS}
        if case % 4 == 0:
            fields["opening"] = ""
        if case % 5 == 0:
            fields["body"] = ""
        if case % 3 == 0:
            fields["body"] = _random_text(rng, 3000)
        if case % 6 == 1:
            fields["opening"] = _random_text(rng, 600)        # longer than some prefixes
        raw = encode_doc([fields[f] for f in FIELDS])
        for chars in (30, 101, 700):
            prefix = raw[:prefix_end(raw, chars)]
            assert all(_article(prefix, n) == _article(raw, n) for n in range(chars + 1)), case
            for terms in (terms_of("run dog"), terms_of("köln", ["москва run"]), terms_of("zebra")):
                for width, scan in ((5, None), (5, 20), (25, chars), (5, chars - 1)):
                    if scan_length(width, scan) > chars:
                        continue
                    a = make_snippets(EN, [raw], terms, width, scan)
                    assert make_snippets(EN, [prefix], terms, width, scan) == a, (case, chars, scan)


def test_prose_cut_from_stored_bytes_equals_the_fields_text_at_every_length():
    """``_article`` on a document's stored bytes (the body's end looked for only as far as the
    cut can reach) is the UTF-8 of its fields' prose cut at ``n`` characters, for every ``n`` up
    to past its end: multi-byte characters at the cut, empty and missing fields, a body that
    ends the document or is followed by other fields, one with fewer characters than bytes."""
    from wikisearch.config import FIELDS
    from wikisearch.index.store import encode_doc
    from wikisearch.search.results import article_text
    from wikisearch.search.snippets import _article
    rng = np.random.default_rng(17)
    for case in range(120):
        fields = {f: _random_text(rng, int(rng.integers(0, 12))) for f in FIELDS}
        if case % 4 == 0:
            fields["opening"] = ""
        if case % 5 == 0:
            fields["body"] = ""
        if case % 3 == 0:
            fields["body"] = "東京Ελλάδα " * int(rng.integers(1, 8))   # fewer characters than bytes
        kept = FIELDS[:FIELDS.index("body") + 1 + int(rng.integers(0, 3))]   # the body last, or not
        if case % 7 == 0:
            kept = FIELDS[:FIELDS.index("opening") + int(rng.integers(0, 3))]  # no body at all
        raw = encode_doc([fields[f] for f in kept])
        text = article_text({f: fields[f] for f in kept if f in ("opening", "body")})
        for n in range(len(text.encode("utf-8", "surrogatepass")) + 3):
            assert _article(raw, n) == text[:n].encode("utf-8", "surrogatepass"), (case, n)


def test_char_cut_equals_slicing_the_string():
    from wikisearch.search._snippet_kernels import char_cut
    rng = np.random.default_rng(3)
    for case in range(300):
        text = _random_text(rng, int(rng.integers(0, 30 if case % 3 else 500)))   # (8 bytes at a time)
        raw = text.encode("utf-8", "surrogatepass")
        buf = np.frombuffer(b"##" + raw + b"##", np.uint8)
        for n in (0, 1, 2, 7, 8, 9, 17, len(text) // 2, len(text) - 1, len(text), len(text) + 3):
            if n < 0:
                continue
            end, chars = char_cut(buf, 2, 2 + len(raw), n)
            assert (int(end) - 2, int(chars)) == (len(text[:n].encode("utf-8", "surrogatepass")),
                                                  len(text[:n])), (text, n)


def test_spaces_equals_the_translation():
    from wikisearch.search.snippets import _SPACES, _spaces
    rng = np.random.default_rng(9)
    for _ in range(200):
        text = _random_text(rng, int(rng.integers(0, 30))) + "\r\n\t\x0b\x0c\u2028"
        assert _spaces(text) == text.translate(_SPACES)


def test_term_memo_full_or_warm_finds_what_a_fresh_analyzer_finds(monkeypatch):
    """The per-thread token memo (warm, or replaced when full) changes no match."""
    from wikisearch.analysis import analyzer as A
    texts = TEXTS + ["run " * 50 + "Köln " + " ".join(f"w{i}" for i in range(600))]
    vocab = sorted({t for text in texts for _, _, t in EN.spans_slow(text)})
    want = {}
    for limit in (1 << 18, 8):
        monkeypatch.setattr(A._TermMemo, "LIMIT", limit)
        an = Analyzer("english")
        for rep in range(3):                 # cold memo, warm memo, warm again
            for terms in (vocab, vocab[::5], ["run", "köln"]):
                for positions in (True, False):
                    got = [tuple(map(np.ndarray.tolist, m)) for m in an.find_terms_many(texts, terms, positions)]
                    assert want.setdefault((tuple(terms), positions), got) == got, (limit, rep)


@given(words=st.lists(st.text(st.sampled_from("abcdeé日z\U00020000"), max_size=12), max_size=30),
       share=st.floats(0, 1), max_dist=st.integers(0, 2), prefix=st.sampled_from([1, 3, 7]))
@settings(max_examples=200, deadline=None)
def test_numpy_deletes_equal_the_kernel(words, share, max_dist, prefix):
    """deletes_numpy (the spelling dictionary's deletes where the kernels run as Python) gives
    build_deletes' hashes and word ids, in the same order."""
    offsets, cps = _csr(words)
    n = int(len(words) * share)
    h, ids = SPK.build_deletes(cps, offsets, n, prefix, max_dist)
    p_h, p_ids = deletes_numpy(cps, offsets, n, prefix, max_dist)
    assert p_h.dtype == h.dtype and p_ids.dtype == ids.dtype
    assert p_h.tolist() == h.tolist() and p_ids.tolist() == ids.tolist()


def test_bounds_from_a_prefix_are_the_whole_texts_or_none():
    """A snippet decodes its text only as far as it needs (``_decoded``): wherever a prefix is
    cut, the bounds found in it are those found in the whole text, or None (then the whole text
    is decoded); runs of combining marks and spaces over the look-ahead, windows at the end."""
    from wikisearch.search.snippets import _LOOK, _bounds, _decoded
    rng = np.random.default_rng(21)
    for case in range(400):
        text = _random_text(rng, int(rng.integers(0, 60)))
        if case % 4 == 0:
            text += "e" + "\u0301" * int(rng.integers(1, 2 * _LOOK)) + " x"
        if case % 5 == 0:
            text = " " * int(rng.integers(1, 2 * _LOOK)) + text
        art = text.encode("utf-8", "surrogatepass")
        n = len(text)
        width = int(rng.integers(1, 40))
        for chars in sorted({0, 1, 5, width, width + _LOOK, max(0, n - 1), n}):
            prefix = _decoded(art, n, chars)
            assert text.startswith(prefix) and len(prefix) >= min(chars, n), (text, chars)
            for _ in range(5):
                lo = int(rng.integers(0, max(1, n)))
                hi = None if rng.random() < 0.3 else int(rng.integers(lo, n + 1))
                got = _bounds(prefix, n, lo, hi, width)
                if got is not None:
                    assert got == _bounds(text, n, lo, hi, width), (text, chars, lo, hi, width)
                if len(prefix) == n:
                    assert got is not None
