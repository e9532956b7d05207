"""phrase: does a document hold a phrase? Checked in its stored text, after analysis, within one
line of the list-like fields; :class:`PhraseCheck` decides the matches of a query that hinge on
phrases, document by document, caching what it has read."""
from __future__ import annotations

import numpy as np

from wikisearch.config import FIELDS
from wikisearch.search.query import Literal, Query

#: Phrase checks done to count matches exactly; past this, ``total_relation`` is "gte".
MAX_PHRASE_CHECKS = 200


class PhraseCheck:
    """Decides, document by document, the matches that hinge on phrases (verified in stored text)."""

    def __init__(self, reader, analyzer, literal_docs, q: Query, clause_docs, plain, flags: dict):
        self.reader = reader
        self.analyzer = analyzer
        self.literal_docs = literal_docs     # Literal -> its documents (all words, in its fields)
        self.q = q
        self.clause_docs = clause_docs
        self.plain = plain
        self.flags = flags
        self.neg_phrases = [l for l in q.excluded if l.phrase]
        self.needed = any(l.phrase for l in q.literals) or bool(self.neg_phrases)
        self.checks = 0
        self.fallback = False
        self._cache: dict = {}
        self._docs: dict = {}
        self._texts: dict = {}

    def matches(self, d: int) -> bool:
        if not self.needed:
            return True
        if d in self._cache:
            return self._cache[d]
        ok = _contains(self.plain, d)
        if not ok:
            for clause, docs in zip(self.q.clauses, self.clause_docs):
                if _contains(docs, d) and all(self._phrase(l, d) for l in clause if l.phrase):
                    ok = True
                    break
        if ok and any(self._phrase(l, d) for l in self.neg_phrases):
            ok = False
        self._cache[d] = ok
        return ok

    def _phrase(self, lit: Literal, d: int) -> bool:
        key = (lit, d)
        if key in self._cache:
            return self._cache[key]
        self.checks += 1
        texts = self._texts.get(d, False)
        if texts is False:
            texts = self.reader.stored_text(d)
            if len(self._texts) > 64:
                self._texts.clear()
            self._texts[d] = texts
        if texts is None:                    # no stored text: all the words (in the fields) will do
            self.fallback = True
            self.flags["phrase_fallback"] = True
            if lit not in self._docs:
                self._docs[lit] = self.literal_docs(lit)
            ok = _contains(self._docs[lit], d)
        else:
            ok = has_phrase(self.analyzer, texts, lit.terms, lit.fields or FIELDS)
        self._cache[key] = ok
        return ok


#: Fields whose text is a list of names, one per line: a phrase must not run across two names.
_LIST_FIELDS = frozenset(("title", "redirect", "heading", "category", "link", "infobox"))


def _contains(sorted_docs: np.ndarray, d: int) -> bool:
    i = int(np.searchsorted(sorted_docs, d))
    return i < len(sorted_docs) and int(sorted_docs[i]) == d


def has_phrase(analyzer, texts: dict[str, str], terms: tuple[str, ...], fields) -> bool:
    """Do ``terms`` occur consecutively, after analysis, in one of ``fields`` of ``texts``
    (within one line of the list-like fields: titles, categories, links)?

    >>> from wikisearch.search.query import SimpleAnalyzer
    >>> has_phrase(SimpleAnalyzer(), {"body": "the Bank of America tower"}, ("bank", "america"), ["body"])
    True
    """
    lines = []
    for f in fields:
        text = texts.get(f, "")
        if text:
            lines.extend(text.split("\n") if f in _LIST_FIELDS else (text,))
    if not lines:
        return False
    n = len(terms)
    batch = getattr(analyzer, "analyze_texts", None)
    if batch is None:                         # an analyzer without batching (tests)
        for line in lines:
            toks = analyzer.terms(line)
            if any(tuple(toks[i:i + n]) == terms for i in range(len(toks) - n + 1)):
                return True
        return False
    term_ids, line_of, vocab = batch(lines)   # one tokenizer call for every line
    index = {t: i for i, t in enumerate(vocab)}
    ids = [index.get(t, -1) for t in terms]
    m = len(term_ids) - n + 1
    if -1 in ids or m <= 0:
        return False
    ok = term_ids[:m] == ids[0]
    for j in range(1, n):
        ok &= term_ids[j:m + j] == ids[j]
    ok &= line_of[:m] == line_of[n - 1:]
    return bool(ok.any())
