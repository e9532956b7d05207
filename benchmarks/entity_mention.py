"""entity_mention: does a candidate mention the page the query names? Weighed for the re-ranker
(``relevance.py --select s29-entity``, session 29).

Many DBpedia-Entity queries name one entity and ask for pages about something else ("films directed
by Stanley Kubrick", "astronauts who landed on the moon"): the relevant pages mention the named
page's title, often in their first sentence ("... is a 1964 film directed by Stanley Kubrick").
The query's entity is read off the candidates themselves: of the first stage's candidates whose
title's terms are all query terms, the one with the most title terms (ties: the first-stage
order). Each candidate's ``forward.bin`` record (its first ~4,000 characters of prose as term
ordinals, which the re-ranker already reads for term proximity) is then searched for the entity's
title terms as a run of consecutive kept tokens.

:func:`mention_features` is the kernel, :func:`query_entity` picks the entity;
``tests/test_bench_entity_mention.py`` compares them with plain readings. Nothing in
``wikisearch/`` uses them.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from feedback import unpack_record      # (numba's build of the forward record's unpacker)

#: The columns :func:`entity_columns` gives each candidate.
ENTITY_COLUMNS = ("ent_mention", "ent_mention_first", "ent_share")


@njit(cache=True, nogil=True)
def mention_features(starts, words, bits, docids, phrase):
    """float64[C, 2]: for each of ``docids``, 1.0 in column 0 when its record holds the term
    ordinals ``phrase`` as consecutive tokens, in order, and in column 1 when such a run starts in
    its first sentence; 0.0 otherwise (all 0 for an empty phrase). Records are taken as checked
    (``_proximity_kernels.check_records``)."""
    C, L = docids.shape[0], phrase.shape[0]
    out = np.zeros((C, 2), np.float64)
    if L == 0:
        return out
    for c in range(C):
        a = starts[docids[c]]
        first = np.int64(words[a] >> np.uint64(32))
        tokens = unpack_record(starts, words, bits, docids[c])
        for i in range(tokens.shape[0] - L + 1):
            j = 0
            while j < L and tokens[i + j] == phrase[j]:
                j += 1
            if j == L:
                out[c, 0] = 1.0
                if i < first:
                    out[c, 1] = 1.0
                    break
    return out


def query_entity(title_terms: list[list[int]], query: list[int]) -> int:
    """The index (into the candidates, in first-stage order) of the query's entity: the candidate
    whose title terms (``title_terms[i]``: its title's analysed term ordinals, -1 for a term the
    index lacks) are all among ``query``'s term ordinals and most in number (ties: the earlier);
    -1 when no title qualifies."""
    q = set(query)
    best, size = -1, 0
    for i, t in enumerate(title_terms):
        if t and len(t) > size and all(o >= 0 and o in q for o in t):
            best, size = i, len(t)
    return best


def entity_columns(fwd, query_ordinals: list[int], docids, title_terms: list[list[int]]) -> np.ndarray:
    """float64[C, 3] (:data:`ENTITY_COLUMNS`): whether each candidate's forward record mentions the
    query's entity (:func:`query_entity`) anywhere and in its first sentence, and the share of the
    query's terms the entity's title holds (the same on every candidate); rows of -1, -1, 0 when
    the query names no candidate's title."""
    C = len(docids)
    e = query_entity(title_terms, query_ordinals)
    if e < 0 or not query_ordinals:
        return np.tile(np.array([-1.0, -1.0, 0.0]), (C, 1))
    phrase = np.asarray(title_terms[e], np.int64)
    M = mention_features(fwd.starts, fwd.words, fwd.bits, np.ascontiguousarray(docids, np.int64), phrase)
    share = len(set(title_terms[e])) / len(set(query_ordinals))
    return np.hstack([M, np.full((C, 1), share)])
