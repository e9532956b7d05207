"""priors_sources: read the files Wikimedia publishes about popularity, resolve them to docids.

Page-view formats (``read_views``; plain, .gz, .bz2 or .xz; detected from the first line):

    pageviews           hourly/daily dumps: ``domain_code title views bytes`` (space separated;
                        domain codes ``en`` and ``en.m`` are en.wikipedia desktop and mobile)
    pageviews-complete  daily ``wiki_code title page_id access daily_total hourly_counts``
                        (``en.wikipedia Main_Page 15580374 desktop 4123 A180B170...``)
    pageviews-tsv       per-article TSV ``date<TAB>page_id<TAB>platform<TAB>views`` (header line)
    clickstream         ``prev<TAB>curr<TAB>type<TAB>n``: views of ``curr`` = sum of n

Views keyed by title resolve through redirects (a redirect's views count for its target); keyed by
page id, through the index's page ids (then by title, for pages that are redirects). Lines of
other projects are skipped where the format names the project.

Link tables (the pagelinks SQL dumps) are read by :mod:`wikisearch.popularity.sql`.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

import numpy as np

from wikisearch.errors import WikisearchError
from wikisearch.fileio import sniff_compression

FORMATS = ("pageviews", "pageviews-complete", "pageviews-tsv", "clickstream")
_ACCESS = ("desktop", "mobile-web", "mobile-app")
_CLICK_TYPES = ("link", "external", "other")
#: Project -> the abbreviation of its hourly pageviews domain codes (en.b = en.wikibooks).
_ABBREV = {"wikipedia": "", "wikibooks": "b", "wiktionary": "d", "wikimedia": "m", "wikinews": "n",
           "wikiquote": "q", "wikisource": "s", "wikiversity": "v", "wikivoyage": "voy",
           "mediawiki": "w", "wikidata": "wd"}
#: Give up on a file whose lines are mostly not of its format.
_MAX_BAD_SHARE = 0.05


@dataclass(frozen=True)
class Project:
    """One wiki, e.g. ``Project("en", "wikipedia")`` (``en.wikipedia``)."""

    lang: str
    family: str = "wikipedia"

    @classmethod
    def parse(cls, text: str) -> "Project":
        """``"en"``, ``"en.wikipedia"``, ``"en.wikipedia.org"`` or a dbname-like ``"enwiki"``."""
        t = text.strip().lower().removesuffix(".org")
        if "." in t:
            lang, _, family = t.partition(".")
        elif t.endswith("wiki") and len(t) > 4:
            lang, family = t[:-4].replace("_", "-"), "wikipedia"
        else:
            lang, family = t, "wikipedia"
        if not lang or family not in _ABBREV:
            raise WikisearchError(f"unknown project {text!r} (try en or en.wikipedia)")
        return cls(lang, family)

    @classmethod
    def of_site(cls, site) -> "Project":
        """The project an index was built from (its base URL's host)."""
        base = getattr(site, "base_url", "") or ""
        host = base.split("//", 1)[-1].split("/", 1)[0]
        try:
            return cls.parse(host) if host else cls(getattr(site, "lang", "en") or "en")
        except WikisearchError:
            return cls(getattr(site, "lang", "en") or "en")

    @property
    def name(self) -> str:
        return f"{self.lang}.{self.family}"

    def domain_codes(self) -> frozenset:
        """Hourly pageviews domain codes of this project: desktop and mobile."""
        a = _ABBREV[self.family]
        tail = f".{a}" if a else ""
        return frozenset((f"{self.lang}{tail}", f"{self.lang}.m{tail}"))


@dataclass
class ViewCounts:
    """Views read from one file: keyed by (page id or -1, title or "")."""

    path: str
    format: str
    views: dict = field(default_factory=dict)
    total: float = 0.0              # views of the project in the file, matched or not
    lines: int = 0
    other_project: int = 0
    bad_lines: int = 0

    def add(self, page_id: int, title: str, n: float) -> None:
        key = (page_id, title)
        self.views[key] = self.views.get(key, 0.0) + n
        self.total += n


# --- opening and detecting ---------------------------------------------------------------------------
def open_text(path):
    """A text stream over ``path`` (.gz/.bz2/.xz decompressed; invalid UTF-8 replaced)."""
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise WikisearchError(f"cannot read {path}: {e.strerror}") from None
    kind = sniff_compression(raw.peek(6)[:6])
    if kind == "gzip":
        raw = gzip.GzipFile(fileobj=raw)
    elif kind == "bz2":
        raw = bz2.BZ2File(raw)
    elif kind == "xz":
        raw = lzma.LZMAFile(raw)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n")


def _number(s: str) -> bool:
    return s.isdigit()


def sniff(line: str) -> str | None:
    """The page-view format a (first non-empty) line is in, or None."""
    line = line.rstrip("\r\n")
    tabs = line.split("\t")
    if len(tabs) == 4:
        if [c.strip().lower() for c in tabs] == ["date", "page_id", "platform", "views"]:
            return "pageviews-tsv"
        if [c.strip().lower() for c in tabs] == ["prev", "curr", "type", "n"]:
            return "clickstream"
        if _number(tabs[1]) and _number(tabs[3]) and re.fullmatch(r"\d{4}-?\d\d-?\d\d", tabs[0]):
            return "pageviews-tsv"
        if tabs[2] in _CLICK_TYPES and _number(tabs[3]):
            return "clickstream"
        return None
    parts = line.split(" ")
    if len(parts) == 4 and _number(parts[2]) and _number(parts[3]):
        return "pageviews"
    if len(parts) >= 5 and (_number(parts[2]) or parts[2] == "null") and parts[3] in _ACCESS \
            and _number(parts[4]):
        return "pageviews-complete"
    return None


def read_views(path, fmt: str = "auto", project: Project | None = None) -> ViewCounts:
    """Read one page-view file (see the module doc); ``fmt`` "auto" detects it from line 1."""
    project = project or Project("en")
    if fmt not in ("auto",) + FORMATS:
        raise WikisearchError(f"unknown page-view format {fmt!r} (one of auto, {', '.join(FORMATS)})")
    with open_text(path) as f:
        try:
            first = next((l for l in f if l.strip()), "")
        except (OSError, EOFError, lzma.LZMAError) as e:
            raise WikisearchError(f"{path}: unreadable ({e})") from None
        found = sniff(first)
        if fmt == "auto":
            if found is None:
                raise WikisearchError(f"{path}: not a page-view file (line 1: {first[:60].rstrip()!r}; "
                                      f"formats: {', '.join(FORMATS)})")
            fmt = found
        elif found is None and not _is_header(first):
            raise WikisearchError(f"{path}: not in the {fmt} format (line 1: {first[:60].rstrip()!r})")
        counts = ViewCounts(str(path), fmt)
        parse = _PARSERS[fmt]
        try:
            for line in _chain(first, f):
                counts.lines += 1
                if not parse(line, counts, project):
                    counts.bad_lines += 1
        except (OSError, EOFError, lzma.LZMAError) as e:
            raise WikisearchError(f"{path}: unreadable after {counts.lines:,} lines ({e})") from None
    if counts.bad_lines > _MAX_BAD_SHARE * max(counts.lines, 1):
        raise WikisearchError(f"{path}: {counts.bad_lines:,} of {counts.lines:,} lines are not in the "
                              f"{fmt} format")
    return counts


def _is_header(line: str) -> bool:
    return line.split("\t")[0].strip().lower() in ("date", "prev")


def _chain(first, rest):
    yield first
    yield from rest


def _parse_hourly(line: str, c: ViewCounts, project: Project) -> bool:
    parts = line.rstrip("\r\n").split(" ")
    if len(parts) != 4 or not parts[2].isdigit():
        return not line.strip()
    if parts[0] not in project.domain_codes():
        c.other_project += 1
        return True
    c.add(-1, parts[1], float(parts[2]))
    return True


def _parse_complete(line: str, c: ViewCounts, project: Project) -> bool:
    parts = line.rstrip("\r\n").split(" ")
    if len(parts) < 5 or not parts[4].isdigit():
        return not line.strip()
    if parts[0] != project.name:
        c.other_project += 1
        return True
    pid = int(parts[2]) if parts[2].isdigit() else -1
    c.add(pid, parts[1], float(parts[4]))
    return True


def _parse_tsv(line: str, c: ViewCounts, project: Project) -> bool:
    parts = line.rstrip("\r\n").split("\t")
    if len(parts) != 4 or not parts[3].strip().isdigit() or not parts[1].strip().isdigit():
        return _is_header(line) or not line.strip()
    c.add(int(parts[1]), "", float(parts[3]))
    return True


def _parse_clickstream(line: str, c: ViewCounts, project: Project) -> bool:
    parts = line.rstrip("\r\n").split("\t")
    if len(parts) != 4 or not parts[3].isdigit():
        return _is_header(line) or not line.strip()
    c.add(-1, parts[1], float(parts[3]))
    return True


_PARSERS = {"pageviews": _parse_hourly, "pageviews-complete": _parse_complete,
            "pageviews-tsv": _parse_tsv, "clickstream": _parse_clickstream}


# --- resolving titles and page ids to docids ----------------------------------------------------------
class Resolver:
    """Titles (of articles or of redirects to them) and page ids -> docids of one index."""

    def __init__(self, reader):
        self.reader = reader
        self.n_docs = int(reader.n_docs)
        self.site = reader.siteinfo
        pids = np.asarray(reader.page_ids, np.int64)
        self._pid_order = np.argsort(pids, kind="stable")
        self._pids_sorted = pids[self._pid_order]

    def normalize(self, title: str) -> str:
        return self.site.normalize_title(title)

    def titles(self, titles: list[str]) -> np.ndarray:
        """Docid of each (raw, underscored) title, through redirects; -1 if not in the index."""
        out = self.reader.docids_for_titles([self.normalize(t) for t in titles])
        retry = [i for i, d in enumerate(out.tolist()) if d < 0 and "%" in titles[i]]
        if retry:                      # percent-encoded titles (as in some request logs)
            out[retry] = self.reader.docids_for_titles([self.normalize(unquote(titles[i])) for i in retry])
        return out

    def page_ids(self, page_ids) -> np.ndarray:
        """Docid of each page id; -1 if not a document of the index."""
        p = np.asarray(page_ids, np.int64)
        if not len(self._pids_sorted):
            return np.full(len(p), -1, np.int64)
        i = np.minimum(np.searchsorted(self._pids_sorted, p), len(self._pids_sorted) - 1)
        return np.where(self._pids_sorted[i] == p, self._pid_order[i], -1).astype(np.int64)

    def views(self, counts: list[ViewCounts]) -> tuple[np.ndarray, list[dict]]:
        """Views per docid summed over ``counts``, and a summary per file."""
        out = np.zeros(self.n_docs, np.float64)
        sources = []
        for c in counts:
            keys = list(c.views)
            n = np.fromiter((c.views[k] for k in keys), np.float64, len(keys))
            docs = self.page_ids([k[0] for k in keys])
            need = [i for i, d in enumerate(docs.tolist()) if d < 0 and keys[i][1]]
            if need:
                docs[need] = self.titles([keys[i][1] for i in need])
            ok = docs >= 0
            np.add.at(out, docs[ok], n[ok])
            sources.append({"file": c.path.rsplit("/", 1)[-1], "format": c.format, "lines": c.lines,
                            "views": c.total, "matched_views": float(n[ok].sum()),
                            "keys": len(keys), "matched_keys": int(ok.sum()),
                            "other_project_lines": c.other_project, "bad_lines": c.bad_lines})
        return out, sources
