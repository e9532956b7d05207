"""analyze — "here is text, give me terms": the one analyzer shared by indexing and querying.

Pipeline (identical in the numba path and in the plain-Python oracle :meth:`Analyzer.analyze_slow`):

1. **Tokenize.** Each code point gets a class (:func:`char_class`): ``WORD`` (Unicode letters
   and numbers, categories L* and N*), ``CJK`` (a letter of the Han, Hiragana, Katakana, Hangul or
   Bopomofo blocks), ``EXTEND`` (marks M*, ZWNJ, ZWJ) or ``SEP`` (everything else: spaces,
   punctuation, apostrophes, symbols, emoji, controls). A token is a maximal run
   ``WORD (WORD|EXTEND)*``, or one ``CJK`` letter with the marks that follow it (Japanese and
   Chinese have no spaces, so each character is a token). A mark with no letter before it is
   ignored. Apostrophes split words: ``o'neil`` -> ``o``, ``neil``; ``dog's`` -> ``dog``, ``s``.
   Thai, Lao, Khmer and Myanmar text (no spaces, not CJK) comes out as long runs.
2. **Drop long tokens.** Tokens of more than ``max_token_chars`` (64) code points are dropped
   whole (base64, DNA sequences, URLs without punctuation), not truncated.
3. **Normalize** each distinct token (:func:`normalize`): NFKD, casefold, NFKD; with ``fold``,
   drop nonspacing marks after a Latin or Greek letter (``Piëch`` -> ``piech``) and the stress
   accents U+0300/U+0301 after a Cyrillic one (``й``, ``ё``, ``ї`` stay: they are letters, and
   the Russian stemmer knows ``й``); marks of other scripts (Devanagari, Bengali, kana voicing)
   stay. Then NFC, drop what is not a letter, number or mark, and with ``fold`` map
   ``ø æ œ ł đ ð þ ı ħ ŧ`` to ASCII as Lucene's ASCII folding does. Tokens that normalize to
   ``""`` are dropped.
4. **Stopwords** are checked on the normalized form (the list is normalized the same way).
5. **Stem** with the Snowball algorithm (PyStemmer); a stem of ``""`` drops the token.

Speed: the texts are encoded into one UTF-8 buffer; a numba kernel scans it, numbers the distinct
tokens (FNV-1a hash table, ASCII case-insensitive, bytes compared on a hash hit) and only the
distinct tokens go through steps 3-5, once per call (and once per analyzer, through a cache).

>>> Analyzer("english").terms("The running dogs of Piëch's café")
['run', 'dog', 'piech', 'cafe']
"""
from __future__ import annotations

import bisect
import functools
import os
import re
import sys
import threading
import unicodedata
from itertools import accumulate

import numpy as np
import Stemmer

from wikisearch.analysis import _analyze_kernels as K
from wikisearch.errors import FormatTooNewError
from wikisearch.jit import interpreted, readonly

__all__ = ["Analyzer", "char_class", "class_table", "normalize", "STOPWORDS", "SNOWBALL", "warmup"]

ANALYZER_VERSION = 1
MAX_TOKEN_CHARS = 64
#: Snowball stemmers that strip word beginnings (so a stem may not start as its word does).
_PREFIXING_STEMMERS = frozenset(("indonesian", "irish"))


def _porter2_other_pairs(term: str) -> tuple[str, ...]:
    """Porter2 (Snowball 2) turns a consonant + "ying" into the consonant + "ie" (dying, lying,
    vying -> die, lie, vie): the one place it changes a second letter."""
    return (term[0] + "y",) if len(term) == 3 and term[1:] == "ie" else ()


#: Stemmers after which a term starts with the first two letters (normalized) of the words it
#: comes from, but for the other first two letters the function gives: Porter2 changes a word in
#: its suffix regions, which begin at the third letter at the earliest (R1 follows a vowel and a
#: non-vowel), and in its exceptional forms. The snippets' term finder passes ASCII tokens whose
#: first two letters no query term can come from (``find_terms_encoded``; tests/test_snippets.py
#: checks every word of the sample dumps and every short word, with each Porter2 suffix).
_TWO_LETTER_STEMMERS = {"english": _porter2_other_pairs}
_ALL_PAIRS = np.ones(128 * 128, bool)
_NON_ASCII_BYTES = np.arange(256) >= 128
_CACHE_LIMIT = 1 << 18   # normalized tokens remembered per analyzer (cleared when full)

# Code points whose letters are tokens of their own (only L* and N* ones become CJK).
_CJK_RANGES = ((0x1100, 0x11FF), (0x2E80, 0x2FFF), (0x3000, 0x9FFF), (0xA960, 0xA97F),
               (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFF66, 0xFFDC), (0x1B000, 0x1B16F),
               (0x20000, 0x3FFFF))
_CJK_STARTS = [a for a, _ in _CJK_RANGES]
_LATIN_GREEK = ((0x0000, 0x024F), (0x0250, 0x02AF), (0x0370, 0x03FF), (0x1D00, 0x1DBF),
                (0x1E00, 0x1FFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF), (0xAB30, 0xAB6F))
_CYRILLIC = ((0x0400, 0x052F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F))
_ZERO_WIDTH_JOINERS = (0x200C, 0x200D)   # inside Indic and Persian words
_EXTRA_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
                             "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t"})
_TABLE_PLANES = ((0x0000, 0x40000), (0xE0000, 0xE1000))   # planes 4-13, 15, 16: no L/N/M

#: ISO 639 code (as in siteinfo) -> Snowball algorithm name, where PyStemmer has one.
SNOWBALL = {
    "en": "english", "simple": "english", "de": "german", "fr": "french", "es": "spanish",
    "it": "italian", "pt": "portuguese", "nl": "dutch", "sv": "swedish", "no": "norwegian",
    "nb": "norwegian", "nn": "norwegian", "da": "danish", "fi": "finnish", "hu": "hungarian",
    "ro": "romanian", "ru": "russian", "tr": "turkish", "el": "greek", "hy": "armenian",
    "ar": "arabic", "eu": "basque", "ca": "catalan", "cs": "czech", "eo": "esperanto",
    "et": "estonian", "hi": "hindi", "id": "indonesian", "ga": "irish", "lt": "lithuanian",
    "ne": "nepali", "fa": "persian", "pl": "polish", "sr": "serbian", "st": "sesotho",
    "ta": "tamil", "yi": "yiddish",
}

#: Small stopword lists (articles, conjunctions, prepositions, copulas), by ISO code. English is
#: Lucene's list plus the clitics ``s`` and ``t`` left by splitting at apostrophes.
STOPWORDS: dict[str, tuple[str, ...]] = {k: tuple(v.split()) for k, v in {
    "en": "a an and are as at be but by for if in into is it no not of on or such that the "
          "their then there these they this to was will with s t",
    "de": "der die das den dem des ein eine einer eines einem einen und oder in im an am auf "
          "aus bei mit von vom zu zum zur für ist sind war wurde werden als auch sich nicht es",
    "fr": "le la les l un une des du de d et ou en dans au aux à sur par pour avec est sont "
          "été il elle qui que qu ce se ne pas son sa ses",
    "es": "el la los las un una unos unas de del y o en a al con por para que se es son fue "
          "su sus lo como",
    "it": "il lo la i gli le l un una uno di del della dei delle dell e ed o in nel nella nell "
          "a al alla all da dal con per su che è sono fu",
    "nl": "de het een en of in op aan van voor met is zijn was werd die dat te bij als om door",
    "pt": "o a os as um uma de do da dos das e ou em no na nos nas ao à por para com que se é "
          "são foi",
    "sv": "och i på av för med att en ett den det som är var till om",
    "ru": "и в во на с со к по из у о об от до за для не что как это а но или же бы ли то",
    "uk": "і й та в у на з із зі до за для від по що як не це а але або про",
    "el": "ο η το οι τα του της των τον την τους τις ένα ένας μια μία και ή σε στο στη στην "
          "στον στα με για από να θα δεν είναι που ως κατά μετά προς",
}.items()}
_ISO_OF_SNOWBALL = {name: code for code, name in SNOWBALL.items() if code in STOPWORDS}

_CLASS_LETTERS = "SWEC"   # index = class, for the oracle's regex over a class string
_TOKEN_RE = re.compile("W[WE]*|CE*")
#: A token of ASCII text (:meth:`Analyzer.plain_word_terms`): the WORD class of ``class_table``.
_ASCII_TOKEN = re.compile("[A-Za-z0-9]+")


def _in(ranges, cp: int) -> bool:
    return any(a <= cp <= b for a, b in ranges)


def char_class(ch: str) -> int:
    """Tokenizer class of one character: ``SEP`` 0, ``WORD`` 1, ``EXTEND`` 2 or ``CJK`` 3.

    >>> [char_class(c) for c in "a1 \\u0301日"]
    [1, 1, 0, 2, 3]
    """
    cp = ord(ch)
    if cp in _ZERO_WIDTH_JOINERS:
        return K.EXTEND
    major = unicodedata.category(ch)[0]
    if major == "M":
        return K.EXTEND
    if major in "LN":
        k = bisect.bisect_right(_CJK_STARTS, cp) - 1
        return K.CJK if k >= 0 and cp <= _CJK_RANGES[k][1] else K.WORD
    return K.SEP


@functools.cache
def class_table() -> np.ndarray:
    """``uint8[0x110000]``: :func:`char_class` of every code point, built once (~80 ms) and
    cached beside this module, keyed by the Unicode version and the rules (:func:`_class_rules`),
    so a process's first query does not pay for it (as numba caches its kernels). The cached
    table is mapped, not read: a query touches a few of its pages (1.1 MB). The file is named
    by a CRC-32 of the rules and written beside them (``.rules``, compared on load: no
    collision can give another rules' table; and no hashlib import, ~5 ms of a query process)."""
    import zlib
    rules = f"{unicodedata.unidata_version}|{_class_rules()}"
    path = os.path.join(os.path.dirname(__file__), "__pycache__",
                        f"analyze-classes-{zlib.crc32(rules.encode()):08x}.npy")
    try:
        with open(path[:-4] + ".rules", encoding="utf-8") as f:
            same = f.read() == rules
        table = np.asarray(np.load(path, mmap_mode="r")) if same else None   # (a plain read-only view)
        if table is not None and table.shape == (0x110000,) and table.dtype == np.uint8:
            return table
    except (OSError, ValueError):
        pass
    table = _build_class_table()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        for name, write in ((path, lambda f: np.save(f, table)),            # the rules last: they
                            (path[:-4] + ".rules", lambda f: f.write(rules.encode()))):   # vouch for it
            tmp = f"{name}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                write(f)
            os.replace(tmp, name)
    except OSError:   # a read-only install: build it each time
        pass
    return table


def _class_rules() -> str:
    """What :func:`_build_class_table` computes from, as text: its compiled code (bytecode, the
    names and constants it uses, its comprehension's the same way: a change of the rules changes
    it, a comment does not), the ranges it reads and the classes' numbers, and Python's version
    (whose bytecode it is). Read from the code object rather than the source file
    (``inspect.getsource`` tokenizes this module: ~5 ms of a query process's start)."""
    def code_text(code) -> str:
        consts = [code_text(c) if hasattr(c, "co_code") else               # (a frozenset's order
                  repr(sorted(map(repr, c))) if isinstance(c, frozenset) else repr(c)   # is hash's)
                  for c in code.co_consts]
        return repr((code.co_code.hex(), code.co_names, code.co_varnames, consts))
    return repr((sys.version_info[:2], code_text(_build_class_table.__code__), _TABLE_PLANES, _CJK_RANGES,
                 sorted(_ZERO_WIDTH_JOINERS), (K.SEP, K.WORD, K.EXTEND, K.CJK)))


def _build_class_table() -> np.ndarray:
    table = np.zeros(0x110000, np.uint8)
    by_major = {"L": K.WORD, "N": K.WORD, "M": K.EXTEND}
    category = unicodedata.category
    for lo, hi in _TABLE_PLANES:
        cats = [category(chr(cp)) for cp in range(lo, hi)]
        codes = {c: by_major.get(c[0], K.SEP) for c in set(cats)}
        table[lo:hi] = np.frombuffer(bytes([codes[c] for c in cats]), np.uint8)
    for lo, hi in _CJK_RANGES:
        part = table[lo:hi + 1]
        part[part == K.WORD] = K.CJK
    table[list(_ZERO_WIDTH_JOINERS)] = K.EXTEND
    table.setflags(write=False)
    return table


def normalize(token: str, fold: bool = True) -> str:
    """Case-, compatibility- and (with ``fold``) diacritic-fold one token (see module doc).

    >>> normalize("Piëch"), normalize("ＡＢＣ"), normalize("Москва́"), normalize("मराठी")
    ('piech', 'abc', 'москва', 'मराठी')
    """
    if token.isascii():       # tokens hold only letters and digits: nothing else to do
        return token.lower()
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", token).casefold())
    out = []
    base = 0                  # script of the last letter: 0 other, 1 Latin/Greek, 2 Cyrillic
    for ch in s:
        major = unicodedata.category(ch)[0]
        if major in "LN":
            cp = ord(ch)
            base = 1 if _in(_LATIN_GREEK, cp) else 2 if _in(_CYRILLIC, cp) else 0
        elif major != "M":
            continue          # ZWJ, ZWNJ, and spaces or punctuation from compatibility forms
        elif fold and (base == 1 or (base == 2 and ch in "\u0300\u0301")):
            continue
        out.append(ch)
    s = unicodedata.normalize("NFC", "".join(out))
    return s.translate(_EXTRA_FOLD) if fold else s


def _char_set(mask: np.ndarray) -> str:
    """Regex character-set body for the BMP code points where ``mask`` is true."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask[:0x10000].view(np.int8), [0]))))
    return "".join(f"\\u{a:04x}-\\u{b - 1:04x}" for a, b in zip(edges[::2], edges[1::2]))


@functools.cache
def _fold_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """Regexes doing :func:`normalize`'s per-character loop on many tokens joined by "\\n".

    BMP only: ``re`` tests a BMP-only set against a bitmap, but a set holding astral ranges
    against each of them in turn (ten times slower); tokens with astral characters take the loop.
    """
    table = class_table()
    letter = (table == K.WORD) | (table == K.CJK)
    mark = table == K.EXTEND
    mark[list(_ZERO_WIDTH_JOINERS)] = False
    junk = ~(letter | mark)
    junk[ord("\n")] = False
    script = np.zeros(table.size, np.int8)
    for value, ranges in ((1, _LATIN_GREEK), (2, _CYRILLIC)):
        for lo, hi in ranges:
            script[lo:hi + 1] = value
    marks = _char_set(mark)
    return (re.compile(f"[{_char_set(junk)}]+"),
            re.compile(f"([{_char_set(letter & (script == 1))}])[{marks}]+"),
            re.compile(f"(?<=[{_char_set(letter & (script == 2))}])[{marks}]+"))


def _char_set_all(mask: np.ndarray) -> str:
    """Regex character-set body for every code point where ``mask`` is true (astral ones too)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return "".join(f"\\U{a:08x}-\\U{b - 1:08x}" for a, b in zip(edges[::2], edges[1::2]))


@functools.cache
def _token_pattern(astral: bool) -> re.Pattern:
    """The tokenizer's grammar (``WORD (WORD|EXTEND)* | CJK EXTEND*``) as a regex over
    :func:`class_table`'s classes: for texts of BMP characters only (``re`` tests such a set
    against a bitmap; 25 ms to build), or for any text (``astral``; 75 ms). Used by
    :meth:`Analyzer.analyze_texts_python`."""
    table = class_table()
    char_set = _char_set_all if astral else _char_set
    w, e, c = (char_set(table == k) for k in (K.WORD, K.EXTEND, K.CJK))
    return re.compile(f"[{w}][{w}{e}]*|[{c}][{e}]*")


#: True where the tokenizer kernels run as Python (a small job on a cold cache,
#: ``WIKISEARCH_JIT=off``): :meth:`Analyzer.analyze_texts` then takes its regex path, which
#: gives the same arrays 30-50 times faster than the kernels as Python.
_PYTHON_TOKENIZER = interpreted(K.__name__)


def _drop_stress(m: re.Match) -> str:
    return m.group().replace("\u0300", "").replace("\u0301", "")


#: Up to this many non-ASCII tokens are folded one by one (:func:`normalize`, ~20 us each) while
#: :func:`_fold_patterns` are not compiled yet (~0.03 s): a query's few words, or a few snippets'
#: (a ``wikisearch query`` process folds a dozen or two), compile nothing.
_FOLD_LOOP_MAX = 500


def _fold_by_loop(n: int) -> bool:
    """Whether :func:`_normalize_many` folds ``n`` non-ASCII BMP tokens one by one."""
    return n <= _FOLD_LOOP_MAX and not _fold_patterns.cache_info().currsize


def _normalize_many(tokens: list[str], fold: bool) -> list[str]:
    """``[normalize(t, fold) for t in tokens]``, with the per-character work done by C code on
    all non-ASCII BMP tokens joined by "\\n" (a starter that no step here reaches across)."""
    out = [t.lower() for t in tokens]
    bmp = []
    for k, t in enumerate(tokens):
        if t.isascii():
            continue
        if max(t) > "\uffff":
            out[k] = normalize(t, fold)
        else:
            bmp.append(k)
    if not bmp:
        return out
    if _fold_by_loop(len(bmp)):
        for k in bmp:
            out[k] = normalize(tokens[k], fold)
        return out
    s = "\n".join([tokens[k] for k in bmp])
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", s).casefold())
    if max(s) > "\uffff":   # no BMP character decomposes or folds to an astral one; be sure
        words = [normalize(tokens[k], fold) for k in bmp]
    else:
        junk, latin_greek_marks, cyrillic_marks = _fold_patterns()
        s = junk.sub("", s)
        if fold:
            s = cyrillic_marks.sub(_drop_stress, latin_greek_marks.sub(r"\1", s))
        s = unicodedata.normalize("NFC", s)
        words = (s.translate(_EXTRA_FOLD) if fold else s).split("\n")
    if len(words) != len(bmp):
        raise ValueError("a token holds a newline")   # tokens never do: "\n" is SEP
    for k, word in zip(bmp, words):
        out[k] = word
    return out


#: Texts of up to this many characters in all are encoded in one piece (queries, titles).
_SMALL_CHARS = 1 << 14


def _encode(texts) -> tuple[np.ndarray, np.ndarray]:
    """One UTF-8 buffer for all texts and the byte offset where each text ends."""
    # Filled piece by piece so a block's text is held once as str and once as UTF-8 (plus one
    # piece), not twice more as a list of encoded parts and their join; each text is encoded
    # once, into a buffer sized from the character count and grown if the text is not ASCII.
    total_chars = sum(map(len, texts))
    if total_chars <= _SMALL_CHARS:           # a query's words: the same arrays, a few calls
        parts = [t.encode("utf-8", "surrogatepass") for t in texts]
        ends = np.fromiter(accumulate(map(len, parts)), np.int64, len(parts))
        return np.frombuffer(bytearray(b"".join(parts)), np.uint8), ends
    ends = np.empty(len(texts), np.int64)
    buf = np.empty(int(total_chars * 1.05) + 64, np.uint8)
    pos = chars = 0
    for i in range(0, len(texts), 4096):
        chars += sum(map(len, texts[i:i + 4096]))
        parts = [t.encode("utf-8", "surrogatepass") for t in texts[i:i + 4096]]
        np.cumsum(np.fromiter(map(len, parts), np.int64, len(parts)), out=ends[i:i + len(parts)])
        ends[i:i + len(parts)] += pos
        piece = b"".join(parts)
        del parts
        if pos + len(piece) > buf.size:   # grow to the bytes per character seen so far
            guess = int((pos + len(piece)) / max(1, chars) * total_chars * 1.05) + 64
            grown = np.empty(max(pos + len(piece), guess), np.uint8)
            grown[:pos] = buf[:pos]
            buf = grown
        buf[pos:pos + len(piece)] = np.frombuffer(piece, np.uint8)
        pos += len(piece)
    return buf[:pos], ends


def _token_strings(buf, starts, stops) -> list[str]:
    if starts.size == 0:
        return []
    # (read-only, whether the text was encoded here or comes from the store: one compilation)
    joined = K.join_spans(readonly(buf), starts, stops, 10)   # "\n" is SEP: never inside a token
    return joined.tobytes().decode("utf-8", "surrogatepass").split("\n")


class _TermMemo:
    """Token -> term id, for the tokenizer kernel (:func:`_analyze_kernels.memo_get`): a hash
    table of the tokens seen (their hash and keys, as the distinct-token table keys them) and
    the ids of the terms they analyze to (``ids``; -1: dropped). Bounded: a full memo is replaced."""

    #: Tokens remembered: the table then holds 2^17 slots of 32 bytes (4 MB; 8 MB at worst), per
    #: thread that makes snippets (a server's pool of threads each has one).
    LIMIT = 1 << 16

    def __init__(self):
        self.table = np.full(4 * 4096, K._EMPTY, np.uint64)
        self.n = 0
        self.ids: dict[str, int] = {}           # term -> id

    def full(self) -> bool:
        return self.n >= self.LIMIT

    def enter(self, found: list[str | None], hashes, keys, key2s) -> np.ndarray:
        """The term ids of ``found`` (terms of new tokens, None: dropped), the tokens entered."""
        ids = self.ids
        out = np.empty(len(found), np.int64)
        for k, term in enumerate(found):
            if term is None:
                out[k] = -1
                continue
            i = ids.get(term)
            if i is None:
                i = ids[term] = len(ids)
            out[k] = i
        while 2 * (self.n + len(found)) > self.table.size // 4:
            self.table = K._rehash(self.table)
        self.n += int(K.memo_add(self.table, hashes, keys, key2s, out))
        return out


class Analyzer:
    """Text -> terms for one language; the same object analyzes documents and queries.

    >>> Analyzer.for_language("en").terms("The running dogs")
    ['run', 'dog']
    """

    def __init__(self, language: str = "english", *, stem: bool = True, stopwords=True,
                 fold: bool = True, max_token_chars: int = MAX_TOKEN_CHARS):
        language = (language or "").lower()
        if language == "none":
            language = ""
        if language and language not in Stemmer.algorithms():
            raise ValueError(f"unknown stemmer language {language!r}; one of "
                             f"{', '.join(Stemmer.algorithms())}, or '' for none")
        self.language = language
        self.stem = bool(stem and language)
        self.fold = bool(fold)
        self.max_token_chars = int(max_token_chars)
        if stopwords is True:
            stopwords = STOPWORDS.get(_ISO_OF_SNOWBALL.get(language, ""), ())
        words = (normalize(w, self.fold) for w in (stopwords or ()))
        self.stopwords = frozenset(w for w in words if w)
        self._local = threading.local()
        self._cache: dict[str, str | None] = {}

    @classmethod
    def for_language(cls, code: str, **kw) -> "Analyzer":
        """Analyzer for a siteinfo language code (``"en"``, ``"pt-br"``, ``"ja"`` ...).

        >>> Analyzer.for_language("el").language, Analyzer.for_language("ja").language
        ('greek', '')
        """
        iso = (code or "").lower().replace("_", "-").split("-")[0]
        name = SNOWBALL.get(iso, "")
        if name not in Stemmer.algorithms():
            name = ""
        if kw.get("stopwords", True) is True:
            kw["stopwords"] = STOPWORDS.get(iso, ())
        return cls(name, **kw)

    def to_json(self) -> dict:
        return {"version": ANALYZER_VERSION, "language": self.language, "stem": self.stem,
                "fold": self.fold, "stopwords": sorted(self.stopwords),
                "max_token_chars": self.max_token_chars, "unicode": unicodedata.unidata_version}

    @classmethod
    def from_json(cls, d: dict) -> "Analyzer":
        if int(d.get("version", 1)) > ANALYZER_VERSION:
            raise FormatTooNewError(f"analyzer version {d['version']} is newer than this "
                                    f"wikisearch understands ({ANALYZER_VERSION}); upgrade wikisearch")
        return cls(d.get("language", ""), stem=d.get("stem", True),
                   stopwords=list(d.get("stopwords", ())), fold=d.get("fold", True),
                   max_token_chars=d.get("max_token_chars", MAX_TOKEN_CHARS))

    def __getstate__(self):
        return self.to_json()

    def __setstate__(self, state):
        self.__dict__.update(Analyzer.from_json(state).__dict__)

    def __repr__(self):
        return (f"Analyzer({self.language!r}, stem={self.stem}, fold={self.fold}, "
                f"stopwords={len(self.stopwords)})")

    def __eq__(self, other):
        return isinstance(other, Analyzer) and self.to_json() == other.to_json()

    def __hash__(self):
        return hash((self.language, self.stem, self.fold, self.max_token_chars, self.stopwords))

    @property
    def _stemmer(self):
        # PyStemmer objects are not thread-safe: one per thread.
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None and self.stem:
            # maxCacheSize 0: each word comes once per call; PyStemmer's cache only costs.
            stemmer = self._local.stemmer = Stemmer.Stemmer(self.language, 0)
        return stemmer

    def _terms_of(self, tokens: list[str]) -> list[str | None]:
        """Term of each distinct token (None: dropped), through the per-analyzer cache."""
        cache = self._cache
        out = [cache.get(t, "") for t in tokens]
        missing = [k for k, term in enumerate(out) if term == ""]
        if not missing:
            return out
        normed = _normalize_many([tokens[k] for k in missing], self.fold)
        kept = [j for j, w in enumerate(normed) if w and w not in self.stopwords]
        words = [normed[j] for j in kept]
        stems = self._stemmer.stemWords(words) if self.stem else words
        found: list[str | None] = [None] * len(missing)
        for j, s in zip(kept, stems):
            found[j] = s or None
        if len(cache) + len(missing) > _CACHE_LIMIT:
            cache.clear()
        for k, term in zip(missing, found):
            out[k] = cache[tokens[k]] = term
        return out

    def analyze_texts(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Terms of many texts: ``(term_ids int32, text_index int32, vocab)``, in token order.

        >>> Analyzer().analyze_texts(["Dogs run", "the dog"])
        (array([0, 1, 0], dtype=int32), array([0, 0, 1], dtype=int32), ['dog', 'run'])
        """
        if _PYTHON_TOKENIZER:
            return self.analyze_texts_python(texts)
        buf, ends = _encode(texts)
        tok, tok_text, d_start, d_stop = K.tokenize_distinct(
            buf, ends, class_table(), self.max_token_chars)
        terms = self._terms_of(_token_strings(buf, d_start, d_stop))
        vocab: list[str] = []
        index: dict[str, int] = {}
        ids = []
        for term in terms:   # distinct tokens come in order of first occurrence
            if term is None:
                ids.append(-1)
                continue
            i = index.setdefault(term, len(vocab))
            if i == len(vocab):
                vocab.append(term)
            ids.append(i)
        term_ids, tok_text = K.remap(tok, tok_text, np.asarray(ids, np.int32))
        return term_ids, tok_text, vocab

    def analyze_texts_python(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """:meth:`analyze_texts` without the tokenizer kernels: the same arrays and vocabulary,
        from regexes over the same character classes (:func:`_token_pattern`) and the same
        per-token analysis (:meth:`_terms_of`). What a build whose kernels run as Python uses
        (the kernels as Python take 30-50 times longer); tests compare the two.

        >>> Analyzer().analyze_texts_python(["Dogs run", "the dog"])
        (array([0, 1, 0], dtype=int32), array([0, 0, 1], dtype=int32), ['dog', 'run'])
        """
        bmp = _token_pattern(False)
        limit = self.max_token_chars
        tokens: list[str] = []
        counts = []
        for text in texts:
            found = (bmp if text.isascii() or max(text, default="") <= "\uffff" else
                     _token_pattern(True)).findall(text)
            if found and max(map(len, found)) > limit:     # dropped whole, as the kernels do
                found = [w for w in found if len(w) <= limit]
            counts.append(len(found))
            tokens.extend(found)
        # A term's vocabulary id is in order of its first token, as the kernels number them
        # (they tell tokens apart with ASCII case folded, here exactly: the same terms).
        distinct = list(dict.fromkeys(tokens))
        vocab: list[str] = []
        index: dict[str, int] = {}
        ids: dict[str, int] = {}
        for token, term in zip(distinct, self._terms_of(distinct)):
            if term is None:
                ids[token] = -1
                continue
            i = index.setdefault(term, len(vocab))
            if i == len(vocab):
                vocab.append(term)
            ids[token] = i
        term_ids = np.fromiter(map(ids.__getitem__, tokens), np.int32, len(tokens))
        text_index = np.repeat(np.arange(len(texts), dtype=np.int32), counts)
        kept = term_ids >= 0
        return term_ids[kept], text_index[kept], vocab

    def plain_word_terms(self, words: list[str]) -> list[tuple[str, ...]] | None:
        """:meth:`analyze_texts`'s terms of each of ``words`` without the tokenizer kernels, when
        every word is ASCII; None otherwise. In ASCII the tokenizer's WORD class is exactly the
        letters and digits (``class_table``; every other ASCII character separates), so a word's
        tokens are its runs of ``[A-Za-z0-9]``, those longer than ``max_token_chars`` dropped. A
        query's words are mostly such words (``role.``, ``Years'``, ``U.S.`` included): this skips
        three kernel calls and their arrays per query (tests compare it with ``analyze_texts``).

        >>> Analyzer("english").plain_word_terms(["Dogs", "the", "run1", "AC/DC?"])
        [('dog',), (), ('run1',), ('ac', 'dc')]
        """
        if not all(w.isascii() for w in words):
            return None
        limit = self.max_token_chars
        if all(w.isalnum() for w in words):      # (most: one token each)
            kept = [w for w in words if len(w) <= limit]
            terms = dict(zip(kept, self._terms_of(kept)))
            return [(t,) if (t := terms.get(w)) else () for w in words]
        tokens = [(w,) if w.isalnum() else _ASCII_TOKEN.findall(w) for w in words]
        flat = [t for ts in tokens for t in ts if len(t) <= limit]
        terms = dict(zip(flat, self._terms_of(flat)))       # (a token over the limit: no term)
        return [((t,) if (t := terms.get(ts[0])) else ()) if len(ts) == 1 else
                tuple(term for t in ts if (term := terms.get(t))) for ts in tokens]

    def terms(self, text: str) -> list[str]:
        """Query-time analysis, with the same kernels as indexing.

        >>> Analyzer("english").terms("O'Neil's 1984")
        ['o', 'neil', '1984']
        """
        term_ids, _, vocab = self.analyze_texts([text])
        return [vocab[i] for i in term_ids.tolist()]

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, term)`` in characters of ``text`` for every token kept.

        >>> Analyzer().spans("the Café")
        [(4, 8, 'cafe')]
        """
        buf, ends = _encode([text])
        starts, stops, _ = K.token_spans(buf, ends, class_table(), self.max_token_chars)
        terms = self._terms_of(_token_strings(buf, starts, stops))
        chars = np.zeros(buf.size + 1, np.int64)   # chars[b]: characters before byte b
        np.cumsum((buf & 0xC0) != 0x80, out=chars[1:])
        return [(int(chars[a]), int(chars[b]), term)
                for a, b, term in zip(starts.tolist(), stops.tolist(), terms) if term is not None]

    def find_terms(self, text: str, terms, positions: bool = True
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where ``terms`` (analyzed terms) occur in ``text``: ``(starts, ends, which, position)``,
        int64 arrays in text order: character offsets of each matching token, the index in
        ``terms`` of its term, and its position among the tokens kept by analysis (consecutive
        positions: consecutive terms, as phrases are matched). Only the text's distinct tokens
        are analyzed (through the cache); the tokens themselves stay numpy arrays. With
        ``positions=False`` the positions count every token (stopwords too), and where the
        stemmer keeps first letters (every language but Indonesian and Irish), distinct tokens
        whose first letter no term has are not analyzed at all.

        >>> Analyzer().find_terms("The runner runs; running", ["run"])[:3]
        (array([11, 17]), array([15, 24]), array([0, 0]))
        >>> Analyzer().find_terms("Runs, ran, and ran", ["run", "ran"])[2]
        array([0, 1, 1])
        """
        return self.find_terms_many([text], terms, positions)[0]

    def find_terms_many(self, texts: list[str], terms, positions: bool = True
                        ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`find_terms` of each of ``texts``, in one pass: one tokenizer call over all of
        them (token spans and distinct tokens together), and the distinct tokens of all the
        texts analyzed once (a search's snippets share most of their words).

        >>> [w.tolist() for _, _, w, _ in Analyzer().find_terms_many(["dogs run", "a dog"], ["dog"])]
        [[0], [0]]
        """
        if not terms or not any(texts):
            empty = np.zeros(0, np.int64)
            return [(empty, empty, empty, empty)] * len(texts)
        buf, ends = _encode(list(texts))
        return self.find_terms_encoded(buf, ends, terms, positions)[0]

    def find_terms_encoded(self, buf: np.ndarray, ends: np.ndarray, terms, positions: bool | None = True,
                           flat: bool = False):
        """:meth:`find_terms_many` of the texts ``buf[ends[t-1]:ends[t]]`` (UTF-8, ``uint8``;
        ``ends``: ``int64``), offsets in characters of each text, and the length of each text
        in characters: ``(found, text_chars)``. A token's term is looked up in a memo kept per
        thread (tokens of up to 15 bytes, keyed by their bytes with ASCII lowercased, as the
        tokenizer tells tokens apart); only the tokens it lacks are analyzed (and entered).
        ``positions=None``: the matches of ``positions=False`` with every position 0 (no
        ordinals are counted: the ASCII text between possible matches is passed fast).
        ``flat``: the texts' matches not cut apart, ``((starts, ends, which, positions, cuts),
        text_chars)``, text ``t``'s matches ``[cuts[t - 1], cuts[t])``.

        >>> [w.tolist() for _, _, w, _ in Analyzer().find_terms_encoded(
        ...     np.frombuffer(b"dogs runa dog", np.uint8), np.array([8, 13]), ["dog"])[0]]
        [[0], [0]]
        """
        empty = np.zeros(0, np.int64)
        none = (empty, empty, empty, empty)
        n_texts = len(ends)
        if flat:
            none_flat = none + (np.zeros(n_texts, np.int64),)
        buf = readonly(buf)                     # as the store's bytes are: one compilation
        # first bytes of the tokens that may match: all, or the terms' first letters (either
        # case) and every non-ASCII byte
        restricted = not positions and self.language not in _PREFIXING_STEMMERS and \
            all(t and ord(t[0]) < 128 for t in terms)
        if restricted:
            wanted = _NON_ASCII_BYTES.copy()
            firsts = {t[0] for t in terms}
            wanted[[ord(c) for c in firsts] + [ord(c) - 32 for c in firsts if "a" <= c <= "z"]] = True
        else:
            wanted = np.ones(256, bool)
        memo = self._term_memo()
        # the tokens are told apart in a table of this call's own (small: it stays in cache),
        # and the memo (large) is asked once per distinct token, not once per token
        if positions is None:                   # no positions: ASCII text passed fast
            pairs = self._first_pairs(terms) if restricted else _ALL_PAIRS
            (code, starts, stops, text_tok_ends, text_chars, d_start, d_stop, d_hash, d_key,
             d_key2) = K.tokenize_wanted_spans(buf, ends, class_table(), self.max_token_chars, wanted,
                                               pairs)
            ordinal, text_first = np.zeros(len(code), np.int64), np.zeros(n_texts, np.int64)
        else:
            (code, starts, stops, ordinal, text_tok_ends, text_first, text_chars, d_start, d_stop,
             d_hash, d_key, d_key2) = K.tokenize_distinct_spans(
                buf, ends, class_table(), self.max_token_chars, wanted)
        if not terms or code.size == 0:
            return (none_flat if flat else [none] * n_texts), text_chars
        dist = K.memo_get_many(memo.table, d_hash, d_key, d_key2)
        miss = np.flatnonzero(dist == -2)
        if miss.size:                           # tokens the memo lacks: analyzed, then entered
            dist[miss] = memo.enter(self._terms_of(_token_strings(buf, d_start[miss], d_stop[miss])),
                                    d_hash[miss], d_key[miss], d_key2[miss])
        # each token's term id in the memo (-1: dropped by analysis); the matches are selected
        # in one kernel pass (tests: find_terms_many against spans_slow)
        ids = memo.ids
        term_codes = np.fromiter((ids.get(t, -9) for t in terms), np.int64, len(terms))
        s, e, w, position, cut = K.select_matches(code, dist, starts, stops, ordinal, text_tok_ends,
                                                  text_first, term_codes, bool(positions))
        if flat:
            return (s, e, w, position, cut), text_chars
        if s.size == 0:
            return [none] * n_texts, text_chars
        out, a = [], 0
        for b in cut.tolist():
            out.append((s[a:b], e[a:b], w[a:b], position[a:b]) if b > a else none)
            a = b
        return out, text_chars

    def first_pairs_kept(self) -> bool:
        """Does every term start with the first two letters of the words it comes from (but the
        others :data:`_TWO_LETTER_STEMMERS` names)? (no stemmer, or a listed one)"""
        return not self.stem or self.language in _TWO_LETTER_STEMMERS

    def _first_pairs(self, terms) -> np.ndarray:
        """bool[128 * 128]: may an ASCII token whose first two bytes are (lowercased) ``a``, ``b``
        analyze to one of ``terms`` (index ``128 * a + b``)? All true when the stemmer is not
        known to keep first letters."""
        if not self.first_pairs_kept():
            return _ALL_PAIRS
        pairs = bytearray(128 * 128)
        other = _TWO_LETTER_STEMMERS[self.language] if self.stem else (lambda t: ())
        for t in terms:
            if not t or ord(t[0]) >= 128:
                return _ALL_PAIRS
            if len(t) < 2 or ord(t[1]) >= 128:  # any second letter
                pairs[128 * ord(t[0]):128 * ord(t[0]) + 128] = b"\x01" * 128
                continue
            for p in (t[:2],) + other(t):
                pairs[128 * ord(p[0]) + ord(p[1])] = 1
        return np.frombuffer(pairs, bool)

    def _term_memo(self) -> "_TermMemo":
        memo = getattr(self._local, "memo", None)   # one per thread: kernels fill it
        if memo is None or memo.full():
            memo = self._local.memo = _TermMemo()
        return memo

    def analyze_slow(self, text: str) -> list[str]:
        """Plain-Python oracle (regex over a string of character classes): equals :meth:`terms`."""
        return [term for _, _, term in self.spans_slow(text)]

    def spans_slow(self, text: str) -> list[tuple[int, int, str]]:
        """Plain-Python oracle of :meth:`spans`."""
        classes = "".join([_CLASS_LETTERS[char_class(ch)] for ch in text])
        stemmer = Stemmer.Stemmer(self.language) if self.stem else None
        out = []
        for m in _TOKEN_RE.finditer(classes):
            if m.end() - m.start() > self.max_token_chars:
                continue
            word = normalize(text[m.start():m.end()], self.fold)
            if not word or word in self.stopwords:
                continue
            if stemmer is not None:
                word = stemmer.stemWord(word)
            if word:
                out.append((m.start(), m.end(), word))
        return out


def warmup() -> None:
    """Compile (or load from cache) the kernels and build the class table."""
    Analyzer("").analyze_texts(["warm up 日本"])
    Analyzer("").spans("warm up")
