"""Stored text: the frontier of size against compression CPU and document read time, on the real
30k articles held out from every trained dictionary or codebook (issue #13: at most 30 % of the
input text, random access kept).

    python benchmarks/bench_store_frontier.py [--step 3] [--reads 2000]   # -> results/store-frontier.{json,md}
    python benchmarks/bench_store_frontier.py --per-index [--store INDEX/store.bin --input-bytes N] \
        [--sample-mb 64] [--step 4] --tag NAME                     # -> results/store-frontier-per-index-NAME.json

Documents are the build's stored bytes (``parse_plaintext`` -> ``field_texts`` -> ``encode_doc``) of
every ``step``-th article from ``train_store_dict.TRAIN_DOCS`` on (the articles the shipped
dictionaries and codebook never saw). For each candidate they are cut into blocks as the store cuts
them (content defined, ~``block`` bytes), each block compressed alone (the store's layout without
its prefix split, which costs ~0.6 % more bytes in every row alike); a candidate with the word
transform codes each document first (``index/wordcode.py``, the shipped codebook) and compresses
with the shipped dictionary (trained on coded text); a plain zstd candidate uses format 7's
dictionary (trained on plain text: ``train_store_dict`` retrains it to the bytes shipped until
session 18). Reported per candidate: compressed bytes / input text bytes of the same articles,
compression CPU (process time: transform and compressor, one thread), and one random document's
read (its block decompressed, its slice decoded; thread CPU, p50 / p95 of ``reads``). brotli and
pyppmd rows appear where those packages import (they are not dependencies of wikisearch).

``--per-index`` (session 19): what a codebook or zstd dictionary learnt by the build from *this*
corpus would store, beside format 10's shipped ones. The corpus is the real 30k articles, or the
documents of a built index (``--store``: its ``store.bin`` decoded, in docid order; e.g. the
synthetic 1x corpus's index). The per-index codebook and dictionary learn from the first
``--sample-mb`` MB of stored bytes (what a build could read before its first block); the rows
measure every ``step``-th document after them (held out). Codebooks: "own" (``train_words`` on
the sample) and "shipped + own" (the shipped list, then the sample's words it lacks, 3 letters or
more, seen 3 times or more, by count x (length - 1), up to ``wordcode.MAX_WORDS``); dictionaries
``train`` on the sample coded by the row's codebook. A row's "+ own bytes" are what the index would
keep beyond format 10's (the store keeps a copy of its codebook and of its dictionary either way:
a per-index one replaces the shipped copy). A last row gives format 10 with each document's link
and category fields emptied (% of the same input): what those fields cost. With
``--input-bytes`` (the article text a ``--store`` corpus came from, e.g. ``synth_corpus``'s
``text_bytes``) a row also gives its % scaled to that input by the whole store's stored/input ratio.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train_store_dict import TRAIN_DOCS, documents, samples, train, train_words  # noqa: E402

from wikisearch.index import wordcode  # noqa: E402
from wikisearch.index.store import shipped_dictionary, shipped_words  # noqa: E402


def blocks_of(docs: list[bytes], target: int) -> list[list[int]]:
    """Indices of ``docs`` per block, cut as ``store.ends_block`` cuts for ~``target`` bytes."""
    out, cur = [], []
    for i, d in enumerate(docs):
        cur.append(i)
        if zlib.crc32(d) * target < len(d) << 32:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def zstd_codec(level: int, dictionary: bytes, ldm: bool = False):
    import zstandard
    d = zstandard.ZstdCompressionDict(dictionary) if dictionary else None
    if d is not None:
        d.precompute_compress(level=level)
    if ldm:
        params = zstandard.ZstdCompressionParameters.from_level(level, enable_ldm=True)
        comp = zstandard.ZstdCompressor(compression_params=params, dict_data=d)
    else:
        comp = zstandard.ZstdCompressor(level=level, dict_data=d, write_checksum=False)
    dec = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary) if dictionary else None)
    return comp.compress, dec.decompress


def brotli_codec(quality: int, lgwin: int):
    import brotli
    return (lambda b: brotli.compress(b, mode=brotli.MODE_TEXT, quality=quality, lgwin=lgwin)), brotli.decompress


def ppmd_codec(order: int, mem: int):
    import pyppmd
    return (lambda b: pyppmd.compress(b, max_order=order, mem_size=mem)), \
        (lambda f: pyppmd.decompress(f, max_order=order, mem_size=mem))


def measure(docs, input_bytes, block, codec, coder, reads) -> dict:
    compress, decompress = codec
    groups = blocks_of(docs, block)
    t = time.process_time()
    frames, ends = [], []
    for g in groups:
        xs = [docs[i] if coder is None else coder.encode(docs[i]) for i in g]
        frames.append(compress(b"".join(xs)))
        e = [0]
        for x in xs:
            e.append(e[-1] + len(x))
        ends.append(e)
    cpu = time.process_time() - t
    rng = random.Random(1)
    times = []
    for _ in range(reads):
        b = rng.randrange(len(groups))
        j = rng.randrange(len(groups[b]))
        t = time.thread_time()
        raw = decompress(frames[b])[ends[b][j]:ends[b][j + 1]]
        if coder is not None:
            raw = coder.decode(raw)
        times.append(time.thread_time() - t)
        assert raw == docs[groups[b][j]]
    times.sort()
    size = sum(map(len, frames))
    return {"bytes": size, "pct_of_input": 100 * size / input_bytes, "compress_cpu_s": cpu, "blocks": len(groups),
            "read_ms_p50": 1e3 * times[len(times) // 2], "read_ms_p95": 1e3 * times[int(len(times) * 0.95)]}


def stored_documents(store_path) -> list[bytes]:
    """The documents of an index's ``store.bin``, decoded, in docid order."""
    from wikisearch.index.container import Container
    from wikisearch.index.store import StoreReader
    c = Container(store_path, b"STOR")
    r = StoreReader(c)
    return [r.doc(i) for i in range(int(c.meta["n_docs"]))]


def first_bytes(docs: list[bytes], n: int) -> list[bytes]:
    """The first documents of ``docs`` whose bytes reach ``n`` (the last one taken whole)."""
    out, total = [], 0
    for d in docs:
        if total >= n:
            break
        out.append(d)
        total += len(d)
    return out


def extended_words(sample: list[bytes], base: list[bytes]) -> list[bytes]:
    """``base`` (a codebook's words in rank order), then the words of ``sample`` it lacks: 3
    letters or more, seen 3 times or more, by count x (length - 1), up to ``wordcode.MAX_WORDS``."""
    import collections
    import re
    count: collections.Counter = collections.Counter()
    for d in sample:
        count.update(w.lower() for w in re.findall(rb"[A-Za-z]+", d))
    have = set(base)
    new = [w for w in sorted(count, key=lambda w: (-count[w] * (len(w) - 1), w))
           if w not in have and len(w) >= 3 and count[w] >= 3]
    return base + new[:wordcode.MAX_WORDS - len(base)]


def per_index_corpus(args) -> tuple[str, list[bytes], list[bytes], int, float | None]:
    """(corpus, sample, held-out documents, their input bytes, stored bytes / ``--input-bytes``)."""
    if args.store:
        alldocs = stored_documents(args.store)
        sizes = [len(d) for d in alldocs]
        corpus = f"the documents of {args.store}"
    else:
        from corpus import CorpusSpec, iter_real_docs
        sizes = [len(doc.full_text().encode("utf-8")) for _p, doc in iter_real_docs(CorpusSpec())]
        alldocs = documents(len(sizes))
        corpus = "the 30k real articles"
    sample = first_bytes(alldocs, args.sample_mb << 20)
    start = len(sample) if args.store else max(len(sample), TRAIN_DOCS)   # (held out of the shipped files too)
    scale = sum(len(d) for d in alldocs) / args.input_bytes if args.input_bytes else None
    return corpus, sample, alldocs[start::args.step], sum(sizes[start::args.step]), scale


def without_links(docs: list[bytes]) -> list[bytes]:
    """``docs`` (stored bytes) with their link and category fields emptied."""
    from wikisearch.config import FIELD_ID
    drop = (FIELD_ID["link"], FIELD_ID["category"])
    return [b"\x1f".join(b"" if k in drop else f for k, f in enumerate(d.split(b"\x1f"))) for d in docs]


def per_index(args) -> int:
    """The ``--per-index`` rows (see the module's docstring)."""
    import zstandard
    corpus, sample, docs, input_bytes, scale = per_index_corpus(args)
    shipped = zstandard.ZstdDecompressor().decompress(shipped_words("en"), max_output_size=1 << 26).split(b"\n")
    t = time.process_time()
    books = {"shipped": shipped_words("en"), "own": wordcode.pack(train_words(sample))}
    count_cpu = time.process_time() - t
    books["shipped + own"] = wordcode.pack(extended_words(sample, shipped))
    coders = {k: wordcode.Codebook(v) for k, v in books.items()}
    for c in coders.values():
        c.decode(c.encode(b"The warm-up"))
    t = time.process_time()
    own_dict = {k: train(samples(sample, c)) for k, c in coders.items()}
    train_cpu = (time.process_time() - t) / len(coders)
    wdict = shipped_dictionary("en")
    cands = [("shipped words + shipped dictionary (format 10)", 5, "shipped", wdict),
             ("shipped + own words, shipped dictionary", 5, "shipped + own", wdict),
             ("own words, shipped dictionary", 5, "own", wdict),
             ("shipped words, own dictionary", 5, "shipped", own_dict["shipped"]),
             ("shipped words, own dictionary, zstd l9", 9, "shipped", own_dict["shipped"]),
             ("shipped + own words, own dictionary", 5, "shipped + own", own_dict["shipped + own"]),
             ("own words, own dictionary", 5, "own", own_dict["own"])]
    rows = []
    for name, level, book, d in cands:
        r = measure(docs, input_bytes, 16 << 10, zstd_codec(level, d), coders[book], args.reads)
        r.update(candidate=name, own_bytes=len(books[book]) - len(books["shipped"]), words=coders[book].n_words)
        if scale:
            r["pct_of_article_text"] = r["pct_of_input"] * scale
        rows.append(r)
        print(f"{name:48s} {r['pct_of_input']:6.2f} %  CPU {r['compress_cpu_s']:6.2f} s  "
              f"read {r['read_ms_p50']:.3f} / {r['read_ms_p95']:.3f} ms", flush=True)
    bare = without_links(docs)      # what those fields cost: format 10 without them
    r = measure(bare, input_bytes, 16 << 10, zstd_codec(5, wdict), coders["shipped"], args.reads)
    r.update(candidate="format 10, link and category fields emptied", own_bytes=0, words=coders["shipped"].n_words,
             stored_bytes=sum(map(len, bare)))
    if scale:
        r["pct_of_article_text"] = r["pct_of_input"] * scale
    rows.append(r)
    res = {"corpus": corpus, "sample_mb": args.sample_mb, "sample_documents": len(sample),
           "sample_bytes": sum(map(len, sample)), "held_out_documents": len(docs), "step": args.step,
           "input_text_bytes": input_bytes, "input_bytes_of_corpus": args.input_bytes,
           "stored_to_input": scale, "own_words_count_cpu_s": count_cpu,
           "own_dictionary_train_cpu_s": train_cpu, "rows": rows}
    (HERE / "results" / f"store-frontier-per-index-{args.tag}.json").write_text(json.dumps(res, indent=1) + "\n")
    print_per_index(res)
    return 0


def print_per_index(res: dict) -> None:
    """The markdown table of :func:`per_index`'s results."""
    rows, scale, base = res["rows"], res["stored_to_input"], res["rows"][0]
    print(f"\n{res['corpus']}: sample {res['sample_documents']:,} documents ({res['sample_bytes'] / 1e6:.1f} MB), "
          f"{res['held_out_documents']:,} held out ({res['input_text_bytes'] / 1e6:.1f} MB); own codebook counted in "
          f"{res['own_words_count_cpu_s']:.1f} s CPU, a dictionary trained in {res['own_dictionary_train_cpu_s']:.1f} s\n")
    print("| candidate | words | % of input" + (" (of the article text)" if scale else "")
          + " | + own bytes (codebook) | compress CPU s (x format 10) | read ms p50 / p95 |\n|---|---|---|---|---|---|")
    for r in rows:
        pct = f"{r['pct_of_input']:.2f} %" + (f" ({r['pct_of_article_text']:.2f} %)" if scale else "")
        print(f"| {r['candidate']} | {r['words']:,} | {pct} | {r['own_bytes']:,} | {r['compress_cpu_s']:.2f} "
              f"({r['compress_cpu_s'] / base['compress_cpu_s']:.2f}x) | {r['read_ms_p50']:.3f} / {r['read_ms_p95']:.3f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--step", type=int, default=3, help="every step-th held-out article")
    ap.add_argument("--reads", type=int, default=2000)
    ap.add_argument("--per-index", action="store_true", help="per-index codebook and dictionary rows")
    ap.add_argument("--store", help="--per-index: the documents of this store.bin, not the 30k articles")
    ap.add_argument("--sample-mb", type=int, default=64, help="--per-index: MB of stored bytes learnt from")
    ap.add_argument("--input-bytes", type=int, help="--per-index: the input text bytes of --store's corpus")
    ap.add_argument("--tag", default="30k", help="--per-index: results/store-frontier-per-index-TAG.json")
    args = ap.parse_args(argv)
    if args.per_index:
        return per_index(args)
    from corpus import CorpusSpec, iter_real_docs
    sizes = [len(doc.full_text().encode("utf-8")) for _p, doc in iter_real_docs(CorpusSpec())]
    alldocs = documents(len(sizes))
    plain_dict = train(samples(alldocs[:TRAIN_DOCS]))
    docs = alldocs[TRAIN_DOCS::args.step]
    input_bytes = sum(sizes[TRAIN_DOCS::args.step])
    coder = wordcode.Codebook(shipped_words("en"))
    coder.decode(coder.encode(b"The warm-up"))
    wdict = shipped_dictionary("en")
    K = 1 << 10
    cands = [("zstd l5, dictionary (format 7, today)", 16 * K, lambda: zstd_codec(5, plain_dict), None),
             ("zstd l6, dictionary", 16 * K, lambda: zstd_codec(6, plain_dict), None),
             ("zstd l9, dictionary", 16 * K, lambda: zstd_codec(9, plain_dict), None),
             ("zstd l5, dictionary", 32 * K, lambda: zstd_codec(5, plain_dict), None),
             ("zstd l5, dictionary", 64 * K, lambda: zstd_codec(5, plain_dict), None),
             ("zstd l9, dictionary", 64 * K, lambda: zstd_codec(9, plain_dict), None),
             ("zstd l12, dictionary", 64 * K, lambda: zstd_codec(12, plain_dict), None),
             ("zstd l5, dictionary, long-distance matching", 64 * K, lambda: zstd_codec(5, plain_dict, True), None),
             ("zstd l19, dictionary", 64 * K, lambda: zstd_codec(19, plain_dict), None),
             ("words + zstd l5, dictionary (format 10)", 16 * K, lambda: zstd_codec(5, wdict), coder),
             ("words + zstd l6, dictionary", 16 * K, lambda: zstd_codec(6, wdict), coder),
             ("words + zstd l9, dictionary", 16 * K, lambda: zstd_codec(9, wdict), coder),
             ("words + zstd l5, dictionary", 32 * K, lambda: zstd_codec(5, wdict), coder),
             ("words + zstd l5, dictionary", 64 * K, lambda: zstd_codec(5, wdict), coder),
             ("words + zstd l5, no dictionary", 16 * K, lambda: zstd_codec(5, b""), coder)]
    try:
        import brotli  # noqa: F401
        cands += [(f"brotli q{q} (built-in dictionary)", bl * K, (lambda q=q, bl=bl: brotli_codec(q, max(16, (bl * K).bit_length()))), None)
                  for q, bl in ((5, 16), (7, 16), (9, 16), (9, 64))]
        cands += [("words + brotli q9", 16 * K, lambda: brotli_codec(9, 16), coder)]
    except ImportError:
        print("(brotli not installed: no brotli rows)", file=sys.stderr)
    try:
        import pyppmd  # noqa: F401
        cands += [("PPMd order 6, 16 MB", 16 * K, lambda: ppmd_codec(6, 16 << 20), None),
                  ("PPMd order 6, 16 MB", 64 * K, lambda: ppmd_codec(6, 16 << 20), None),
                  ("words + PPMd order 4, 16 MB", 16 * K, lambda: ppmd_codec(4, 16 << 20), coder)]
    except ImportError:
        print("(pyppmd not installed: no PPMd rows)", file=sys.stderr)
    rows = []
    for name, block, make, cd in cands:
        try:
            r = measure(docs, input_bytes, block, make(), cd, args.reads)
        except (ValueError, AssertionError) as e:      # (a codec that does not give its input back)
            print(f"{name:48s} {block // K:3d} KiB  failed: {e!r}", flush=True)
            rows.append({"candidate": name, "block_kib": block // K, "failed": repr(e)})
            continue
        r.update(candidate=name, block_kib=block // K)
        rows.append(r)
        print(f"{name:48s} {block // K:3d} KiB  {r['pct_of_input']:6.2f} %  CPU {r['compress_cpu_s']:6.2f} s  "
              f"read {r['read_ms_p50']:.3f} / {r['read_ms_p95']:.3f} ms", flush=True)
    base = rows[0]
    res = {"held_out_documents": len(docs), "input_text_bytes": input_bytes, "step": args.step,
           "codebook_bytes": len(shipped_words("en")), "dictionary_bytes": len(wdict), "rows": rows}
    out = HERE / "results"
    (out / "store-frontier.json").write_text(json.dumps(res, indent=1) + "\n")
    md = ["# Stored text frontier: size, compression CPU and read time (30k real articles, held out)", "",
          f"{len(docs):,} held-out articles (one in {args.step} from article {TRAIN_DOCS:,} on), "
          f"{input_bytes / 1e6:.1f} MB of input text. Blocks compressed alone as the store cuts them (without the "
          "prefix split: ~0.6 % more bytes in every row). CPU: one thread's process time to transform and "
          "compress, and its ratio to today's (first row) in the same run; read: one random document "
          "(block decompressed, slice decoded), thread CPU p50 / p95.", "",
          "| candidate | block | % of input | compress CPU s (x today) | read ms p50 / p95 |", "|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            md.append(f"| {r['candidate']} | {r['block_kib']} KiB | failed: {r['failed']} | | |")
            continue
        md.append(f"| {r['candidate']} | {r['block_kib']} KiB | {r['pct_of_input']:.2f} % | {r['compress_cpu_s']:.2f} "
                  f"({r['compress_cpu_s'] / base['compress_cpu_s']:.2f}x) | {r['read_ms_p50']:.3f} / {r['read_ms_p95']:.3f} |")
    md += ["", "Command: `python benchmarks/bench_store_frontier.py`.", ""]
    old = (out / "store-frontier.md").read_text() if (out / "store-frontier.md").exists() else ""
    kept = old[old.index("\n## ") + 1:] if "\n## " in old else ""     # (the sections written by hand)
    (out / "store-frontier.md").write_text("\n".join(md) + ("\n" + kept if kept else ""))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
