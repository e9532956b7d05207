"""The peer benchmark's corpus and judgments.

Documents are the 30,729 real articles of ``enwiki-2015-wikiextractor-first30k-{AA..AD}.txt.xz``
(WikiExtractor ``<doc id= url= title=>`` format). ``--scale N`` repeats the real text N times with new
page ids (``+ 10**7 * (copy - 1)``) and titles (``"Title (copy 2)"``). :func:`prepare` writes the
(limited, scaled) corpus back out as uncompressed WikiExtractor files: those files are what every
engine reads, wikisearch through its own dump reader and the peers through :func:`iter_docs`, so all
engines see exactly the same documents.

Judgments are DBpedia-Entity v2 (queries-v2.txt, qrels-v2.txt) restricted to documents in the corpus;
only queries with at least one relevant (rel > 0) document in the corpus are evaluated.

    python benchmarks/corpus.py --limit-docs 2000 --write /tmp/corpus   # write + print stats
"""
from __future__ import annotations

import argparse
import bz2
import gzip
import hashlib
import html
import json
import lzma
import os
import re
import sys
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WIKISEARCH_DATA", ROOT.parent / "shared" / "data"))
TEXT_PARTS = ("AA", "AB", "AC", "AD")
TEXT_NAME = "enwiki-text/enwiki-2015-wikiextractor-first30k-{}.txt.xz"
QUERIES = "judgments/dbpedia-entity-v2/queries-v2.txt"
QRELS = "judgments/dbpedia-entity-v2/qrels-v2.txt"
COPY_ID_OFFSET = 10**7
#: Bump when the written corpus or corpus.json changes meaning, so caches are rebuilt.
PREPARE_VERSION = 1

_DOC_RE = re.compile(r'<doc id="(\d+)" url="([^"]*)" title="([^"]*)">')


class Doc(NamedTuple):
    """One article. ``text`` is the raw body after the line that repeats the title."""

    page_id: int
    title: str
    text: str

    def full_text(self) -> str:
        """What every engine indexes: title, newline, body."""
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class CorpusSpec:
    """Which corpus: the real articles (optionally only the first ``limit_docs``), ``scale`` times."""

    data_dir: str = str(DATA)
    limit_docs: int | None = None
    scale: int = 1

    @property
    def tag(self) -> str:
        """Short name used for file names: ``30k-x1``, ``2000docs-x1``."""
        size = "30k" if self.limit_docs is None else f"{self.limit_docs}docs"
        return f"{size}-x{self.scale}"

    def input_files(self) -> list[Path]:
        return [Path(self.data_dir) / TEXT_NAME.format(p) for p in TEXT_PARTS]


def _open_text(path: Path):
    opener = {".xz": lzma.open, ".bz2": bz2.open, ".gz": gzip.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8", newline="\n")


def read_wikiextractor(path: Path) -> Iterator[Doc]:
    """Yield the documents of one WikiExtractor file (plain, .xz, .bz2 or .gz)."""
    with _open_text(Path(path)) as f:
        head = None
        lines: list[str] = []
        for line in f:
            if head is None:
                m = _DOC_RE.match(line)
                if m:
                    head, lines = m, []
                continue
            if line.startswith("</doc>"):
                title = html.unescape(head.group(3))
                if lines and html.unescape(lines[0].rstrip("\n")) == title:
                    lines = lines[1:]
                yield Doc(int(head.group(1)), title, "".join(lines))
                head = None
            else:
                lines.append(line)


def scaled(doc: Doc, copy: int) -> Doc:
    """Copy ``copy`` (1-based) of a real document; copy 1 is the document itself."""
    if copy == 1:
        return doc
    return Doc(doc.page_id + COPY_ID_OFFSET * (copy - 1), f"{doc.title} (copy {copy})", doc.text)


def iter_real_docs(spec: CorpusSpec) -> Iterator[tuple[str, Doc]]:
    """(part, doc) for the real articles, stopping after ``spec.limit_docs``."""
    n = 0
    for part, path in zip(TEXT_PARTS, spec.input_files()):
        for doc in read_wikiextractor(path):
            if spec.limit_docs is not None and n >= spec.limit_docs:
                return
            n += 1
            yield part, doc


def format_doc(doc: Doc) -> str:
    """A document as WikiExtractor writes it (the title escaped as in the real files)."""
    t = html.escape(doc.title, quote=True)
    url = f"http://en.wikipedia.org/wiki?curid={doc.page_id}"
    return f'<doc id="{doc.page_id}" url="{url}" title="{t}">\n{t}\n{doc.text}</doc>\n'


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The written corpus files, in the order documents are numbered."""
    return sorted(Path(corpus_dir).glob("wiki-*.txt"))


def iter_docs(corpus_dir: Path) -> Iterator[Doc]:
    """Every document of a written corpus, in order: what the peer engines index."""
    for path in corpus_files(corpus_dir):
        yield from read_wikiextractor(path)


# --- the harness's reference tokenization (posting counts; rank_bm25's analyzer) --------------

_TOKEN_RE = re.compile(r"\w+")


class ReferenceAnalyzer:
    """Lowercase, ``\\w+`` tokens, Snowball English stems (PyStemmer), no stopword removal.

    >>> ReferenceAnalyzer()("Running dogs ran")
    ['run', 'dog', 'ran']
    """

    def __init__(self):
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWord
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        s = self._cache.get(word)
        if s is None:
            s = self._cache[word] = self._stem(word)
        return s

    def __call__(self, text: str) -> list[str]:
        return [self.stem(w) for w in _TOKEN_RE.findall(text.lower())]

    def term_set(self, text: str) -> set[str]:
        return {self.stem(w) for w in set(_TOKEN_RE.findall(text.lower()))}


# --- checksums, writing the corpus, judgments --------------------------------------------------

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum(spec: CorpusSpec) -> dict:
    """sha256 of each input file, one sha256 over them all, and whether MANIFEST.tsv agrees."""
    files = {p.name: sha256_file(p) for p in spec.input_files()}
    manifest = {}
    mpath = Path(spec.data_dir) / "MANIFEST.tsv"
    if mpath.exists():
        for row in mpath.read_text().splitlines()[1:]:
            cols = row.split("\t")
            manifest[Path(cols[0]).name] = cols[-1]
    combined = hashlib.sha256("".join(files[k] for k in sorted(files)).encode()).hexdigest()
    return {"sha256": combined, "files": files,
            "matches_manifest": all(manifest.get(k) == v for k, v in files.items())}


def normalize_dbpedia(entity: str) -> str:
    """``<dbpedia:Batman_&amp;_Robin_%28film%29>`` -> ``Batman & Robin (film)``."""
    name = entity.strip()
    if name.startswith("<dbpedia:"):
        name = name[len("<dbpedia:"):]
    name = name.rstrip(">")
    return html.unescape(urllib.parse.unquote(name.replace("_", " ")))


def load_queries(data_dir: str | Path = DATA) -> dict[str, str]:
    out = {}
    for line in (Path(data_dir) / QUERIES).read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, text = line.split("\t", 1)
            out[qid] = text.strip()
    return out


def load_judgments(title_to_ids: dict[str, list[int]], data_dir: str | Path = DATA):
    """(queries, qrels) restricted to the corpus: qrels[qid][str(page_id)] = rel (0, 1 or 2).

    Only queries with at least one rel > 0 document in the corpus are kept, in file order.
    """
    queries = load_queries(data_dir)
    qrels: dict[str, dict[str, int]] = {}
    for line in (Path(data_dir) / QRELS).read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        qid, entity, rel = parts[0], " ".join(parts[2:-1]), int(parts[-1])
        for pid in title_to_ids.get(normalize_dbpedia(entity), ()):
            qrels.setdefault(qid, {})[str(pid)] = rel
    keep = [q for q in queries if any(r > 0 for r in qrels.get(q, {}).values())]
    return {q: queries[q] for q in keep}, {q: qrels[q] for q in keep}


def prepare(spec: CorpusSpec, corpus_dir: Path, progress=None) -> dict:
    """Write the corpus as WikiExtractor files under ``corpus_dir`` and describe it.

    One pass over the real articles writes every copy (``wiki-{copy:02d}-{part}.txt``) and counts
    the postings, i.e. distinct (term, document) pairs under :class:`ReferenceAnalyzer`. The result
    is cached in ``corpus_dir/corpus.json``, reused while spec and input checksums are unchanged.
    """
    corpus_dir = Path(corpus_dir)
    stamp_path = corpus_dir / "corpus.json"
    sums = checksum(spec)
    key = {"version": PREPARE_VERSION, "spec": asdict(spec) | {"data_dir": None}, "sha256": sums["sha256"]}
    if stamp_path.exists():
        info = json.loads(stamp_path.read_text())
        if info.get("key") == key and len(corpus_files(corpus_dir)) == len(info["files"]):
            return info
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for old in corpus_files(corpus_dir):
        old.unlink()
    analyzer = ReferenceAnalyzer()
    extra_terms = {c: {analyzer.stem("copy"), analyzer.stem(str(c))} for c in range(2, spec.scale + 1)}
    handles: dict[tuple[int, str], object] = {}
    title_to_ids: dict[str, list[int]] = {}
    n_real = text_bytes = postings = 0
    try:
        for part, doc in iter_real_docs(spec):
            n_real += 1
            title_to_ids.setdefault(doc.title, []).append(doc.page_id)
            terms = analyzer.term_set(doc.full_text())
            for c in range(1, spec.scale + 1):
                d = scaled(doc, c)
                f = handles.get((c, part))
                if f is None:
                    path = corpus_dir / f"wiki-{c:02d}-{part}.txt"
                    f = handles[(c, part)] = open(path, "w", encoding="utf-8", newline="\n")
                f.write(format_doc(d))
                text_bytes += len(d.full_text().encode("utf-8"))
                postings += len(terms) if c == 1 else len(terms | extra_terms[c])
            if progress and n_real % 5000 == 0:
                progress(f"corpus: {n_real} articles read")
    finally:
        for f in handles.values():
            f.close()
    info = {
        "key": key, "tag": spec.tag, "limit_docs": spec.limit_docs, "scale": spec.scale,
        "real_docs": n_real, "docs": n_real * spec.scale, "text_bytes": text_bytes,
        "postings": postings,
        "postings_definition": "distinct (term, doc) pairs: lowercase \\w+ tokens, "
                               "PyStemmer English stems, no stopword removal",
        "checksum": sums, "files": [p.name for p in corpus_files(corpus_dir)],
        "file_bytes": sum(p.stat().st_size for p in corpus_files(corpus_dir)),
        "title_to_ids": title_to_ids,
    }
    tmp = stamp_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(stamp_path)
    return info


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DATA), help="shared data folder (default %(default)s)")
    ap.add_argument("--limit-docs", type=int, default=None, help="only the first N real articles")
    ap.add_argument("--scale", type=int, default=1, help="repeat the real text N times")
    ap.add_argument("--write", metavar="DIR", required=True, help="write the WikiExtractor files here")
    args = ap.parse_args(argv)
    spec = CorpusSpec(args.data, args.limit_docs, args.scale)
    info = prepare(spec, Path(args.write), progress=lambda m: print(m, file=sys.stderr))
    queries, qrels = load_judgments(info["title_to_ids"], args.data)
    n_rel = sum(1 for q in qrels.values() for r in q.values() if r > 0)
    summary = {k: info[k] for k in ("tag", "docs", "real_docs", "text_bytes", "postings", "files")}
    summary |= {"sha256": info["checksum"]["sha256"], "queries": len(queries), "relevant_pairs": n_rel}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
