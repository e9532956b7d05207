"""query: the query language, text -> :class:`Query` (an OR of AND-clauses, plus exclusions).

Syntax (close to Wikipedia's CirrusSearch, but free text means OR)::

    vietnam war movie            any of the words; pages matching more words rank higher
    vietnam AND war OR movie     AND binds tighter than OR: (vietnam AND war) OR movie
    -term   NOT term             leave out every page containing the term (anywhere in the query)
    "exact words"                a phrase: the words in this order in one field
    t:merkel   b:chancellor      field words (config.FIELD_GROUPS): the next word or phrase,
                                 matched and scored in those fields: t: b: i: c: l: r: insource:
    intitle:merkel               filters, as in Wikipedia's search: every result must have the word
    incategory:"Indian singers"  (or phrase) in its title, categories or links, and they add
    linksto:Germany              nothing to scores; a query of filters alone lists what they let
                                 through (score 0, plus the popularity prior if the index has one)

Forgiving by design: an unknown prefix (``foo:bar``) is searched as plain words, an unbalanced
quote is ignored, dangling operators and prefixes are dropped; each such repair adds a warning.
:class:`~wikisearch.errors.InvalidQueryError` is raised only when nothing is left to search for
(empty query, only stopwords, only exclusions).

A word the analyzer splits into several terms (``e-mail``, ``AC/DC``) stands for all its terms
where it must match (inside AND, after NOT or a prefix joined with AND), and for any of them when it
stands alone in its clause. ``Indian_singers`` reads as ``Indian singers``; after ``incategory:``
and ``linksto:`` a name is a phrase.

>>> q = parse_query('t:merkel "federal chancellor" -kohl', SimpleAnalyzer())
>>> str(q)
't:merkel OR "federal chancellor" -kohl'
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from wikisearch.config import FIELD_GROUPS, FIELDS
from wikisearch.errors import InvalidQueryError

#: Distinct positive terms kept from one query; the rest are dropped with a warning.
MAX_TERMS = 1024
#: Prefixes whose value is a page or category name, so a multi-word value is a phrase.
NAME_PREFIXES = ("incategory", "linksto")
#: Prefixes that filter (restrict the results, score nothing) instead of scoring a word.
FILTER_PREFIXES = ("intitle", "incategory", "linksto")
OPERATORS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT"}
#: English function words dropped from free-text queries that have other words (the index keeps
#: them: "The Who" still finds the band). On DBpedia-Entity v2 this leaves nDCG@10 unchanged
#: (0.5888 -> 0.5886) and cuts mean latency by a third: "Which countries have more than two
#: official languages?" no longer decodes the postings of which/have/more/than.
QUERY_STOPWORDS = {"english": frozenset("""
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves""".split())}
_NON_WORD = re.compile(r"\W+")
_PREFIX = re.compile(r"([A-Za-z]+):")
_WORD_END = re.compile(r'[\s"]')


@dataclass(frozen=True)
class Literal:
    """One word or phrase of a query, after analysis.

    ``terms`` are analyzed terms (at least one); ``fields`` the fields it may match in (None: all);
    ``phrase``: the terms must be consecutive within one field.
    """

    terms: tuple[str, ...]
    fields: tuple[str, ...] | None = None
    phrase: bool = False
    text: str = ""

    def __str__(self) -> str:
        body = " ".join(self.terms)
        body = f'"{body}"' if self.phrase or len(self.terms) > 1 else body
        return f"{_prefix_name(self.fields)}:{body}" if self.fields is not None else body


@dataclass(frozen=True)
class Query:
    """A parsed query: documents matching any clause (all literals of it) and every filter,
    minus ``excluded``. Clauses score; filters (``intitle:`` ``incategory:`` ``linksto:``) only
    restrict; with no clause, the documents passing every filter match (unscored)."""

    text: str
    clauses: tuple[tuple[Literal, ...], ...]
    excluded: tuple[Literal, ...] = ()
    warnings: tuple[str, ...] = ()
    filters: tuple[Literal, ...] = ()

    @property
    def literals(self) -> list[Literal]:
        """Positive literals of all clauses, in query order."""
        return [lit for clause in self.clauses for lit in clause]

    def scoring_terms(self) -> list[tuple[str, tuple[str, ...] | None]]:
        """Distinct (term, fields) pairs whose postings a search reads, in order of first
        appearance: the clauses' (they score), then the filters' that no clause has (they do not
        score: :meth:`filter_only_terms`)."""
        seen: dict = {}
        for lit in self.literals + list(self.filters):
            for t in lit.terms:
                seen.setdefault((t, lit.fields), None)
        return list(seen)

    def filter_only_terms(self) -> set[tuple[str, tuple[str, ...] | None]]:
        """The (term, fields) pairs of :meth:`scoring_terms` that add nothing to scores."""
        scored = {(t, lit.fields) for lit in self.literals for t in lit.terms}
        return {(t, lit.fields) for lit in self.filters for t in lit.terms} - scored

    def with_filters_in_clauses(self) -> "Query":
        """The same matches with the filters written into every clause (``a OR b`` filtered by
        ``f`` is ``(a AND f) OR (b AND f)``; filters alone are one clause): the form a boolean
        matcher (and its phrase checks) understands. Scores must still leave
        :meth:`filter_only_terms` out."""
        if not self.filters:
            return self
        clauses = tuple(c + self.filters for c in self.clauses) or (self.filters,)
        return replace(self, clauses=clauses, filters=())

    @property
    def is_disjunction(self) -> bool:
        """True if every clause is one single-term word and nothing filters: a plain OR of terms
        (the fast path)."""
        return not self.filters and all(len(c) == 1 and len(c[0].terms) == 1 for c in self.clauses)

    @property
    def has_phrases(self) -> bool:
        return any(lit.phrase for lit in self.literals + list(self.filters) + list(self.excluded))

    def with_default_fields(self, fields: tuple[str, ...] | None) -> "Query":
        """The same query with ``fields`` applied to every literal that has no prefix of its own."""
        if fields is None:
            return self
        fix = lambda lit: lit if lit.fields is not None else replace(lit, fields=fields)
        return replace(self, clauses=tuple(tuple(fix(l) for l in c) for c in self.clauses),
                       excluded=tuple(fix(l) for l in self.excluded))

    def __str__(self) -> str:
        parts = []
        for clause in self.clauses:
            s = " AND ".join(str(lit) for lit in clause)
            parts.append(f"({s})" if len(clause) > 1 and len(self.clauses) > 1 else s)
        return " ".join([" OR ".join(parts)] + [_filter_str(lit) for lit in self.filters]
                        + [f"-{lit}" for lit in self.excluded]).strip()

    def to_json(self) -> dict:
        lit = lambda l: {"terms": list(l.terms), "fields": list(l.fields) if l.fields else None,
                         "phrase": l.phrase}
        return {"text": self.text, "clauses": [[lit(l) for l in c] for c in self.clauses],
                "filters": [lit(l) for l in self.filters],
                "excluded": [lit(l) for l in self.excluded], "warnings": list(self.warnings)}


def _filter_str(lit: Literal) -> str:
    name = next((p for p in FILTER_PREFIXES if FIELD_GROUPS[p] == lit.fields), _prefix_name(lit.fields))
    body = " ".join(lit.terms)
    return f'{name}:"{body}"' if lit.phrase or len(lit.terms) > 1 else f"{name}:{body}"


def _prefix_name(fields: tuple[str, ...] | None) -> str:
    for name, group in FIELD_GROUPS.items():
        if group == fields:
            return name
    return "+".join(fields or ())


def resolve_fields(fields) -> tuple[str, ...] | None:
    """Field names and/or prefixes (``["title", "c"]``) -> a tuple of field names (None: all)."""
    if fields is None:
        return None
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    out: list[str] = []
    for name in fields:
        group = FIELD_GROUPS.get(name) or ((name,) if name in FIELDS else None)
        if group is None:
            raise InvalidQueryError(f"unknown field {name!r}; known fields: {', '.join(FIELDS)}; "
                                    f"prefixes: {', '.join(FIELD_GROUPS)}")
        out.extend(f for f in group if f not in out)
    if not out:
        raise InvalidQueryError("empty field list")
    return tuple(f for f in FIELDS if f in out)


# --- lexer ---------------------------------------------------------------------------------------
@dataclass
class _Token:
    kind: str                      # "word", "phrase", "op"
    text: str
    negated: bool = False
    prefix: str | None = None


def _plain_words(text: str) -> list[str] | None:
    """The words of a text of plain words (no quote, colon, leading minus or operator: most
    queries), else None."""
    if '"' not in text and ":" not in text:     # (str.split and regex \s: the same whitespace)
        words = text.split()
        if not any(w[0] == "-" or w in OPERATORS for w in words):
            return words
    return None


def _lex_all(text: str, warnings: list[str]) -> list[_Token]:
    """The lexer for any text (:func:`parse_query` takes a short cut for plain words,
    :func:`_plain_words`; tests compare)."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    pending_prefix: str | None = None
    pending_neg = False
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        neg, prefix = pending_neg, pending_prefix
        pending_neg, pending_prefix = False, None
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            neg, i = True, i + 1
        m = _PREFIX.match(text, i)
        if m:
            name = m.group(1) if len(m.group(1)) == 1 else m.group(1).lower()
            if name in FIELD_GROUPS:
                prefix, i = name, m.end()
                if i >= n or text[i].isspace():      # "c: foo" -> applies to foo; "c:" at the end
                    pending_prefix, pending_neg = prefix, neg
                    if text[i:].strip() == "":
                        warnings.append(f"field prefix '{name}:' has nothing after it; ignored")
                    continue
            elif m.end() < n and not text[m.end()].isspace() and name.lower() not in ("http", "https"):
                warnings.append(f"unknown field prefix '{m.group(1)}:' searched as words "
                                f"(known: {', '.join(p + ':' for p in FIELD_GROUPS)})")
        if i < n and text[i] == '"':
            j = text.find('"', i + 1)
            if j < 0:
                warnings.append("unbalanced quote ignored: the rest is searched as words")
                pending_neg, pending_prefix = neg, prefix
                i += 1
                continue
            tokens.append(_Token("phrase", text[i + 1:j], neg, prefix))
            i = j + 1
            continue
        m = _WORD_END.search(text, i)
        j = m.start() if m else n
        word = text[i:j]
        i = j
        if not word:
            continue
        op = OPERATORS.get(word)
        if op and not neg and prefix is None:
            if op == "NOT":
                pending_neg = True
            else:
                tokens.append(_Token("op", op))
            continue
        tokens.append(_Token("word", word, neg, prefix))
    if pending_neg:
        warnings.append("NOT/- with nothing after it ignored")
    return tokens


# --- parser --------------------------------------------------------------------------------------
def parse_query(text: str, analyzer, *, max_terms: int = MAX_TERMS,
                query_stopwords: bool = True, word_cache: dict | None = None) -> Query:
    """Parse ``text`` with ``analyzer`` (the index's) into a :class:`Query`.

    ``word_cache`` (a dict the caller keeps for this analyzer, bounded here) remembers the terms
    of each word, so words seen before are not analyzed again.

    >>> str(parse_query("vietnam AND war movie", SimpleAnalyzer()))
    '(vietnam AND war) OR movie'
    """
    if not isinstance(text, str):
        raise InvalidQueryError(f"query must be a string, not {type(text).__name__}")
    if not text.strip():
        raise InvalidQueryError("empty query")
    warnings: list[str] = []
    words = _plain_words(text)
    if words is not None:
        return _parse_plain(text, words, _analyze_many(analyzer, [w.replace("_", " ") for w in words],
                                                       word_cache), analyzer, max_terms, query_stopwords)
    tokens = _lex_all(text, warnings)
    clauses: list[list[Literal]] = []
    excluded: list[Literal] = []
    filters: list[Literal] = []
    current: list[Literal] = []
    pending_and = False
    dropped: list[str] = []
    seen_terms: set[str] = set()
    n_terms_over = 0
    analyzed = _analyze_many(analyzer, [t.text.replace("_", " ") for t in tokens if t.kind != "op"],
                             word_cache)
    analyzed.reverse()
    def is_filter(i: int) -> bool:
        return 0 <= i < len(tokens) and tokens[i].kind != "op" and _is_filter(tokens[i])

    for pos, tok in enumerate(tokens):
        if tok.kind == "op" and (is_filter(pos - 1) or is_filter(pos + 1)):
            if tok.text == "OR":                 # AND is what a filter means anyway
                warnings.append("OR beside a filter (intitle:, incategory:, linksto:) ignored: "
                                "filters apply to the whole query")
            continue
        if tok.kind == "op":
            if tok.text == "AND":
                if not current or pos + 1 >= len(tokens) or tokens[pos + 1].kind == "op":
                    warnings.append("AND without a term on both sides ignored")
                else:
                    pending_and = True
            else:
                pending_and = False
                if (not current and not clauses) or pos + 1 >= len(tokens):
                    warnings.append("OR without a term on both sides ignored")
            continue
        lit = _literal(tok, analyzed.pop())
        if lit is None:
            dropped.append(tok.text)
            pending_and = False
            continue
        if tok.negated:
            excluded.append(lit)
            pending_and = False
            continue
        new = [t for t in lit.terms if t not in seen_terms]
        if len(seen_terms) + len(set(new)) > max_terms:
            n_terms_over += len(set(new))
            pending_and = False
            continue
        seen_terms.update(new)
        if _is_filter(tok):
            filters.append(lit)
            continue
        if pending_and:
            current.append(lit)
            pending_and = False
        else:
            if current:
                clauses.append(current)
            current = [lit]
    if current:
        clauses.append(current)
    return _finish(text, analyzer, clauses, excluded, filters, dropped, n_terms_over, warnings,
                   max_terms, query_stopwords)


def _parse_plain(text: str, words: list[str], analyzed: list[tuple[str, ...]], analyzer, max_terms: int,
                 query_stopwords: bool) -> Query:
    """What the parser's loop and :func:`_finish` make of plain words (each its own clause; a word
    without terms dropped; words past ``max_terms`` distinct terms counted; lone stopwords
    dropped; a multi-term word split into its terms; duplicates dropped), in one pass over
    one-literal clauses: the same Query, or error (tests compare with the general parser)."""
    lits: list[Literal] = []
    dropped: list[str] = []
    seen: set[str] = set()
    over = 0
    for word, terms in zip(words, analyzed):
        if not terms:
            dropped.append(word)
            continue
        if len(terms) == 1:                      # (most words: one term)
            new = () if terms[0] in seen else terms
        else:
            new = {t for t in terms if t not in seen}
        if len(seen) + len(new) > max_terms:
            over += len(new)
            continue
        seen.update(new)
        lits.append(_plain_literal(terms, word))
    stopwords = QUERY_STOPWORDS.get(getattr(analyzer, "language", ""), ()) if query_stopwords else ()
    if stopwords:                                # (_drop_stopwords)
        kept = [lit for lit in lits if _stop_key(lit.text) not in stopwords]
        lits = kept or lits
    unique: dict = {}                            # (_split_words, then duplicates: "a b a" -> a OR b)
    for lit in lits:
        if len(lit.terms) == 1:
            unique.setdefault(lit.terms, lit)
        else:
            for t in dict.fromkeys(lit.terms):
                unique.setdefault((t,), _plain_literal((t,), lit.text))
    if not unique or over:                       # (the errors, the warning: as _finish says them)
        return _finish(text, analyzer, [[lit] for lit in lits], [], [], dropped, over, [], max_terms,
                       query_stopwords)
    # Query(text, clauses), without the frozen dataclass's five object.__setattr__ calls
    q = _new_object(Query)
    d = q.__dict__
    d["text"], d["clauses"] = text, tuple([(lit,) for lit in unique.values()])
    d["excluded"] = d["warnings"] = d["filters"] = ()
    return q


def _stop_key(word: str) -> str:
    """A word as the query stopwords list it: lower case, without \\W characters."""
    word = word.lower()                          # (isalnum: no \W character to take out)
    return word if word.isalnum() else _NON_WORD.sub("", word)


_new_object = object.__new__


def _plain_literal(terms: tuple[str, ...], text: str) -> Literal:
    """``Literal(terms, None, False, text)`` (equal, same hash) without the frozen dataclass's
    four ``object.__setattr__`` calls: 3.3 -> 1.4 us, and a plain query makes one per word."""
    lit = _new_object(Literal)
    d = lit.__dict__
    d["terms"], d["fields"], d["phrase"], d["text"] = terms, None, False, text
    return lit


def _finish(text, analyzer, clauses, excluded, filters, dropped, n_terms_over, warnings, max_terms,
            query_stopwords) -> Query:
    """The parser's last steps: stopwords, split words, duplicates, and the errors of a query
    left with nothing to search for."""
    if n_terms_over:
        warnings.append(f"query has more than {max_terms} distinct terms; "
                        f"{n_terms_over} further terms ignored")
    if query_stopwords:
        clauses = _drop_stopwords(clauses, QUERY_STOPWORDS.get(getattr(analyzer, "language", ""), ()))
    clauses = _split_words(clauses)
    unique: dict = {}
    for c in clauses:                            # "a b a" -> a OR b
        if len(c) == 1:                          # (most clauses: one word)
            lit = c[0]
            unique.setdefault(((lit.terms, lit.fields, lit.phrase),), c)
        else:
            unique.setdefault(tuple((l.terms, l.fields, l.phrase) for l in c), c)
    clauses = list(unique.values())
    if not clauses and not filters:
        if excluded:
            raise InvalidQueryError("the query only excludes (-term / NOT term); add a term to search for")
        if dropped:
            raise InvalidQueryError(f"nothing to search for: {' '.join(dropped)[:80]!r} has only "
                                    "stopwords or punctuation")
        why = f" ({warnings[-1]})" if warnings else ""
        raise InvalidQueryError(f"nothing to search for in {text[:80]!r}{why}")
    return Query(text, tuple(tuple(c) for c in clauses), tuple(dict.fromkeys(excluded)),
                 tuple(dict.fromkeys(warnings)), tuple(dict.fromkeys(filters)))


def _is_filter(tok: _Token) -> bool:
    return tok.prefix in FILTER_PREFIXES and not tok.negated


#: Words a ``word_cache`` holds before it starts over.
WORD_CACHE_LIMIT = 100_000


def analyze_words(analyzer, texts: list[str], cache: dict | None = None) -> list[tuple[str, ...]]:
    """The terms of each of ``texts`` (each analysed alone, in one analyzer call where it batches),
    through ``cache`` (a dict the caller keeps for this analyzer, as :func:`parse_query`'s
    ``word_cache``: a word seen before is not analysed again)."""
    return _analyze_many(analyzer, list(texts), cache)


def _analyze_many(analyzer, texts: list[str], cache: dict | None = None) -> list[tuple[str, ...]]:
    """Terms of each text, in one analyzer call when the analyzer can batch (the texts that are
    not in ``cache``, if one is given)."""
    if cache is None:
        return _analyze_batch(analyzer, texts)
    out = [cache.get(t) for t in texts]
    if None in out:
        missing = [i for i, terms in enumerate(out) if terms is None]
        if len(cache) + len(missing) > WORD_CACHE_LIMIT:
            cache.clear()
        for i, terms in zip(missing, _analyze_batch(analyzer, [texts[i] for i in missing])):
            out[i] = cache[texts[i]] = terms
    return out


def _analyze_batch(analyzer, texts: list[str]) -> list[tuple[str, ...]]:
    batch = getattr(analyzer, "analyze_texts", None)
    if batch is None or not texts:
        return [tuple(analyzer.terms(t)) for t in texts]
    plain = getattr(analyzer, "plain_word_terms", None)
    if plain is not None and (got := plain(texts)) is not None:
        return got
    term_ids, text_index, vocab = batch(texts)
    out: list[list[str]] = [[] for _ in texts]
    for i, j in zip(term_ids.tolist(), text_index.tolist()):
        out[j].append(vocab[i])
    return [tuple(t) for t in out]


def _literal(tok: _Token, terms: tuple[str, ...]) -> Literal | None:
    fields = FIELD_GROUPS[tok.prefix] if tok.prefix else None
    if not terms:
        return None
    phrase = tok.kind == "phrase" or (tok.prefix in NAME_PREFIXES and len(terms) > 1) \
        or (tok.prefix is not None and "_" in tok.text and len(terms) > 1)
    return Literal(terms, fields, phrase and len(terms) > 1, tok.text)


def _drop_stopwords(clauses: list[list[Literal]], stopwords) -> list[list[Literal]]:
    """Drop lone free-text function words (``which``, ``me``) unless nothing else would be left."""
    if not stopwords:
        return clauses
    def is_stop(clause):
        lit = clause[0]
        if len(clause) != 1 or lit.fields is not None or lit.phrase:
            return False
        return _stop_key(lit.text) in stopwords
    kept = [c for c in clauses if not is_stop(c)]
    return kept if kept else clauses


def _split_words(clauses: list[list[Literal]]) -> list[list[Literal]]:
    """A lone multi-term word (``e-mail``) in its own clause means any of its terms."""
    out = []
    for clause in clauses:
        if len(clause) == 1 and not clause[0].phrase and len(clause[0].terms) > 1:
            lit = clause[0]
            out.extend([Literal((t,), lit.fields, False, lit.text)] for t in dict.fromkeys(lit.terms))
        else:
            out.append(clause)
    return out


class SimpleAnalyzer:
    """A tiny lowercase/ASCII-word analyzer for doctests and unit tests (not the index's)."""

    STOP = frozenset("a an and are as at be by for from in is it of on or the to was with".split())

    def terms(self, text: str) -> list[str]:
        return [w for w in re.findall(r"[^\W_]+", text.lower()) if w not in self.STOP]

    def find_terms(self, text: str, terms, positions: bool = True):
        """``Analyzer.find_terms`` for this analyzer (plain Python)."""
        import numpy as np
        want = {t: i for i, t in enumerate(terms)}
        out, pos = [], 0
        for m in re.finditer(r"[^\W_]+", text):
            w = m.group().lower()
            if w in self.STOP:
                continue
            if w in want:
                out.append((m.start(), m.end(), want[w], pos))
            pos += 1
        a = np.array(out, np.int64).reshape(-1, 4)
        return a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy()

    def find_terms_many(self, texts, terms, positions: bool = True):
        """``Analyzer.find_terms_many`` for this analyzer: :meth:`find_terms` of each text."""
        return [self.find_terms(text, terms, positions) for text in texts]

    def find_terms_encoded(self, buf, ends, terms, positions: bool = True):
        """``Analyzer.find_terms_encoded`` for this analyzer: the texts decoded, then
        :meth:`find_terms_many`."""
        raw = buf.tobytes()
        texts = [raw[a:b].decode("utf-8", "surrogatepass")
                 for a, b in zip([0] + [int(e) for e in ends[:-1]], [int(e) for e in ends])]
        return self.find_terms_many(texts, terms, positions), [len(t) for t in texts]
