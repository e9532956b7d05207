"""benchmarks/bench_link_stats.py at a tiny scale: its statistics on a hand-written page, the
Poisson fit, title mentions, the what-if draw, and the script end to end on the real enwiki slices
and a tiny synthetic corpus."""
from __future__ import annotations

import collections
import io
import json
import math
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATA, requires_shared

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_link_stats as ls  # noqa: E402

from wikisearch.config import FIELDS  # noqa: E402
from wikisearch.index.store import encode_doc  # noqa: E402
from wikisearch.ingest import wikitext as wt  # noqa: E402

PAGE = ("'''Ulm''' is a [[city]] on the [[Danube|river Danube]] and the [[Iller|Iller]] near "
        "[[Neu-Ulm|its twin]].\n== History ==\nOld [[city]].\n"
        "[[Category:Cities in Germany]]\n[[Category:Ulm]]")


def test_a_hand_written_page():
    t = ls.Tally()
    t.add("Ulm", PAGE, wt.Site())
    s = t.summary()
    # links: City, Danube (piped), Iller (piped, anchor = target), Neu-Ulm (piped), City
    assert (s["links"], s["articles"]) == (5, 1)
    assert s["unpiped_share"] == 2 / 5                          # [[city]] twice
    assert s["target_equals_anchor_share"] == 3 / 5             # and [[Iller|Iller]]
    assert s["target_in_text_share"] == 4 / 5                   # all but Neu-Ulm ("its twin")
    assert s["anchor_capitalised_share"] == 1 / 5               # "Iller" only
    assert s["multiword_target_share"] == 0
    assert s["distinct_targets_per_link_in_page"] == 4 / 5
    assert s["categories_per_article"] == 2
    assert t.link_field == len("City\nDanube\nIller\nNeu-Ulm\nCity")
    assert t.cat_field == len("Cities in Germany\nUlm")
    prose = len("Ulm is a city on the river Danube and the Iller near its twin.\nHistory\nOld city.")
    assert t.per_article == [(prose, 5, 2)]
    assert s["store_bytes"] > s["store_bytes_without_fields"] > 0
    assert s["field_cost_bytes"] == s["store_bytes"] - s["store_bytes_without_fields"]


def test_top_share():
    c = collections.Counter({"a": 5, "b": 3, "c": 1, "d": 1})
    assert ls.top_share(c, 0.1) == 0.5                          # at least one key
    assert ls.top_share(c, 0.5) == 0.8
    assert ls.top_share(collections.Counter(), 0.1) == 0.0


def test_poisson_fit_recovers_a_power_law():
    kb = [0.5, 1, 2, 4, 8, 16, 32] * 3
    a, b = ls.poisson_fit(kb, [3.0 * x ** 0.5 for x in kb])
    assert a == pytest.approx(math.log(3.0), abs=1e-9) and b == pytest.approx(0.5, abs=1e-9)


def test_title_mentions():
    index = ls.mention_index(["Ulm", "Danube", "River Danube", "Germany", "City", "AC/DC", "Neu-Ulm"])
    text = "Ulm lies on the River Danube in Germany. City walls stand; the city has a river, AC/DC, Neu Ulm."
    got = ls.title_mentions(text, index, own="Ulm")
    assert [(text[a:b], title, written) for a, b, title, written in got] == [
        ("River Danube", "River Danube", True),                 # the longest run, not "Danube" inside it
        ("Germany", "Germany", True),
        ("city", "City", False),                                # "City" starts a sentence: skipped
        ("AC/DC", "AC/DC", True)]                               # "Neu Ulm" is not "Neu-Ulm"


def _docs(n: int) -> list[bytes]:
    prose = "Walls of Ulm by the Danube. The Danube and the Iller meet near Neu-Ulm in Germany. " * 3
    return [encode_doc([f"Town {i}" if k == "title" else prose if k == "body" else "" for k in FIELDS])
            for i in range(n)]


def test_what_if_draws_as_modelled():
    docs = _docs(400)
    titles = ["Germany", "Danube", "Iller", "Neu-Ulm", "Walls"] + [f"Town {i}" for i in range(400)]
    model = ls.LinkModel(links_a=math.log(10.0), links_b=1.0, cats_a=math.log(3.0), cats_b=0.0,
                         mention_share=0.75)
    cats = [f"Category {i}" for i in range(50)]
    out, drawn = ls.what_if(docs, model, titles, cats)
    again, _ = ls.what_if(docs, model, titles, cats)
    assert out == again                                         # deterministic from the seed
    kb = len(docs[0].split(b"\x1f")[FIELDS.index("body")]) / 1000
    expect = 400 * 10.0 * kb
    assert abs(drawn["links"] - expect) < 4 * math.sqrt(expect)  # Poisson mean
    fields = [d.split(b"\x1f")[FIELDS.index("link")].decode() for d in out]
    assert sum(len(f.split("\n")) for f in fields if f) == drawn["links"]
    assert "Neu-Ulm" in "".join(fields)                         # a title of two \w+ words
    # 15 mentions a page (Danube twice, Iller, Neu-Ulm and Germany, three times; "Walls" starts
    # a line), more than the ~2.5 links a page draws: the mention share is the model's
    assert abs(drawn["mention_share"] - 0.75) < 0.03
    assert drawn["target_in_text_share"] >= drawn["mention_share"]
    n_cats = [len(d.split(b"\x1f")[FIELDS.index("category")].split(b"\n")) for d in out]
    assert 2.0 < sum(n_cats) / len(n_cats) < 3.2                 # Poisson(3), duplicates merged
    # the other fields are untouched
    assert all(a.split(b"\x1f")[:6] == b.split(b"\x1f")[:6] for a, b in zip(docs, out))
    keep, _ = ls.what_if(docs, model, titles, cats, links=False)
    assert all(a.split(b"\x1f")[FIELDS.index("link")] == b"" for a in keep)


def test_store_figures_charge_the_fields():
    docs = _docs(60)
    with_fields = [encode_doc([f"Town {i}" if k == "title" else
                               "Danube\nIller\nRiver Danube" if k == "link" else
                               "Cities in Germany" if k == "category" else "" for k in FIELDS])
                   for i in range(60)]
    prose = sum(len(d.split(b"\x1f")[FIELDS.index("body")]) for d in docs)
    bare = ls.store_figures(docs, prose, 0)
    assert bare["field_cost_bytes"] == 0 and bare["fields_share_of_stored"] == 0
    full = ls.store_figures(with_fields, 1000, 180)
    assert full["field_cost_bytes"] > 0 and full["link_cost_per_kb_prose"] > 0


@requires_shared("enwiki-text", "enwiki-xml")
def test_end_to_end_on_the_real_slices_and_a_tiny_synthetic_corpus(tmp_path):
    import synth_corpus as sc
    opts = sc.Options(source_docs=40, data_dir=str(SHARED_DATA))
    plan = sc.make_plan(opts)
    out = io.BytesIO()
    sc.generate(sc.Options(**{**opts.__dict__, "articles": plan.n_pieces}), plan, out)
    synth = tmp_path / "synth.xml"
    synth.write_bytes(out.getvalue())
    assert ls.main(["--data", str(SHARED_DATA), "--synth", str(synth), "--windows", "2", "--window", "30",
                    "--what-if", "--out", str(tmp_path), "--tag", "t"]) == 0
    res = json.loads((tmp_path / "link-stats-t.json").read_text())
    real = [res[name] for name in ls.ENWIKI_SLICES]
    synth_row = next(v for k, v in res.items() if k.startswith("synth.xml"))
    assert synth_row["articles"] == 60
    # what the measurements found (benchmarks/results/store-frontier.md, session 20): real links
    # mostly repeat their anchor; the synthetic ones mostly go to a drawn title
    assert all(r["target_equals_anchor_share"] > 0.6 for r in real)
    assert synth_row["target_equals_anchor_share"] < 0.3
    # the synthetic pieces are short and get the long real articles' mean category count; drawn
    # by length (as the real slices have them) they get fewer
    by_length = res["what-if categories by length"]
    assert by_length["categories_per_article"] < 0.7 * synth_row["categories_per_article"]
    faithful = res["what-if + links: pooled rate, mentions"]
    pooled = sum(r["links"] for r in real) / sum(r["prose_bytes"] for r in real) * 1000
    assert abs(faithful["links_per_kb_prose"] / pooled - 1) < 0.2        # the real rate, drawn
    md = (tmp_path / "link-stats-t.md").read_text()
    assert "| target equals anchor share |" in md and "what-if categories by length" in md
