"""Train the zstd dictionary that compresses an English index's stored text
(``wikisearch/data/store-dict-en.zstd``), deterministically, from real articles.

    python benchmarks/train_store_dict.py            # -> wikisearch/data/store-dict-en.zstd
    python benchmarks/train_store_dict.py --check    # retrain; say whether the shipped file matches

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
from wikisearch.index.store import DICTIONARY_FILE, encode_doc  # noqa: E402
from wikisearch.ingest.parse import field_texts, parse_plaintext  # noqa: E402

TRAIN_DOCS = 9000
SAMPLE_BYTES = 16 << 10
DICT_BYTES = 256 << 10
PARAMS = {"k": 1024, "d": 8, "f": 20, "accel": 1, "steps": 0, "threads": 1}


def samples(n_docs: int = TRAIN_DOCS) -> list[bytes]:
    out = []
    for _part, doc in iter_real_docs(CorpusSpec(limit_docs=n_docs)):
        t = field_texts(parse_plaintext(doc.text, doc.title))
        out.append(encode_doc([t.get(name, "") for name in FIELDS])[:SAMPLE_BYTES])
    return out


def train(docs: list[bytes], size: int = DICT_BYTES) -> bytes:
    import zstandard
    return zstandard.train_dictionary(size, docs, **PARAMS).as_bytes()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="retrain and compare with the shipped file")
    ap.add_argument("--out", default=str(HERE.parent / "wikisearch" / "data" / DICTIONARY_FILE.format("en")))
    args = ap.parse_args(argv)
    d = train(samples())
    out = Path(args.out)
    if args.check:
        same = out.exists() and out.read_bytes() == d
        print(f"{out}: {'matches' if same else 'DIFFERS from'} the retrained dictionary "
              f"(sha256 {hashlib.sha256(d).hexdigest()[:16]})")
        return 0 if same else 1
    out.write_bytes(d)
    print(f"wrote {out}: {len(d):,} bytes, sha256 {hashlib.sha256(d).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
