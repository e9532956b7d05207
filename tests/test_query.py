"""The query language: every piece of syntax, and odd input that must not raise a traceback."""
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wikisearch.config import FIELD_GROUPS
from wikisearch.errors import InvalidQueryError
from wikisearch.analysis.analyzer import Analyzer
from wikisearch.search.query import (MAX_TERMS, Literal, SimpleAnalyzer, _Token, _lex_all, _plain_words, parse_query,
                                     resolve_fields)

A = SimpleAnalyzer()
TITLE = FIELD_GROUPS["t"]


def p(text):
    return parse_query(text, A)


def test_free_text_is_an_or_of_terms():
    q = p("Vietnam war movie")
    assert str(q) == "vietnam OR war OR movie"
    assert q.is_disjunction and not q.excluded and not q.warnings


def test_and_binds_tighter_than_or():
    q = p("vietnam AND war OR movie food")
    assert [[l.terms for l in c] for c in q.clauses] == [[("vietnam",), ("war",)], [("movie",)], [("food",)]]
    assert str(q) == "(vietnam AND war) OR movie OR food"
    assert not q.is_disjunction
    assert str(p("a1 AND b1 AND c1")) == "a1 AND b1 AND c1"
    assert str(p("x && y || z")) == "(x AND y) OR z"


def test_lowercase_operators_are_words():
    assert str(p("war and peace or not")) == "war OR peace OR not"


def test_negation_minus_and_not():
    q = p("berlin -wall NOT museum")
    assert str(q) == "berlin -wall -museum"
    assert [l.terms for l in q.excluded] == [("wall",), ("museum",)]
    assert str(p("a1 AND -b1 c1")) == "a1 OR c1 -b1"
    assert str(p("a1 AND NOT b1 AND c1")) == "a1 AND c1 -b1"


def test_phrases():
    q = p('"Lata Mangeshkar" songs')
    lit = q.clauses[0][0]
    assert lit == Literal(("lata", "mangeshkar"), None, True, "Lata Mangeshkar")
    assert str(q) == '"lata mangeshkar" OR songs'
    assert q.has_phrases and not q.is_disjunction
    assert str(p('-"cold war" history')) == 'history -"cold war"'
    # a one-word phrase is a word; stopwords drop out of phrases
    assert p('"Berlin"').is_disjunction
    assert p('"bank of america"').clauses[0][0].terms == ("bank", "america")


def _positive(q):
    """The query's positive literals: words of the clauses, then filters."""
    return q.literals + list(q.filters)


@pytest.mark.parametrize("prefix", sorted(FIELD_GROUPS))
def test_every_field_prefix(prefix):
    q = p(f"{prefix}:merkel")
    assert _positive(q)[0].fields == FIELD_GROUPS[prefix]
    q = p(f'{prefix}:"angela merkel" x1')
    lit = [l for l in _positive(q) if l.fields][0]
    assert lit.fields == FIELD_GROUPS[prefix] and lit.phrase and lit.terms == ("angela", "merkel")
    assert q.clauses[-1][0].fields is None and q.clauses[-1][0].terms == ("x1",)


@pytest.mark.parametrize("prefix", ["intitle", "incategory", "linksto"])
def test_wikipedia_keywords_are_filters(prefix):
    """Filters restrict, words score: x1 is the one clause, the keyword a filter."""
    q = p(f"x1 {prefix}:merkel")
    assert [[l.terms for l in c] for c in q.clauses] == [[("x1",)]]
    assert q.filters == (Literal(("merkel",), FIELD_GROUPS[prefix], False, "merkel"),)
    assert not q.is_disjunction                          # not the plain-OR fast path
    assert q.scoring_terms() == [("x1", None), ("merkel", FIELD_GROUPS[prefix])]
    assert q.filter_only_terms() == {("merkel", FIELD_GROUPS[prefix])}
    assert str(q) == f"x1 {prefix}:merkel"
    assert str(q.with_filters_in_clauses()) == f"x1 AND {str(q.filters[0])}"
    alone = p(f"{prefix}:merkel")                        # filters alone: what they let through
    assert alone.clauses == () and alone.filters == q.filters
    assert [[l.terms for l in c] for c in alone.with_filters_in_clauses().clauses] == [[("merkel",)]]
    assert p(f"-{prefix}:merkel x1").excluded[0].fields == FIELD_GROUPS[prefix]   # excluded as before


def test_field_words_still_score():
    q = p("x1 t:merkel b:kohl")
    assert not q.filters and q.is_disjunction and q.filter_only_terms() == set()


def test_a_filter_beside_and_or():
    assert str(p("x1 AND intitle:y1 z1")) == "x1 OR z1 intitle:y1"      # AND with a filter: no-op
    q = p("x1 OR intitle:y1")
    assert str(q) == "x1 intitle:y1" and "filters apply to the whole query" in q.warnings[0]
    assert str(p("x1 AND z1 intitle:y1")) == "x1 AND z1 intitle:y1"
    assert p("intitle:y1 t:y1").filter_only_terms() == set()               # also a scored word


def test_prefix_forms():
    assert p("t:merkel angela").clauses[0][0].fields == TITLE
    assert p("InTitle:merkel").filters[0].fields == TITLE             # long keywords ignore case
    assert str(p("T:merkel")) == "t OR merkel" or p("T:merkel").warnings   # one letter: lowercase only
    assert p("-t:merkel kohl").excluded[0].fields == TITLE
    assert p("c: singers").clauses[0][0].fields == FIELD_GROUPS["c"]     # a space after the colon
    q = p("incategory:Indian_singers")
    assert q.filters[0] == Literal(("indian", "singers"), FIELD_GROUPS["incategory"], True,
                                   "Indian_singers")
    assert p("linksto:Barack_Obama").filters[0].phrase
    assert p('incategory:"Indian singers"').filters[0].phrase


def test_unknown_prefix_is_text_with_a_warning():
    q = p("foo:bar")
    assert str(q) == "foo OR bar"
    assert "unknown field prefix 'foo:'" in q.warnings[0] and "intitle:" in q.warnings[0]
    assert not p("Star Trek: Voyager").warnings          # a colon before a space is just text
    assert not p("https://example.org/x").warnings


def test_multi_term_words():
    # alone: any of its parts; where it must match: all of them
    assert str(p("e-mail")) == "e OR mail"
    q = p("spam AND e-mail")
    assert q.clauses[0][1].terms == ("e", "mail") and not q.clauses[0][1].phrase
    assert p("-e-mail spam").excluded[0].terms == ("e", "mail")


def test_default_fields():
    q = p("merkel c:chancellors").with_default_fields(resolve_fields(["t"]))
    assert [l.fields for l in q.literals] == [TITLE, FIELD_GROUPS["c"]]
    assert resolve_fields("title,body") == ("title", "body")
    with pytest.raises(InvalidQueryError, match="unknown field 'nope'"):
        resolve_fields(["nope"])


@pytest.mark.parametrize("text, message", [
    ("", "empty query"),
    ("   \t\n", "empty query"),
    ("the of and", "only stopwords"),
    ("AND", "nothing to search for"),
    ("OR AND NOT", "nothing to search for"),
    ("-", "only stopwords or punctuation"),
    ("NOT", "nothing to search for"),
    ("-berlin", "only excludes"),
    ("NOT berlin -wall", "only excludes"),
    ("c:", "has nothing after it"),
    ('""', "nothing to search for"),
    ("!!! ???", "only stopwords or punctuation"),
])
def test_queries_with_nothing_to_search(text, message):
    with pytest.raises(InvalidQueryError, match=message):
        p(text)


@pytest.mark.parametrize("text, expected, warning", [
    ('"lata mangeshkar', "lata OR mangeshkar", "unbalanced quote"),
    ('songs "lata', "songs OR lata", "unbalanced quote"),
    ("AND berlin", "berlin", "AND without"),
    ("berlin AND", "berlin", "AND without"),
    ("berlin OR", "berlin", "OR without"),
    ("berlin NOT", "berlin", "NOT/- with nothing"),
    ("berlin c:", "berlin", "nothing after it"),
    ("berlin AND the wall", "berlin OR wall", None),
    ("berlin - wall", "berlin OR wall", None),
])
def test_odd_input_gives_a_sensible_query(text, expected, warning):
    q = p(text)
    assert str(q) == expected
    if warning:
        assert any(warning in w for w in q.warnings), q.warnings
    else:
        assert not q.warnings


def test_not_a_string():
    with pytest.raises(InvalidQueryError, match="must be a string"):
        parse_query(None, A)


def test_huge_query_is_capped_in_linear_time(count_calls):
    def words(n):
        return " ".join(f"w{i}" for i in range(n))

    analyzed = []

    class Counting(SimpleAnalyzer):
        def terms(self, text):
            analyzed.append(text)
            return super().terms(text)

    q = parse_query(words(10_000), Counting())
    assert len(q.scoring_terms()) == 1024
    assert any("more than 1024 distinct terms" in w for w in q.warnings)
    assert len(analyzed) <= 10_000                        # each word analyzed at most once
    # linear: 4x the words make ~3.6x the calls (a quadratic parser: ~16x); counted, not timed
    small_text, large_text = words(2_500), words(10_000)
    _, small = count_calls(parse_query, small_text, A)
    _, large = count_calls(parse_query, large_text, A)
    assert large < 4.5 * small, f"4x the words made {large / small:.1f}x the calls"
    # repeated terms do not count twice
    assert len(parse_query("merkel " * 5000, A).scoring_terms()) == 1


def test_scoring_terms_are_distinct_per_field_restriction():
    q = p("merkel t:merkel merkel AND angela")
    assert q.scoring_terms() == [("merkel", None), ("merkel", TITLE), ("angela", None)]


def test_to_json_round_trips_the_structure():
    d = p('t:merkel "federal chancellor" -kohl').to_json()
    assert d["clauses"][0][0] == {"terms": ["merkel"], "fields": list(TITLE), "phrase": False}
    assert d["excluded"][0]["terms"] == ["kohl"]


class EnglishAnalyzer(SimpleAnalyzer):
    language = "english"
    STOP = frozenset(("the", "of", "a"))          # the index's list is short: "who" is a term


def test_query_stopwords_dropped_only_when_something_is_left():
    e = EnglishAnalyzer()
    assert str(parse_query("Which countries have more than two official languages?", e)) == \
        "countries OR two OR official OR languages"
    assert str(parse_query("The Who", e)) == "who"                   # nothing else: kept
    assert str(parse_query("who is who", e)) == "who OR is"           # all function words: kept
    assert str(parse_query("which AND countries", e)) == "which AND countries"   # AND: kept
    assert str(parse_query("t:which countries", e)) == "t:which OR countries"    # prefix: kept
    assert str(parse_query('"which way" more', e)) == '"which way"'
    assert str(parse_query("which countries", e, query_stopwords=False)) == "which OR countries"
    assert str(parse_query("which countries", A)) == "which OR countries"   # not English


def test_repeated_clauses_collapse():
    assert str(p("a1 b1 a1 c1 b1")) == "a1 OR b1 OR c1"
    assert str(p("x1 AND y1 z1 x1 AND y1")) == "(x1 AND y1) OR z1"


def test_word_cache_parses_alike(monkeypatch):
    """With a word cache (as a Searcher keeps) every query parses as without one, with the real
    analyzer and the test one, also after the cache starts over."""
    import random

    from wikisearch.search import query as Q
    from wikisearch.analysis.analyzer import Analyzer
    monkeypatch.setattr(Q, "WORD_CACHE_LIMIT", 12)
    rng = random.Random(4)
    words = ["Vietnam", "war", "e-mail", "AC/DC", "t:merkel", '"bank of america"', "-kohl", "AND", "OR",
             "which", "Indian_singers", "incategory:Indian_singers", "über", "東京", "dogs", "the", "NOT"]
    for analyzer in (A, Analyzer.for_language("en")):
        cache: dict = {}
        for _ in range(300):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
            try:
                want = parse_query(text, analyzer)
            except InvalidQueryError:
                with pytest.raises(InvalidQueryError):
                    parse_query(text, analyzer, word_cache=cache)
                continue
            assert parse_query(text, analyzer, word_cache=cache) == want, text
            assert len(cache) <= 12 + 6


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["a", "B", "x1", "e-mail", "-", "-a", "AND", "OR", "NOT", "&&", "||",
                                 "and", "_", "'", ",", "é", " ", "  ", "\t", "\n", "\u00a0", "\u2003",
                                 "\u3000", "\x1c", "-\u00a0"]), max_size=12))
def test_plain_word_lexing_equals_the_general_lexer(parts):
    """The short cut for plain words (no quote, colon, leading minus or operator) gives the tokens
    and warnings the general lexer gives, whitespace of every kind included."""
    text = "".join(parts)
    want: list[str] = []
    tokens = _lex_all(text, want)
    words = _plain_words(text)
    if words is not None:
        assert [_Token("word", w) for w in words] == tokens
        assert want == []


_ENGLISH = Analyzer("english")


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(["a", "B", "x1", "e-mail", "and", "the", "which", "_", "'", ",", "é",
                                 "Dogs", "dog", "AC/DC", "o'neil", "1984", "foo_bar", "-", "a-"]),
                min_size=1, max_size=8),
       st.sampled_from([1, 2, 3, MAX_TERMS]), st.booleans())
def test_plain_word_parsing_equals_the_general_parser(words, max_terms, stopwords):
    """Plain words (no quote, colon, leading minus or operator) are parsed by a short cut; it
    gives the very Query (or error) the general parser gives, with the real analyzer and the
    doctests' one, term limits and query stopwords included."""
    import wikisearch.search.query as Q
    text = " ".join(words)
    for analyzer in (_ENGLISH, A):
        def parse():
            try:
                return parse_query(text, analyzer, max_terms=max_terms, query_stopwords=stopwords)
            except InvalidQueryError as e:
                return str(e)
        got = parse()
        with mock.patch.object(Q, "_plain_words", lambda text: None):   # the general parser
            want = parse()
        assert got == want, text
