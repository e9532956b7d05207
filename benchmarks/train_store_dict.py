"""Train the word codebook and the zstd dictionary that compress an English index's stored text
(``wikisearch/data/store-words-en.zstd``, ``wikisearch/data/store-dict-en.zstd``), deterministically,
from real articles.

    python benchmarks/train_store_dict.py            # -> wikisearch/data/store-{words,dict}-en.zstd
    python benchmarks/train_store_dict.py --check    # retrain; say whether the shipped files match

Codebook (store format 10, :mod:`wikisearch.index.wordcode`): the ASCII-letter words of the stored
bytes of the first ``TRAIN_DOCS`` articles, lower-cased and counted; rank 0-7 (1-byte codes): the
8 with the largest count x length; then, by count x (length - 1), words of 2 letters or more
(2-byte codes, 7,168 of them), then those of them seen 3 times or more with 3 letters or more
(3-byte codes, up to 131,072); ties by the word's bytes. The zstd dictionary is trained on the
samples *after* the word transform (what the store compresses).

Samples: the first 16 KiB of the stored bytes of the first ``TRAIN_DOCS`` (9,000) articles of the
30k corpus (``../shared/data/enwiki-text``; the build's own field extraction and document encoding:
``parse_plaintext`` -> ``field_texts`` -> ``encode_doc``), a 256 KiB dictionary. fastcover with
fixed parameters (k, d, f, no parameter search, one thread) gives the same bytes on every run.
Session 11 (issue #13) grew it from 112 KiB trained on 4 KiB of 3,000 articles and moved the
store to level 5 with it (``store.DICT_LEVEL``): less stored text at ~3/4 of the compression CPU
and the same read CPU (benchmarks/results/full-scale.md).
``benchmarks/bench_store.py`` reports the compression on the articles *not* used here apart from
the whole corpus, so the shipped dictionary's effect is measured on text it never saw.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import CorpusSpec, iter_real_docs  # noqa: E402

from wikisearch.config import FIELDS  # noqa: E402
from wikisearch.index import wordcode  # noqa: E402
from wikisearch.index.store import DICTIONARY_FILE, WORDS_FILE, encode_doc  # noqa: E402
from wikisearch.ingest.parse import field_texts, parse_plaintext  # noqa: E402

TRAIN_DOCS = 9000
SAMPLE_BYTES = 16 << 10
DICT_BYTES = 256 << 10
PARAMS = {"k": 1024, "d": 8, "f": 20, "accel": 1, "steps": 0, "threads": 1}


def documents(n_docs: int = TRAIN_DOCS) -> list[bytes]:
    """The stored bytes of the first ``n_docs`` articles."""
    out = []
    for _part, doc in iter_real_docs(CorpusSpec(limit_docs=n_docs)):
        t = field_texts(parse_plaintext(doc.text, doc.title))
        out.append(encode_doc([t.get(name, "") for name in FIELDS]))
    return out


def samples(docs: list[bytes], coder=None) -> list[bytes]:
    """The dictionary's samples: each document's first ``SAMPLE_BYTES``, word-coded by ``coder``."""
    return [d[:SAMPLE_BYTES] if coder is None else coder.encode(d[:SAMPLE_BYTES]) for d in docs]


def train_words(docs: list[bytes]) -> list[bytes]:
    """The codebook's words in rank order (see the module's docstring)."""
    import collections
    import re
    count: collections.Counter = collections.Counter()
    for d in docs:
        count.update(w.lower() for w in re.findall(rb"[A-Za-z]+", d))
    one = sorted(count, key=lambda w: (-count[w] * len(w), w))[:wordcode.N1]
    ones = set(one)
    rest = [w for w in sorted(count, key=lambda w: (-count[w] * (len(w) - 1), w)) if w not in ones and len(w) >= 2]
    m2 = 256 * wordcode.N2
    three = [w for w in rest[m2:] if count[w] >= 3 and len(w) >= 3][:65536 * wordcode.N3]
    return one + rest[:m2] + three


def train(docs: list[bytes], size: int = DICT_BYTES) -> bytes:
    import zstandard
    return zstandard.train_dictionary(size, docs, **PARAMS).as_bytes()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="retrain and compare with the shipped files")
    ap.add_argument("--out", default=str(HERE.parent / "wikisearch" / "data"), help="folder to write to")
    args = ap.parse_args(argv)
    docs = documents()
    words = wordcode.pack(train_words(docs))
    d = train(samples(docs, wordcode.Codebook(words)))
    status = 0
    for name, data in ((WORDS_FILE, words), (DICTIONARY_FILE, d)):
        out = Path(args.out) / name.format("en")
        if args.check:
            same = out.exists() and out.read_bytes() == data
            print(f"{out}: {'matches' if same else 'DIFFERS from'} the retrained file "
                  f"(sha256 {hashlib.sha256(data).hexdigest()[:16]})")
            status |= 0 if same else 1
        else:
            out.write_bytes(data)
            print(f"wrote {out}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    return status


if __name__ == "__main__":
    sys.exit(main())
