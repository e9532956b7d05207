"""Tests of wikisearch.analysis.analyzer: the numba path against the plain-Python oracle, and the rules."""
from __future__ import annotations

import bz2
import doctest
import json
import lzma
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wikisearch.analysis import analyzer as analyze
from wikisearch.analysis import _analyze_kernels as K
from wikisearch.analysis.analyzer import Analyzer, char_class, class_table, normalize

from conftest import SHARED_DATA as DATA, require_or_skip  # noqa: E402  (tests/conftest.py)

# Characters that exercise every rule: ASCII, Latin/Greek/Cyrillic with marks (precomposed and
# combining), Indic marks, ZWJ/ZWNJ, CJK, kana, Hangul, full-width forms, ligatures, emoji,
# apostrophes, digits of other scripts, controls, NUL, separators and a lone surrogate.
SPECIAL = list("aZz09 \t\n\x00'’-_.éÉëßİıøÆςΣΐάйЙёЇ\u0301\u0300\u0306\u0308\u093c\u200c\u200d"
               "日本語東京カタはー々한국ＡＢ１ﬁ½²ǅʰ\u037a😀👍🏽٣३কাংলাमराठीՀայ\u0587\ud800\U00020000\U0001d400")
chars = st.one_of(st.sampled_from(SPECIAL), st.characters(), st.characters(max_codepoint=0x7F))
texts = st.text(chars, max_size=60)
ANALYZERS = [Analyzer("english"), Analyzer(""), Analyzer("greek", fold=False),
             Analyzer.for_language("uk"), Analyzer("english", max_token_chars=5)]


@pytest.mark.parametrize("an", ANALYZERS, ids=repr)
@given(text=texts)
@example(text="")
@example(text="O'Neil's dog's café \u0301x 日本\u0301語 a\u200db \u200dz")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_equals_slow(an, text):
    assert an.terms(text) == an.analyze_slow(text)
    assert an.spans(text) == an.spans_slow(text)


@given(batch=st.lists(st.text(st.characters(blacklist_categories=())), max_size=8))
@settings(max_examples=200, deadline=None)
def test_small_inputs_encode_as_large_ones(batch):
    """A query's few words are encoded in one piece: the same bytes and ends as the piecewise
    path that large blocks of text take (lone surrogates too)."""
    small = analyze._encode(batch)
    saved, analyze._SMALL_CHARS = analyze._SMALL_CHARS, -1
    try:
        large = analyze._encode(batch)
    finally:
        analyze._SMALL_CHARS = saved
    for a, b in zip(small, large):
        assert a.dtype == b.dtype and a.flags.writeable and a.tolist() == b.tolist()


@given(batch=st.lists(texts, max_size=6))
@settings(max_examples=100, deadline=None)
def test_analyze_texts_equals_slow_per_text(batch):
    an = ANALYZERS[0]
    term_ids, text_index, vocab = an.analyze_texts(batch)
    assert term_ids.dtype == np.int32 and text_index.dtype == np.int32
    assert len(set(vocab)) == len(vocab)
    expected = [(i, term) for i, text in enumerate(batch) for term in an.analyze_slow(text)]
    assert [(int(i), vocab[t]) for t, i in zip(term_ids, text_index)] == expected
    # vocab in order of first occurrence, every entry used
    firsts = list(dict.fromkeys(term for _, term in expected))
    assert vocab == firsts


@pytest.mark.parametrize("an", ANALYZERS, ids=repr)
@given(batch=st.lists(texts, max_size=6))
@example(batch=["Dog dog DOG Café CAFÉ café", "x" * 65 + " y" + "z" * 64, "", "𠀀x\U0001d400y ü\u0301"])
@example(batch=["The the THE o'neil O'NEIL", "\ud800abc 日本\u0301語", "a\u200db \u0301x"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_python_tokenizer_equals_the_kernels(an, batch):
    """analyze_texts_python (what a build whose kernels run as Python takes) gives the kernels'
    arrays and vocabulary exactly: same ids in the same order, same text index, same dtypes."""
    assert not analyze._PYTHON_TOKENIZER             # analyze_texts below runs the kernels
    k_ids, k_text, k_vocab = an.analyze_texts(batch)
    an._cache.clear()
    p_ids, p_text, p_vocab = an.analyze_texts_python(batch)
    assert p_ids.dtype == k_ids.dtype == np.int32 and p_text.dtype == k_text.dtype == np.int32
    assert p_vocab == k_vocab
    assert p_ids.tolist() == k_ids.tolist() and p_text.tolist() == k_text.tolist()


@given(tokens=st.lists(st.text(chars, min_size=1, max_size=12).filter(lambda t: "\n" not in t),
                       max_size=20), fold=st.booleans())
@settings(max_examples=300, deadline=None)
def test_normalize_many_equals_normalize(tokens, fold):
    # real tokens hold only WORD/CJK/EXTEND characters; keep those so the ASCII shortcut holds
    tokens = ["".join(c for c in t if char_class(c)) or "x" for t in tokens]
    want = [normalize(t, fold) for t in tokens]
    for by_loop in (False, True):     # the regexes (many tokens), one by one (a few, cold)
        with patch.object(analyze, "_fold_by_loop", lambda n: by_loop):
            assert analyze._normalize_many(tokens, fold) == want


def test_few_tokens_fold_without_compiling_the_patterns():
    analyze._fold_patterns.cache_clear()
    try:
        few = ["Piëch", "Москва́", "mañana"] * 3
        assert analyze._normalize_many(few, True) == [normalize(t, True) for t in few]
        assert analyze._fold_patterns.cache_info().currsize == 0          # nothing compiled
        many = [f"Piëch{i}" for i in range(analyze._FOLD_LOOP_MAX + 1)]
        assert analyze._normalize_many(many, True) == [normalize(t, True) for t in many]
        assert analyze._fold_patterns.cache_info().currsize == 1          # compiled for many
        assert not analyze._fold_by_loop(1)                               # and used from then on
    finally:
        analyze._fold_patterns.cache_clear()


def test_class_table_matches_char_class():
    table = class_table()
    cps = list(range(0, 0x40000, 7)) + list(range(0xE0000, 0xE1000)) + [0x10FFFF, 0xF0000]
    assert all(table[cp] == char_class(chr(cp)) for cp in cps)
    assert table[ord("a")] == K.WORD and table[ord("日")] == K.CJK
    assert table[0x301] == K.EXTEND and table[0x200D] == K.EXTEND and table[ord("'")] == K.SEP


def test_stemming_and_stopwords():
    an = Analyzer("english")
    assert an.terms("the running dogs") == ["run", "dog"]
    assert Analyzer("english", stopwords=False).terms("the running dogs") == ["the", "run", "dog"]
    assert Analyzer("english", stem=False).terms("The running dogs") == ["running", "dogs"]
    assert Analyzer("").terms("The running dogs") == ["the", "running", "dogs"]


def test_apostrophes_numbers_and_long_tokens():
    an = Analyzer("")
    assert an.terms("O'Neil’s 1984 3.14") == ["o", "neil", "s", "1984", "3", "14"]
    assert Analyzer("english").terms("O'Neil's") == ["o", "neil"]
    assert an.terms("a" * 64 + " b " + "c" * 65) == ["a" * 64, "b"]
    # the limit counts code points, marks included
    assert an.terms("e" + "\u0301" * 63) == ["e"] and an.terms("e" + "\u0301" * 64) == []


def test_diacritic_folding():
    an = Analyzer("")
    assert an.terms("Piëch café cafe\u0301 Straße Việt Øresund Łódź") == [
        "piech", "cafe", "cafe", "strasse", "viet", "oresund", "lodz"]
    assert an.terms("Ελληνικά ΐ") == ["ελληνικα", "ι"]
    # Cyrillic: stress accents go, letters with marks (й ё ї) stay
    assert an.terms("Москва́ мой Ёлка їжак") == ["москва", "мой", "ёлка", "їжак"]
    # Indic marks and kana voicing stay; NFKC unifies compatibility forms
    assert an.terms("मराठी বাংলা が ＡＢＣ ﬁ") == ["मराठी", "বাংলা", "が", "abc", "fi"]
    assert Analyzer("", fold=False).terms("Piëch") == ["piëch"]


def test_joiners_stay_inside_words_and_are_dropped():
    an = Analyzer("")
    assert an.terms("র\u200d্যাব") == ["র্যাব"]
    assert an.terms("\u200d \u0301") == []
    assert an.spans("x র\u200d্যাব") == [(0, 1, "x"), (2, 8, "র্যাব")]


def test_japanese_one_token_per_character():
    an = Analyzer.for_language("ja")
    assert an.terms("東京タワーは、日本。") == ["東", "京", "タ", "ワ", "ー", "は", "日", "本"]
    assert an.terms("Tokyo東京2020") == ["tokyo", "東", "京", "2020"]
    assert an.spans("あ東") == [(0, 1, "あ"), (1, 2, "東")]


def test_spans_are_character_offsets():
    an = Analyzer("english")
    text = "Ünïcode 😀 café's dogs"
    spans = an.spans(text)
    assert spans == [(0, 7, "unicod"), (10, 14, "cafe"), (17, 21, "dog")]
    assert [text[a:b] for a, b, _ in spans] == ["Ünïcode", "café", "dogs"]


def test_language_mapping():
    lang = {c: Analyzer.for_language(c).language for c in
            ("en", "el", "hy", "bn", "mr", "uk", "vi", "ja", "de", "pt-BR", "zh_hans", "xx", "")}
    assert lang == {"en": "english", "el": "greek", "hy": "armenian", "bn": "", "mr": "", "uk": "",
                    "vi": "", "ja": "", "de": "german", "pt-BR": "portuguese", "zh_hans": "",
                    "xx": "", "": ""}
    assert "и" in Analyzer.for_language("uk").stopwords or "і" in Analyzer.for_language("uk").stopwords
    assert "και" in Analyzer.for_language("el").stopwords          # stopwords are folded too
    assert "απο" in Analyzer.for_language("el").stopwords
    assert Analyzer.for_language("ja").stopwords == frozenset()
    assert Analyzer.for_language("de", stopwords=False).stopwords == frozenset()
    assert Analyzer.for_language("el").terms("Η Αθήνα και η Θεσσαλονίκη") == ["αθην", "θεσσαλονικ"]
    with pytest.raises(ValueError):
        Analyzer("klingon")


def test_json_and_pickle_round_trip():
    for an in ANALYZERS + [Analyzer.for_language("el")]:
        d = json.loads(json.dumps(an.to_json()))
        back = Analyzer.from_json(d)
        assert back == an and back.to_json() == d
        assert pickle.loads(pickle.dumps(an)) == an
    with pytest.raises(analyze.FormatTooNewError):
        Analyzer.from_json({**Analyzer().to_json(), "version": 99})


def test_empty_inputs():
    an = Analyzer()
    ids, text_index, vocab = an.analyze_texts([])
    assert ids.size == 0 and text_index.size == 0 and vocab == []
    ids, text_index, vocab = an.analyze_texts(["", "the", ""])
    assert ids.size == 0 and vocab == []
    assert an.terms("") == [] and an.spans("") == []


def _real_samples():
    out = {}
    path = DATA / "enwiki-text" / "enwiki-2015-wikiextractor-first30k-AA.txt.xz"
    if path.exists():
        with lzma.open(path, "rt", encoding="utf-8") as f:
            out["en"] = f.read(150_000)
    for path in sorted((DATA / "otherwiki-xml").glob("*wiki-*.xml.*")):
        opener = bz2.open if path.suffix == ".bz2" else lzma.open
        with opener(path, "rb") as f:
            raw = f.read(600_000)
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")   # the bgwiki slice is UTF-16
        head = raw.decode("utf-16" if utf16 else "utf-8", "ignore")
        body = " ".join(re.findall(r"<text[^>]*>(.*?)</text>", head, re.S))
        out[path.name[:2]] = body[:100_000]
    return out


@pytest.fixture(scope="module")
def real_samples():
    samples = _real_samples()
    require_or_skip(samples, f"needs shared data {DATA}/enwiki-text and otherwiki-xml")
    return samples


def test_real_samples_fast_equals_slow(real_samples):
    assert len(real_samples) >= 8
    for code, text in real_samples.items():
        an = Analyzer.for_language(code)
        fast = an.terms(text)
        assert fast == an.analyze_slow(text), code
        assert len(fast) > 1000, code
        # batch analysis of pieces equals per-piece analysis
        pieces = [text[i:i + 5000] for i in range(0, len(text), 5000)]
        ids, text_index, vocab = an.analyze_texts(pieces)
        assert [vocab[t] for t in ids] == [t for p in pieces for t in an.terms(p)], code
        assert np.all(np.diff(text_index) >= 0)
        p_ids, p_text_index, p_vocab = an.analyze_texts_python(pieces)   # the Python path too
        assert p_vocab == vocab and p_ids.tolist() == ids.tolist(), code
        assert p_text_index.tolist() == text_index.tolist(), code


_NOJIT_SCRIPT = """
import json, sys
from wikisearch.analysis.analyzer import Analyzer
texts = json.loads(sys.stdin.read())
an = Analyzer("english")
ids, text_index, vocab = an.analyze_texts(texts)
print(json.dumps([ids.tolist(), text_index.tolist(), vocab, [an.spans(t) for t in texts]]))
"""


def test_kernels_without_jit_give_the_same():
    texts = ["The running dogs of Piëch's café", "", "東京タワー 1984 a\u200db \u0301x",
             "x" * 70 + " Москва́", "Ünïcode 😀 don't"]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    root = Path(analyze.__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", _NOJIT_SCRIPT], input=json.dumps(texts),
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    ids, text_index, vocab, spans = json.loads(done.stdout)
    an = Analyzer("english")
    j_ids, j_text_index, j_vocab = an.analyze_texts(texts)
    assert ids == j_ids.tolist() and text_index == j_text_index.tolist() and vocab == j_vocab
    assert [[tuple(s) for s in sp] for sp in spans] == [an.spans(t) for t in texts]


def test_kernel_grows_its_arrays():
    # more tokens and more distinct tokens than the kernels' first allocations
    text = " ".join(f"w{i}" for i in range(20000)) + " x" * 60000
    buf, ends = analyze._encode([text, "a b c"])
    tok, tok_text, d_start, d_stop = K.tokenize_distinct(buf, ends, class_table(), 64)
    assert tok.size == 80003 and d_start.size == 20004
    assert tok[:3].tolist() == [0, 1, 2] and tok[-4:].tolist() == [20000, 20001, 20002, 20003]
    assert tok_text[-1] == 1 and tok_text[-4] == 0
    starts, stops, _ = K.token_spans(buf, ends, class_table(), 64)
    assert starts.size == 80003 and stops[-1] == buf.size


def test_docstrings():
    assert doctest.testmod(analyze).failed == 0


def test_encode_matches_plain_join():
    # mostly two- and three-byte text makes the buffer grow past its first guess
    from wikisearch.analysis.analyzer import _encode
    rng = np.random.default_rng(3)
    alphabet = ["a", "Б", "ж", "日", "€", "😀", " ", ""]
    texts = ["".join(rng.choice(alphabet, size=int(rng.integers(0, 40)))) for _ in range(10_000)]
    buf, ends = _encode(texts)
    encoded = [t.encode("utf-8") for t in texts]
    assert buf.tobytes() == b"".join(encoded)
    assert ends.tolist() == np.cumsum([len(e) for e in encoded]).tolist()
    assert _encode([])[0].size == 0 and _encode([])[1].size == 0


_PLAIN = "abcxyzABCXYZ0123456789"
_ASCII_PUNCT = _PLAIN + "'.,?!-_/:;()[]&+#@\"\t\x00\x7f "


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(_PLAIN, min_size=1, max_size=70),
                          st.text(_ASCII_PUNCT, min_size=0, max_size=70),
                          st.sampled_from(["the", "The", "running", "Dogs", "x" * 64, "x" * 65, "1984",
                                           "role.", "Years'", "U.S.", "O'Neil's", "AC/AC", "x" * 65 + "-a"]),
                          st.text(min_size=0, max_size=8)), min_size=1, max_size=6),
       st.sampled_from(["english", "german", ""]))
@example(["Ünïcode", "berlin"], "english")
@example(["", "berlin"], "english")
@example(["Silver-Tongued", "role."], "english")
def test_plain_word_terms_equal_the_tokenizer(words, language):
    """The query's short cut for ASCII words gives analyze_texts' terms of each word, and declines
    (None) whenever any word is anything else."""
    an = Analyzer(language) if language else Analyzer("", stem=False)
    got = an.plain_word_terms(words)
    if not all(w.isascii() for w in words):
        assert got is None
        return
    slow = []
    for w in words:
        ids, _, vocab = Analyzer(language).analyze_texts([w]) if language else \
            Analyzer("", stem=False).analyze_texts([w])
        slow.append(tuple(vocab[i] for i in ids.tolist()))
    assert got == slow


def test_ascii_word_class_is_letters_and_digits():
    """plain_word_terms splits ASCII words at every character but [A-Za-z0-9]: the class table's
    WORD class in ASCII, which this pins (a change to the classes must change the short cut)."""
    from wikisearch.analysis import _analyze_kernels as AK
    from wikisearch.analysis.analyzer import class_table
    table = class_table()
    word = {chr(c) for c in range(128) if table[c] == AK.WORD}
    assert word == set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    assert all(table[c] == AK.SEP for c in range(128) if chr(c) not in word)


def test_class_table_key_follows_the_rules_not_the_process(monkeypatch):
    """The cached class table's key (``_class_rules``, from the builder's code, not its source
    text): the same in every process (no hash-ordered text in it), and changed by any change
    of what the table is built from."""
    import subprocess
    import sys
    from wikisearch.analysis import analyzer as A
    code = "from wikisearch.analysis import analyzer as A; print(A._class_rules())"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert outs == {A._class_rules() + "\n"}
    rules = A._class_rules()
    monkeypatch.setattr(A, "_CJK_RANGES", A._CJK_RANGES[:-1])
    assert A._class_rules() != rules
    monkeypatch.undo()

    def other_builder():                      # the same name, another body
        return np.ones(0x110000, np.uint8)
    monkeypatch.setattr(A._build_class_table, "__code__", other_builder.__code__)
    assert A._class_rules() != rules
