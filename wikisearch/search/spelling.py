"""spelling: "did you mean" for a whole query, from the index's own words
(:class:`~wikisearch.popularity.spelling.SpellingDictionary`), titles and redirects.

A word of the query is *doubtful* when its term is in no document, or in few
(``RARE_DOCS``) while a word within reach is ``RATIO`` times more common. Only then is the
dictionary loaded and the query corrected, so a query of well-known words costs a few dictionary
look-ups of document frequencies, already made by the search. Each doubtful word gets up to
``PER_WORD`` candidates (itself among them when it is known); every combination of them is scored
as a phrase (:meth:`Corrector.correct`): the words' own scores, plus a bonus when the corrected
phrase begins a title or redirect title (``napolean bonaparte`` -> ``Napoleon Bonaparte``), plus
how many documents hold all the corrected words together (each word in the context of the
others). Operators, prefixes (``t:``), quotes and the case of each word are kept.
"""
from __future__ import annotations

import itertools
import math
import re

import numpy as np

from wikisearch.analysis.analyzer import normalize
from wikisearch.search import _search_kernels as SK

#: A term in at most this many documents is rare (its word may be a typo of a common one).
RARE_DOCS = 3
#: A rare known word is corrected only to a word this many times more common.
RATIO = 50.0
#: Candidates kept per doubtful word, and doubtful words corrected per query.
PER_WORD = 4
MAX_WORDS = 6
#: Score bonus when the corrected words begin a title or redirect title (in the same order).
TITLE_BONUS = 3.0
#: Weight of log(1 + documents holding all corrected words) in a combination's score.
CONTEXT = 0.5
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['\u2019][^\W\d_]+)?")
_OPERATORS = frozenset(("AND", "OR", "NOT"))


def _recase(original: str, word: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class Corrector:
    """Query correction over one index. ``doc_freq(term)``: documents holding an analyzed term;
    ``docs(term)``: their sorted docids; ``dictionary()``: the spelling dictionary (loaded on
    first need; None while it is not ready: no correction then); ``title_prefix(text)``: does
    some title or redirect title start with ``text``."""

    def __init__(self, analyzer, doc_freq, docs, dictionary, title_prefix):
        self.analyzer = analyzer
        self.doc_freq = doc_freq
        self.docs = docs
        self._dictionary = dictionary
        self.title_prefix = title_prefix

    def words(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, word) of the query's words that a correction may change: not operators,
        not field prefixes (``t:``), not after ``-``."""
        out = []
        for m in _WORD.finditer(text):
            a, b = m.span()
            w = m.group()
            if w in _OPERATORS or text[b:b + 1] == ":" or (a and text[a - 1] == "-"):
                continue
            out.append((a, b, w))
        return out

    def doubtful(self, text: str) -> bool:
        """Cheap test (no dictionary): does some word of the query look misspelt?"""
        for _a, _b, w in self.words(text):
            for t in self.analyzer.terms(w):
                if self.doc_freq(t) <= RARE_DOCS:
                    return True
        return False

    def _options(self, d, word: str) -> list[tuple[str, float]]:
        """(folded replacement, score) for one query word: itself alone when it is sure."""
        folded = normalize(word)
        terms = self.analyzer.terms(word)
        df = max((self.doc_freq(t) for t in terms), default=RARE_DOCS + 1)
        own = d.count(folded)
        if not terms or df > RARE_DOCS or not folded:
            return [(folded, 0.0)]
        cands = d.candidates(folded, PER_WORD + 1)
        out = [(folded, d.score(own, 0.0) if df else -1e9)]
        for w, cost, n in cands:
            if w == folded:
                continue
            if df and n < RATIO * max(own, 1):   # a known word: only far more common ones
                continue
            out.append((w, d.score(n, cost)))
        return out[:PER_WORD + 1]

    def correct(self, text: str) -> str | None:
        """The corrected query, or None when it is best as typed."""
        words = self.words(text)
        if not words or not self.doubtful(text):
            return None
        d = self._dictionary()
        if d is None:                        # not ready (a server's builder is making it): as typed
            return None
        options = [self._options(d, w) for _a, _b, w in words]
        changeable = [i for i, o in enumerate(options) if len(o) > 1]
        if not changeable:
            return None
        changeable = changeable[:MAX_WORDS]
        best, best_score = None, -math.inf
        for combo in itertools.product(*[range(len(options[i])) for i in changeable]):
            choice = [o[0][0] for o in options]
            score = 0.0
            for i, j in zip(changeable, combo):
                choice[i] = options[i][j][0]
                score += options[i][j][1]
            score += self._context(choice)
            if score > best_score + 1e-9:
                best, best_score = choice, score
        folded = [normalize(w) for _a, _b, w in words]
        if best is None or best == folded:
            return None
        out, pos = [], 0
        for (a, b, w), new, old in zip(words, best, folded):
            out.append(text[pos:a])
            out.append(w if new == old else _recase(w, new))
            pos = b
        out.append(text[pos:])
        return "".join(out)

    def _context(self, words: list[str]) -> float:
        """What the words together add: a title starting with them; documents holding them all."""
        score = TITLE_BONUS if len(words) > 1 and self.title_prefix(" ".join(words)) else 0.0
        terms = [t for w in words for t in self.analyzer.terms(w)]
        if len(terms) > 1:
            docs = None
            for t in dict.fromkeys(terms):
                if self.doc_freq(t) == 0:
                    return score
            for t in sorted(dict.fromkeys(terms), key=self.doc_freq):
                got = self.docs(t)
                docs = got if docs is None else SK.intersect_sorted(docs, got)
                if not len(docs):
                    break
            score += CONTEXT * math.log1p(len(docs) if docs is not None else 0)
        return score


_NO_DOCS = np.zeros(0, np.int32)
