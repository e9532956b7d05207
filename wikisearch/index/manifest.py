"""manifest: ``manifest.json``, the index-level description -- written last, checked first.

It names the format version, library version, codec, fields, ranking and analyzer settings, the
dump's siteinfo, collection statistics and every index file with its size and CRC-32, and carries
a sha256 of itself (``checksum``). A directory without a valid manifest is not an index.

>>> m = {"format": "wikisearch-index", "format_version": FORMAT_VERSION}
>>> m["checksum"] = manifest_checksum(m)
>>> check_manifest(m, "idx") is m
True
"""
from __future__ import annotations

import json
from pathlib import Path

from wikisearch.errors import CorruptIndexError, FormatTooNewError, FormatTooOldError, IndexNotFoundError
from wikisearch.fileio import crc32, sha256_hex

#: Version of the index as a whole; each container file has its own version too.
#: 2: the term dictionary's entries lost their per-term bound byte (never read by search).
#: 3: blocks.bin, per-block last docid, byte offset and score bound of the long lists.
#: 4: checksums at the granularity read on the large-file path: a CRC of the table of contents and
#:    of each array (container version 2), per dictionary block (terms.bin ``block_dict_crc``),
#:    per block of 64 documents' titles and redirect titles (docs.bin); the index path is a link
#:    to a generation directory (``publish.py``).
#: 5: store.bin holds zstd blocks of documents (was one zlib record per document).
#: 6: store.bin's blocks are ~16 KiB and compressed with a zstd dictionary kept in the file (its
#:    ``dictionary`` array); a format 5 store (no dictionary, ~128 KiB blocks) is still read.
#: 7: a store block keeps its documents' prefixes (their text up to the first 4,000 characters of
#:    prose, what a snippet scans) before the rest, read apart (``prefix_ends``, ``prefix_bytes``,
#:    ``prefix_crc``); format 5 and 6 stores are still read (whole blocks).
#: 8: docs.bin keeps the field lengths field by field (``field_lengths_by_field``,
#:    uint32[fields, n]; search reads one field's lengths of many documents, which then share
#:    cache lines); a format 5-7 ``docs.bin`` (``field_lengths``, document by document) is still read.
#: 9: docs.bin's and suggest.bin's integer columns at the narrowest width their values need
#:    (offsets uint32 under 4 GiB, page ids uint32, field lengths uint16 unless one is over 65535,
#:    the fields all zero left out: ``length_fields`` in docs.bin's meta); a format 8 index (every
#:    column at its full width) is still read: the readers take the dtype from the Toc.
#: 10: docs.bin's titles FSST-coded, each decodable alone (``title_codes`` with ``title_symbols``
#:    and ``title_symbol_lengths``; ``title_offsets`` point into the codes), its all-zero columns left
#:    out (``zero_columns``), blocks.bin's block data as narrow steps and uint8 bound codes; and
#:    store.bin's documents word-coded before zstd (frequent words -> 1-3 byte codes of a codebook
#:    kept in the store, ``words``; ``index/wordcode.py``), the shipped dictionary trained on
#:    word-coded text: ~29 % of the input text stored on the 30k articles against ~35 %. A format
#:    5-9 docs.bin (plain ``title_blob``), blocks.bin and store (no ``words``) are still read.
#: 11: postings.bin's stream exceptions bit-packed (their indexes at the bit length of the
#:    stream's count - 1, their high bits at one width: header bit 128) instead of VInt pairs
#:    (header bit 64): postings.bin 5.3 % smaller at full scale; format 10's streams are still
#:    read, list by list (``_codec_kernels.read_stream``).
FORMAT_VERSION = 11
#: The oldest format this version reads (formats 5-10 differ in their store, docs.bin and
#: postings streams, still read).
MIN_FORMAT_VERSION = 5
FORMAT_NAME = "wikisearch-index"
MANIFEST = "manifest.json"
#: In a directory of index shards (``wikisearch index --shards N``): their names, in order.
SHARDS_FILE = "shards.json"


def manifest_checksum(manifest: dict) -> str:
    """sha256 of the manifest's JSON without its ``checksum`` key (sorted keys)."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return sha256_hex(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())


def file_checksums(directory: Path, names: list[str]) -> dict:
    """``{name: {"bytes", "crc32"}}`` of the index files, for the manifest's ``files``."""
    out = {}
    for name in names:
        p = Path(directory) / name
        crc = 0
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                crc = crc32(chunk, crc)
        out[name] = {"bytes": p.stat().st_size, "crc32": f"{crc:08x}"}
    return out


def read_manifest(path) -> dict:
    """The checked manifest of the index at ``path``: raises IndexNotFoundError (no index, or an
    unfinished build), CorruptIndexError, FormatTooOldError or FormatTooNewError, each with its
    remedy; also checks that every listed file has its listed size."""
    path = Path(path)
    mpath = path / MANIFEST
    if not path.is_dir():
        old = path.parent / f".{path.name}.old"
        if old.is_dir():
            raise IndexNotFoundError(f"no index at {path}: an interrupted build left the previous one "
                                     f"at {old}; run the build again (it restores it first) or "
                                     f"`mv {old} {path}`")
        raise IndexNotFoundError(f"no index at {path} (build one with `wikisearch index DUMP -o {path}`)")
    if not mpath.exists() and (path / SHARDS_FILE).exists():
        raise IndexNotFoundError(f"{path} holds the shards of an index (`wikisearch index --shards N`) and "
                                 "this reads one index: give it one shard, or search them all with "
                                 "`wikisearch query -i`, `wikisearch eval -i` or `wikisearch.open`")
    if not mpath.exists():
        raise IndexNotFoundError(f"{path} is not a complete wikisearch index (no {MANIFEST}; "
                                 "an interrupted build? rerun `wikisearch index` to resume it)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CorruptIndexError(mpath, f"unreadable manifest ({e})") from None
    check_manifest(manifest, path)
    for name, info in manifest["files"].items():
        try:
            size = (path / name).stat().st_size
        except FileNotFoundError:
            size = None
        if size is None:
            raise CorruptIndexError(path / name, "file is missing (listed in the manifest); "
                                    "rebuild the index with `wikisearch index`")
        if size != info["bytes"]:
            raise CorruptIndexError(path / name, "size differs from the manifest", expected=info["bytes"],
                                    found=size)
    return manifest


def check_manifest(manifest, path) -> dict:
    """Validate a parsed manifest (format name, checksum, version); returns it."""
    mpath = Path(path) / MANIFEST
    try:
        if manifest.get("format") != FORMAT_NAME:
            raise ValueError("not a wikisearch manifest")
        expected = manifest.get("checksum")
        found = manifest_checksum(manifest)
        version = int(manifest.get("format_version"))
    except (ValueError, AttributeError, TypeError) as e:
        raise CorruptIndexError(mpath, f"unreadable manifest ({e})") from None
    if expected != found:
        raise CorruptIndexError(mpath, "manifest checksum mismatch", expected=expected, found=found)
    if version > FORMAT_VERSION:
        raise FormatTooNewError(f"index {path} has format version {version}; this wikisearch reads "
                                f"up to {FORMAT_VERSION}: upgrade wikisearch")
    if version < MIN_FORMAT_VERSION:
        raise FormatTooOldError(f"index {path} has format version {version}; this wikisearch reads "
                                f"versions {MIN_FORMAT_VERSION} to {FORMAT_VERSION}: rebuild it with "
                                "`wikisearch index`")
    return manifest


def make_manifest(directory: Path, files: list[str], *, library_version: str, codec: str, fields,
                  rank: dict, analyzer: dict, siteinfo: dict, settings: dict, inputs: list[dict],
                  stats: dict, n_docs: int, n_redirects: int, total_field_lengths: list,
                  warnings: list[str]) -> dict:
    """The manifest of a finished index in ``directory`` (its ``files`` checksummed now)."""
    fields = list(fields)
    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "library_version": library_version, "codec": codec, "fields": fields,
        "rank": rank, "analyzer": analyzer, "siteinfo": siteinfo, "settings": settings, "inputs": inputs,
        "stats": {"n_docs": n_docs, "n_terms": stats["n_terms"], "n_postings": stats["n_postings"],
                  "postings_bytes": stats["postings_bytes"], "n_redirects": n_redirects,
                  "avg_field_lengths": dict(zip(fields, stats["avg_field_lengths"])),
                  "field_postings": dict(zip(fields, stats["field_postings"])),
                  "total_field_lengths": dict(zip(fields, total_field_lengths))},
        "files": file_checksums(directory, files),
        "warnings": warnings,
    }
    manifest["checksum"] = manifest_checksum(manifest)
    return manifest
