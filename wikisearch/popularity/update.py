"""update: ``wikisearch priors`` -- page views and link tables in, the index's ``priors.bin`` out.

>>> summary = update_priors("wikisearch-index", ["pageviews-20240101-user.bz2"])   # doctest: +SKIP

Page views (``sources``: Wikimedia's hourly, daily and clickstream files) are resolved to
documents through titles, redirects and page ids; in-links come from the dump (docs.bin) or from
the ``pagelinks``/``linktarget`` SQL dumps (``sql``). Parts not given are kept from an existing
``priors.bin``. For an index built without its title-suggestion table (``suggest.bin``), that
table is stored beside them, with block maxima of the new prior scores.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from wikisearch.config import PriorConfig
from wikisearch.errors import WikisearchError
from wikisearch.index.container import Container
from wikisearch.index.reader import IndexReader
from wikisearch.popularity import sources as S
from wikisearch.popularity.priors import LOW_COVERAGE, KIND, Priors, load_priors, priors_path, write_priors
from wikisearch.popularity.sql import count_sql_links
from wikisearch.popularity.suggest import suggest_arrays, with_block_max
from wikisearch.popularity.suggest_table import load_suggest_table




def remove_priors(index) -> Path | None:
    """Delete the index's ``priors.bin`` (searches then rank by text alone and suggestions by
    title); returns its path, or None if there was none. The index itself is untouched."""
    if not (Path(index) / "manifest.json").exists():
        IndexReader(index)                 # raises the index-not-found error, with its remedy
    path = priors_path(index)
    if not path.exists():
        return None
    path.unlink()
    return path


def update_priors(index, pageviews=(), *, fmt: str = "auto", project: str | None = None,
                  total_views: float | None = None, pagelinks=None, linktarget=None,
                  link_sources: str = "indexed", config: PriorConfig | None = None,
                  dump_links: bool = False) -> dict:
    """Ingest page views and/or SQL link tables into the index's ``priors.bin``; returns a summary.

    Parts not given are kept from an existing ``priors.bin`` (else: no views, the dump's links).
    ``dump_links`` resets the in-links to the dump's. ``link_sources``: "indexed" counts links
    from the index's own documents, "namespace" from every page of the indexed namespaces.
    """
    if not (Path(index) / "manifest.json").exists():
        IndexReader(index)                 # raises the index-not-found error, with its remedy
    files = [str(p) for p in pageviews]
    for p in files + [p for p in (pagelinks, linktarget) if p]:
        if not os.path.isfile(p):
            raise WikisearchError(f"no such file: {p}")
    if linktarget and not pagelinks:
        raise WikisearchError("--linktarget needs --pagelinks")
    if total_views is not None and not total_views > 0:
        raise WikisearchError(f"total views must be > 0, not {total_views}")
    notes = _drop_unusable(index)
    reader = IndexReader(index)
    old = load_priors(reader)
    meta = {k: v for k, v in (old.meta if old is not None else {}).items()
             if k not in ("n_docs", "index_checksum", "total_views", "config")}
    resolver = S.Resolver(reader)
    if files:
        proj = S.Project.parse(project) if project else S.Project.of_site(reader.siteinfo)
        counts = [S.read_views(p, fmt, proj) for p in files]
        views, meta["pageviews_sources"] = resolver.views(counts)
        meta["project"] = proj.name
        total = sum(c.total for c in counts)
    else:
        views = old.pageviews if old is not None else np.zeros(reader.n_docs)
        total = old.total_views if old is not None else 0.0
    inlinks = _inlinks(resolver, old, meta, pagelinks, linktarget, link_sources, dump_links)
    priors = Priors(views, inlinks, total_views=total if total_views is None else total_views,
                    config=config or (old.config if old is not None else PriorConfig()), meta=meta)
    if load_suggest_table(reader) is None:    # an index built without the key table: stored here
        keys = old.suggest if old is not None and old.suggest is not None else suggest_arrays(reader)
        priors.suggest = with_block_max(keys, priors.scores())
    checksum = reader.manifest["checksum"]
    reader.close()
    path = write_priors(index, priors, checksum)
    with_views = int((priors.pageviews > 0).sum())
    coverage = with_views / priors.n_docs if priors.n_docs else 0.0
    warnings = []
    if with_views and coverage < LOW_COVERAGE:
        warnings.append(
            f"only {with_views:,} of {priors.n_docs:,} documents ({coverage:.1%}) have page views: "
            + ("documents without them count as typical, not as unpopular (missing_views "
               f"{priors.config.missing_views!r}); " if priors.config.missing_views != "zero" else
               "the prior lifts those few pages above all others, which can hurt the ranking; ")
            + "give more page-view files (a day or more of them), rank without the prior "
            "(`wikisearch query --no-priors`; `wikisearch priors --remove` drops it), or count "
            "pages without views as typical (PriorConfig(missing_views='neutral'))")
    return {"path": str(path), "documents": priors.n_docs, "views_coverage": coverage,
            "warnings": warnings,
            "with_views": with_views, "views": float(priors.pageviews.sum()),
            "total_views": priors.total_views, "with_inlinks": int((priors.inlinks > 0).sum()),
            "inlinks": int(priors.inlinks.sum(dtype=np.int64)), "sources": meta.get("pageviews_sources", []),
            "inlinks_source": meta.get("inlinks_source", {}), "notes": notes}


def _inlinks(resolver, old, meta: dict, pagelinks, linktarget, link_sources, dump_links) -> np.ndarray:
    """In-links from SQL if given, else the existing priors.bin's, else (or with ``dump_links``)
    the dump's; records where they came from in ``meta``."""
    if pagelinks:
        inlinks, meta["inlinks_source"] = count_sql_links(resolver, pagelinks, linktarget, link_sources)
        return inlinks
    if old is not None and not dump_links:
        return old.inlinks
    meta["inlinks_source"] = {"source": "dump"}
    return np.asarray(resolver.reader.inlinks, np.uint32)


def _drop_unusable(index) -> list[str]:
    """Remove a priors.bin that is damaged or belongs to another build (it is rewritten now)."""
    path = priors_path(index)
    if not path.exists():
        return []
    try:
        manifest = json.loads((Path(index) / "manifest.json").read_text(encoding="utf-8"))
        c = Container(path, KIND)
        ok = c.meta.get("index_checksum") == manifest.get("checksum")
        c.close()
    except (OSError, ValueError, WikisearchError):
        ok = False
    if ok:
        return []
    path.unlink()
    return [f"replaced {path}: damaged or made for another build of the index"]
