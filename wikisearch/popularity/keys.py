"""keys: the folded key of a title, a redirect title or a typed prefix, for title suggestions.

>>> suggest_key("Jean-Paul Sartre"), suggest_key("U.S. Route 66"), prefix_key("lata ")
('jean paul sartre', 'us route 66', 'lata ')

A key is the text's words folded as the analyzer folds a word (case, compatibility forms,
diacritics; no stemming, no stopwords), punctuation a word break (apostrophes and periods
dropped: "Alzheimer's" -> "alzheimers"), joined by one space. ``suggest.py`` searches them;
``suggest_table.py`` makes the index's sorted table of them.
"""
from __future__ import annotations

import re

from wikisearch.analysis.analyzer import normalize

#: Characters that break words in keys ("-" "/" "," ...); apostrophes and periods join.
_BREAK = "!\"#$%&()*+,-/:;<=>?@[\\]^_`{|}~\u00a0\u00ab\u00b7\u00bb\u2010\u2011\u2012\u2013\u2014\u2015" \
         "\u2018\u201c\u201d\u201e\u2022\u2026\u2032\u2212\u3000\u3001\u3002\uff0c"
_JOIN = "'.\u2019\u02bc"
_TABLE = str.maketrans({**{c: " " for c in _BREAK}, **{c: None for c in _JOIN}})
_BREAK_RE = re.compile("[" + re.escape(_BREAK) + "]")
_JOIN_RE = re.compile("[" + re.escape(_JOIN) + "]")


def suggest_key(text: str, cache: dict | None = None) -> str:
    """The folded key of a title or typed prefix.

    >>> suggest_key("Lata  Mangeshkar"), suggest_key("Jean-Paul Sartre"), suggest_key("Éire")
    ('lata mangeshkar', 'jean paul sartre', 'eire')
    """
    words = []
    for w in text.translate(_TABLE).split():
        n = cache.get(w) if cache is not None else None
        if n is None:
            n = normalize(w)
            if cache is not None:
                cache[w] = n
        if n:
            words.append(n)
    return " ".join(words)


def suggest_keys(texts: list[str]) -> list[str]:
    """:func:`suggest_key` of every text of ``texts``, the same keys made in one pass: the texts
    joined as one string, word breaks and joins replaced by two regular expressions over all of
    it (``str.translate`` with a table goes character by character in Python's slow path), an
    ASCII text's words lower-cased with the whole string (what :func:`normalize` does to an ASCII
    word), other texts' distinct words folded once each -- 4x faster than ``translate`` and a
    fold per word on an index's titles (a server builds them at every start without priors.bin).

    >>> suggest_keys(["Lata  Mangeshkar", "Éire", "U.S. Route 66", ""])
    ['lata mangeshkar', 'eire', 'us route 66', '']
    """
    joined = "\n".join(texts)
    if joined.count("\n") != max(len(texts) - 1, 0):    # a text with a line break: one by one
        cache: dict = {}
        return [suggest_key(t, cache) for t in texts]
    if not texts:
        return []
    joined = _JOIN_RE.sub("", _BREAK_RE.sub(" ", joined))
    folded: dict = {}
    out = []
    for line, low in zip(joined.split("\n"), joined.lower().split("\n")):   # lower() keeps every "\n"
        if line.isascii():
            out.append(" ".join(low.split()))
            continue
        words = []
        for w in line.split():
            n = folded.get(w)
            if n is None:
                n = folded[w] = normalize(w)
            if n:
                words.append(n)
        out.append(" ".join(words))
    return out


def prefix_key(text: str) -> str:
    """A typed prefix's key: like :func:`suggest_key`, but a trailing space is kept ("lata " must
    complete "lata mangeshkar", not "latakia")."""
    key = suggest_key(text)
    if key and text and text.translate(_TABLE)[-1:].isspace():
        key += " "
    return key
