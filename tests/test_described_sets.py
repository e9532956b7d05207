"""People's descriptions as known-item queries (benchmarks/relevance.py, session 22): the rules of
:func:`generate_described_items` on the sample dump's index with a made-up summaries file, and the
committed sets' invariants (no query shares an analysed term with its page's title; one split per page)."""
from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

import numpy as np
import pytest

import wikisearch
from wikisearch.analysis.analyzer import Analyzer
from wikisearch.search.searcher import Searcher

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from relevance import DESC_FOLDERS, DESC_LEAD_WORDS, first_sentence, generate_described_items  # noqa: E402


def test_first_sentence_cuts_at_the_first_end_and_drops_parentheses():
    assert first_sentence("Berlin (/bɜːrˈlɪn/) is the capital of Germany. It has 3.8 million people.") == \
        "Berlin is the capital of Germany"
    assert first_sentence("IBM (International Business Machines (Corp.)) is a company in 175 countries.") == \
        "IBM is a company in 175 countries."
    assert first_sentence("Version 3.8 of it. Second") == "Version 3.8 of it"
    assert first_sentence("No end at all") == "No end at all"


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    from wikisearch.build import build_index
    out = tmp_path_factory.mktemp("described") / "idx"
    build_index([wikisearch.sample_dump()], str(out), workers=1)
    return Searcher(out).reader


def _vital(tmp_path, entries: list[dict]) -> Path:
    path = tmp_path / "vital.json.xz"
    with lzma.open(path, "wt", encoding="utf-8") as f:
        json.dump({e["title"]: e for e in entries}, f)
    return path


def test_generate_described_items_rules(reader, tmp_path):
    long_tail = " ".join(f"w{i}" for i in range(30))
    vital = _vital(tmp_path, [
        {"title": "Berlin", "description": "Capital and largest city of Germany",
         "extract": "Berlin (pronounced) is the capital and largest city of Germany, by population. More."},
        {"title": "IBM", "description": "American technology company",        # shared: ambiguous, dropped
         "extract": f"IBM was an American multinational technology {long_tail}."},
        {"title": "IKEA", "description": "American technology company",
         "extract": "IKEA founded in Sweden"},                                    # no verb: no lead query
        {"title": "Samsung", "description": "Samsung group of companies",        # a title word: dropped
         "extract": "Samsung is a South Korean Samsung conglomerate."},
        {"title": "Asda", "description": "Supermarket",                          # one term: dropped
         "extract": "Asda is a supermarket."},                                    # one term after the verb
        {"title": "Not In The Corpus", "description": "Something else entirely",
         "extract": "It is elsewhere entirely."},
    ])
    got = generate_described_items(reader, vital)
    short = {r["title"]: r for r in got["described-short"]}
    lead = {r["title"]: r for r in got["described-lead"]}
    assert list(short) == ["Berlin"]
    assert short["Berlin"]["query"] == "Capital and largest city of Germany"
    assert short["Berlin"]["qid"] == "DS-0000"
    assert set(lead) == {"Berlin", "IBM", "Samsung"}
    assert lead["Berlin"]["query"] == "the capital and largest city of Germany, by population"
    assert lead["Samsung"]["query"] == "a South Korean conglomerate"          # the title word dropped
    assert lead["IBM"]["query"].split() == ["an", "American", "multinational", "technology",
                                            *[f"w{i}" for i in range(DESC_LEAD_WORDS - 4)]]
    # pages in title order, every other one held out, the same split in both forms; page ids kept
    order = ["Asda", "Berlin", "IBM", "IKEA", "Samsung"]
    for r in [*got["described-short"], *got["described-lead"]]:
        assert r["split"] == ("train" if order.index(r["title"]) % 2 == 0 else "heldout")
        assert r["page_id"] == int(reader.page_ids[reader.docid_for_title(r["title"])])


@pytest.mark.parametrize("name", sorted(DESC_FOLDERS))
def test_committed_sets_name_no_title_word_and_split_by_page(name):
    an = Analyzer("english")
    folder = DESC_FOLDERS[name]
    queries = dict(line.split("\t") for line in (folder / "queries.tsv").read_text("utf-8").splitlines())
    titles = {q: t.rsplit(" ", 1)[0] for q, t in (line.split(" 0 ", 1) for line in
                                                 (folder / "qrels.txt").read_text("utf-8").splitlines())}
    split = dict(line.split("\t") for line in (folder / "split.tsv").read_text("utf-8").splitlines())
    assert len(queries) > 3000 and set(queries) == set(titles) == set(split)
    for q, text in queries.items():
        assert not set(an.terms(text)) & set(an.terms(titles[q])), (q, text, titles[q])
    held = sum(s == "heldout" for s in split.values())
    assert abs(held - (len(split) - held)) <= len(split) * 0.05
    other = DESC_FOLDERS[next(n for n in DESC_FOLDERS if n != name)]
    other_split = dict(line.split("\t") for line in (other / "split.tsv").read_text("utf-8").splitlines())
    other_titles = {q: t.rsplit(" ", 1)[0] for q, t in (line.split(" 0 ", 1) for line in
                                                       (other / "qrels.txt").read_text("utf-8").splitlines())}
    by_title = {other_titles[q]: s for q, s in other_split.items()}
    assert all(by_title.get(titles[q], s) == s for q, s in split.items())


def test_rows_36_wide_are_shape_columns_except_in_dense_width():
    import relevance
    from wikisearch.search.rerank import DENSE_FEATURES, FEATURES, SHAPE_FEATURES
    assert relevance.feature_names(len(FEATURES) + 4) == FEATURES + SHAPE_FEATURES
    with relevance.dense_width():
        assert relevance.feature_names(len(FEATURES) + 4) == FEATURES + DENSE_FEATURES
        assert relevance.feature_names(len(FEATURES) + 8) == FEATURES + DENSE_FEATURES + SHAPE_FEATURES
    assert relevance.feature_names(len(FEATURES) + 4) == FEATURES + SHAPE_FEATURES
    assert relevance.feature_names(len(FEATURES) + 8) == FEATURES + DENSE_FEATURES + SHAPE_FEATURES
    prox = relevance.proximity_names()
    assert relevance.feature_names(len(FEATURES) + len(prox)) == FEATURES + prox
    assert relevance.feature_names(len(FEATURES) + 4 + len(prox)) == FEATURES + SHAPE_FEATURES + prox


def test_s26_proximity_variants_differ_only_in_the_proximity_columns():
    """--select s26-proximity: every variant is the shipped training (the described sets weighted
    DESCRIBED_WEIGHT, no set dropped, per-query weighting) with some of the proximity columns
    zeroed; "as shipped" zeroes them all, and every other variant keeps some."""
    import relevance
    prox = set(relevance.proximity_names())
    group = relevance.SELECT["s26-proximity"]
    assert set(group["as shipped"][0]) == prox
    for name, (drop, weighting, no_sets, params) in group.items():
        assert set(drop) <= prox and weighting == "query" and no_sets == ()
        assert params == {"set_weight": dict.fromkeys(relevance.DESC_FOLDERS, relevance.DESCRIBED_WEIGHT)}
        assert name == "as shipped" or set(drop) < prox


def test_committed_relevance_report_is_what_markdown_renders():
    """benchmarks/results/relevance.md is relevance.py's ``markdown()`` of the committed relevance.json
    and select files, to the byte: every session's notes render (session 22's once stood below the
    ``__main__`` block and would have crashed a full run at its last step), and nothing in the report
    is written by hand."""
    import relevance
    results = Path(relevance.__file__).resolve().parent / "results"
    report = json.loads((results / "relevance.json").read_text("utf-8"))
    assert relevance.markdown(report) == (results / "relevance.md").read_text("utf-8")


def test_s28_groups_are_the_shipped_training_but_for_one_setting():
    """--select s28-depth is the shipped training alone (its depth comes from --depth); every
    s28-lgb variant is the shipped training with one LightGBM setting changed."""
    import relevance
    ship = {"set_weight": dict.fromkeys(relevance.DESC_FOLDERS, relevance.DESCRIBED_WEIGHT)}
    assert relevance.SELECT["s28-depth"] == {"as shipped": ((), "query", (), ship)}
    group = relevance.SELECT["s28-lgb"]
    assert group["as shipped"] == ((), "query", (), ship)
    for name, (drop, weighting, no_sets, params) in group.items():
        assert (drop, weighting, no_sets) == ((), "query", ())
        extra = {k: v for k, v in params.items() if k != "set_weight"}
        assert params["set_weight"] == ship["set_weight"]
        assert len(extra) == (0 if name == "as shipped" else 1)
        for k, v in extra.items():
            assert k in ("rounds", "objective") or k in relevance.LGB_PARAMS
            assert v != relevance.LGB_PARAMS.get(k, relevance.ROUNDS if k == "rounds" else None)


def test_depth_must_be_positive():
    import relevance
    with pytest.raises(SystemExit):
        relevance.main(["--depth", "0", "--select", "s28-depth"])


def test_s29_feedback_group_zeroes_exactly_the_columns_it_leaves_out():
    """--select s29-feedback: the shipped training with the feedback columns after the proximity
    ones; "as shipped" zeroes all four, each form the other form's two. Its rows are as wide as the
    hybrid model's with proximity, so their names are told apart by extra_width() alone."""
    import relevance
    from wikisearch.search.rerank import DENSE_FEATURES, FEATURES
    ship = {"set_weight": dict.fromkeys(relevance.DESC_FOLDERS, relevance.DESCRIBED_WEIGHT)}
    group = relevance.SELECT["s29-feedback"]
    cols = relevance.FEEDBACK_COLUMNS
    assert group["as shipped"] == (cols, "query", (), ship)
    assert [set(v[0]) for n, v in group.items() if n != "as shipped"] == [{cols[1], cols[3]}, {cols[0], cols[2]}]
    assert all(v[1:] == ("query", (), ship) for v in group.values())
    rows = FEATURES + relevance.SHAPE + relevance.PROXIMITY_COLUMNS + cols
    hybrid = FEATURES + DENSE_FEATURES + relevance.SHAPE + relevance.PROXIMITY_COLUMNS
    assert len(rows) == len(hybrid) and relevance.feature_names(len(rows)) == hybrid
    X = np.arange(2 * len(rows), dtype=np.float64).reshape(2, len(rows)) + 1
    with relevance.extra_width(cols):
        assert relevance.feature_names(len(rows)) == rows
        for name, (drop, *_rest) in group.items():
            Z = relevance._drop(X, drop)
            zero = [rows.index(c) for c in drop]
            assert not Z[:, zero].any() and (Z[:, [j for j in range(len(rows)) if j not in zero]] > 0).all(), name


def test_s29_entity_group_zeroes_the_entity_columns_as_shipped():
    import relevance
    from entity_mention import ENTITY_COLUMNS
    from wikisearch.search.rerank import FEATURES
    ship = {"set_weight": dict.fromkeys(relevance.DESC_FOLDERS, relevance.DESCRIBED_WEIGHT)}
    assert relevance.SELECT["s29-entity"] == {"as shipped": (ENTITY_COLUMNS, "query", (), ship),
                                              "+ entity mention": ((), "query", (), ship)}
    assert relevance.S29_COLUMNS["s29-entity"] == ENTITY_COLUMNS
    rows = FEATURES + relevance.SHAPE + relevance.PROXIMITY_COLUMNS + ENTITY_COLUMNS
    with relevance.extra_width(ENTITY_COLUMNS):
        assert relevance.feature_names(len(rows)) == rows
        Z = relevance._drop(np.ones((3, len(rows))), ENTITY_COLUMNS)
        assert not Z[:, -3:].any() and Z[:, :-3].all()
    with pytest.raises(ValueError):          # outside, no other rows are this wide
        relevance.feature_names(len(rows))
