"""parse: "here is a page's wikitext, give me its fields".

:func:`parse_wikitext` is the fast path used for indexing: a linear scanner built on ``re`` and
``str.find`` (see ``_wikitext.py``), not a full wikitext parser. :func:`parse_reference` gives
the same :class:`Fields` from mwparserfromhell's parse tree; it is slow and obviously right, and
the tests hold the fast path to it on the real samples. Both share one *policy* (what counts as
an infobox, a category, a reference section...), so they differ only where they parse
differently. :func:`parse_plaintext` reads WikiExtractor output, which has no markup left.

Not for: expanding templates (their text is dropped, except infobox values, citations and a few
inline templates such as ``{{lang}}`` and ``{{convert}}``), rendering HTML, or checking markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from wikisearch.ingest import wikiscan as ws
from wikisearch.ingest import wikitext as wt
from wikisearch.ingest.dump import SiteInfo
from wikisearch.ingest.site import unescape_html

__all__ = ["Fields", "parse_wikitext", "parse_plaintext", "parse_reference", "field_texts"]

_DEFAULT_SITE = SiteInfo.synthesize("en")


@dataclass(slots=True)
class Fields:
    """The searchable fields of one page (see ``config.FIELDS``; ``redirect`` comes from dump)."""

    title: str
    opening: str = ""                   # readable text of the lead section
    headings: list[str] = field(default_factory=list)
    body: str = ""                      # readable text of the other non-reference sections
    infobox: str = ""                   # "key value" lines of the infobox templates
    infobox_keys: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    references: str = ""                # <ref> texts, then References/External links/... sections


def field_texts(fields: Fields) -> dict[str, str]:
    """The text to analyze for each field of ``config.FIELDS`` but ``redirect``.

    >>> field_texts(Fields("A", headings=["x", "y"]))["heading"]
    'x\\ny'
    """
    return {"title": fields.title, "opening": fields.opening,
            "heading": "\n".join(fields.headings), "body": fields.body,
            "infobox": fields.infobox, "category": "\n".join(fields.categories),
            "link": "\n".join(fields.links), "reference": fields.references}


# --------------------------------------------------------------------------------------------
# Fast path
# --------------------------------------------------------------------------------------------

def parse_wikitext(text: str, title: str, siteinfo=None) -> Fields:
    """Fields of a page's wikitext, in time linear in its length.

    ``siteinfo`` (a ``dump.SiteInfo``) gives localized namespace names and title normalisation;
    without it, English namespace names and first-letter capitalisation are assumed.

    >>> f = parse_wikitext("'''Ulm''' is a [[city]] on the [[Danube|river Danube]].\\n"
    ...                    "== History ==\\nOld.<ref>{{cite book|title=Ulm}}</ref>\\n"
    ...                    "[[Category:Cities in Germany]]", "Ulm")
    >>> f.opening, f.headings, f.body, f.links, f.categories, f.references
    ('Ulm is a city on the river Danube.', ['History'], 'Old.', ['City', 'Danube'], \
['Cities in Germany'], 'Ulm')
    """
    site = wt.site_for(siteinfo if siteinfo is not None else _DEFAULT_SITE)
    if wt.SEP in text:                        # XML cannot hold it; other inputs might
        text = text.replace(wt.SEP, " ")
    t, refs = ws.extract_tags(ws.strip_comments(text))
    links: list[str] = []
    categories: list[str] = []
    redirect = wt.REDIRECT.match(t)
    if redirect:
        _add_target(site, redirect.group(1), links, categories)
        t = t[redirect.end():]
    _add_targets(site, ws.link_targets(t), links, categories)
    for ref in refs:
        _add_targets(site, ws.link_targets(ref), links, categories)
    fields = _sections(t, refs, site)
    fields.title = title
    fields.links = links
    fields.categories = list(dict.fromkeys(categories))
    return fields


def _add_targets(site: wt.Site, targets: list[str], links: list, categories: list) -> None:
    cached, classify = site.cache.get, site.classify   # hot loop: ~1 link per 100 bytes
    for target in targets:
        kind, value = cached(target) or classify(target)
        if kind == wt.LINK:
            links.append(value)
        elif kind == wt.CATEGORY:
            categories.append(value)


def _add_target(site: wt.Site, target: str, links: list, categories: list) -> None:
    kind, value = site.classify(target)
    if kind == wt.LINK:
        links.append(value)
    elif kind == wt.CATEGORY:
        categories.append(value)


def _sections(t: str, refs: list[str], site: wt.Site) -> Fields:
    """Render the sections, headings, refs and infobox values of ``t``, then strip the inline
    markup of all of them in one pass over their joined text."""
    main = ws.Renderer(t, site)
    heads = ws.find_headings(t, main.spans)
    bounds = [0] + [h[0] for h in heads] + [len(t)]
    pieces = [main.render(0, bounds[1], "body")]
    titles = [main.render(lo, hi, "body") for _, _, _, lo, hi in heads]
    plain = [_quick_heading(s, site) for s in titles]
    roles = wt.reference_sections([(h[2], p) for h, p in zip(heads, plain)])
    pieces += titles
    pieces += [main.render(h[1], bounds[i + 2], "body") for i, h in enumerate(heads)]
    if not main.infobox:
        main.collect_unnamed_infobox(0, bounds[1])
    ref_box = ws.Renderer(wt.SEP.join(refs), site)
    if refs:
        pieces.append(ref_box.render(0, len(ref_box.t), "value"))
    boxes = main.infobox + ref_box.infobox
    pieces += [value for _, value in boxes]
    texts = _inline_all(pieces, site)
    nh = len(heads)
    sections, rest = texts[1 + nh:1 + 2 * nh], texts[1 + 2 * nh:]
    ref_texts, values = rest[:len(refs)], rest[len(refs):]
    infobox = [(key, " ".join(v.split("\n"))) for (key, _), v in zip(boxes, values) if v]
    return Fields(
        title="", opening=texts[0], headings=[h for h in texts[1:1 + nh] if h],
        body="\n".join(s for s, ref in zip(sections, roles) if s and not ref),
        infobox="\n".join(f"{k} {v}" if k else v for k, v in infobox),
        infobox_keys=[k for k, _ in infobox if k],
        references="\n".join([r for r in ref_texts if r] +
                             [s for s, ref in zip(sections, roles) if s and ref]))


def _quick_heading(raw: str, site: wt.Site) -> str:
    # Most headings are plain words: skip the regex passes for them.
    return ws.inline(raw, site) if any(c in raw for c in "[<'&{") else raw.strip()


def _inline_all(pieces: list[str], site: wt.Site) -> list[str]:
    """:func:`_wikitext.inline` of each piece, as one call on the joined text."""
    out = ws.inline(wt.JOIN.join(pieces), site).split(wt.SEP)
    expected = sum(p.count(wt.SEP) for p in pieces) + len(pieces)
    if len(out) != expected:                 # never seen; keep the pieces apart if it happens
        out = wt.SEP.join(ws.inline(p, site) for p in pieces).split(wt.SEP)
    return [p.strip() for p in out]


# --------------------------------------------------------------------------------------------
# WikiExtractor plain text
# --------------------------------------------------------------------------------------------

def parse_plaintext(text: str, title: str) -> Fields:
    """Fields of a WikiExtractor ``<doc>``: one paragraph a line, headings kept as short lines
    ending in "." ("Etymology and terminology."), no markup, infoboxes, categories or links.

    The lead (the lines before the first heading) is the opening, as for wikitext; sections
    titled like References go to ``references``.

    >>> f = parse_plaintext("Ulm\\n\\nUlm is a city.\\nHistory.\\nOld town.", "Ulm")
    >>> f.opening, f.headings, f.body
    ('Ulm is a city.', ['History'], 'Old town.')
    """
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if lines and lines[0] == title.strip():
        lines = lines[1:]                     # WikiExtractor repeats the title first
    lead: list[str] = []
    sections: list[list[str]] = []
    heads: list[str] = []
    for i, line in enumerate(lines):
        # A heading has something after it; the first line is the lead's.
        if 0 < i < len(lines) - 1 and _is_plain_heading(line):
            heads.append(line[:-1].strip())
            sections.append([])
        else:
            (sections[-1] if sections else lead).append(line)
    roles = wt.reference_sections([(2, h) for h in heads])
    texts = ["\n".join(s) for s in sections]
    return Fields(title=title, opening="\n".join(lead), headings=heads,
                  body="\n".join(t for t, ref in zip(texts, roles) if t and not ref),
                  references="\n".join(t for t, ref in zip(texts, roles) if t and ref))


def _is_plain_heading(line: str) -> bool:
    # Short, one phrase (no ". " inside), one final full stop, not starting in lower case.
    # A one-sentence paragraph this short ("He retired.") passes too: rare, and harmless.
    return (len(line) <= 80 and line.endswith(".") and not line.endswith("..")
            and ". " not in line and not line[0].islower())


# --------------------------------------------------------------------------------------------
# Reference parser (mwparserfromhell)
# --------------------------------------------------------------------------------------------

def parse_reference(text: str, title: str, siteinfo=None) -> Fields:
    """The same fields from mwparserfromhell's parse tree: slow, obvious, the tests' oracle.

    >>> parse_reference("[[A|b]] {{Infobox x|k=v}}[[Category:C|s]]", "T").infobox_keys
    ['k']
    """
    import mwparserfromhell

    site = wt.site_for(siteinfo if siteinfo is not None else _DEFAULT_SITE)
    links: list[str] = []
    categories: list[str] = []
    redirect = wt.REDIRECT.match(text)
    if redirect:
        _add_target(site, redirect.group(1), links, categories)
        text = text[redirect.end():]
    # skip_style_tags: mwparserfromhell drops whole templates and links over unbalanced bold or
    # italic quotes (MediaWiki closes them at the line end); quotes left over are no words.
    code = mwparserfromhell.parse(text, skip_style_tags=True)
    for link in code.filter_wikilinks(recursive=True):
        _add_target(site, str(link.title), links, categories)
    walker = _Walker(site)
    out: list = []
    walker.walk(code, "body", out, top=True)
    refs = [walker.text(tag.contents, "value") for tag in code.filter_tags(
        recursive=True, matches=lambda n: str(n.tag).strip().lower() == "ref")
        if tag.contents is not None and not tag.self_closing]
    if not walker.infobox:
        walker.unnamed_infobox(code)
    fields = _assemble(out, refs, walker.infobox, site)
    fields.title = title
    fields.links = links
    fields.categories = list(dict.fromkeys(categories))
    return fields


class _Heading:
    __slots__ = ("level", "title")

    def __init__(self, level: int, title: str):
        self.level, self.title = level, title


class _Walker:
    """Renders mwparserfromhell nodes under the shared policy of ``_wikitext``."""

    _BLOCK = frozenset(["br", "p", "div", "li", "hr", "tr", "td", "th", "dd", "dt", "dl",
                        "blockquote", "table", "ul", "ol", "center", "poem", "caption",
                        "h1", "h2", "h3", "h4", "h5", "h6"])

    def __init__(self, site: wt.Site):
        self.site = site
        self.infobox: list[list] = []

    def text(self, code, mode: str) -> str:
        out: list = []
        self.walk(code, mode, out, top=False)
        return "".join(s if isinstance(s, str) else s.title for s in out)

    def walk(self, code, mode: str, out: list, top: bool) -> None:
        from mwparserfromhell import nodes as n

        nodes = code.nodes
        for i, node in enumerate(nodes):
            if isinstance(node, n.Text):
                out.append(str(node))
            elif isinstance(node, n.HTMLEntity):
                out.append(node.normalize())
            elif isinstance(node, n.Heading):
                title = self.text(node.title, mode)
                if top and _ends_line(nodes, i + 1):
                    out.append(_Heading(node.level, title))
                else:                         # "== A == text": MediaWiki sees no heading
                    out.append("\n" + "=" * node.level + title + "=" * node.level)
            elif isinstance(node, n.Wikilink):
                out.append(self._link(node, mode))
            elif isinstance(node, n.ExternalLink):
                out.append(self.text(node.title, mode) if node.brackets and node.title else "")
            elif isinstance(node, n.Template):
                out.append(self._template(node, mode))
            elif isinstance(node, n.Tag):
                self._tag(node, mode, out, top)
            # Comment, Argument: nothing to read

    def _link(self, node, mode: str) -> str:
        target = str(node.title)
        text = None if node.text is None else str(node.text)
        if ":" not in target:
            return self.text(node.text, mode) if text else target
        kind, _ = self.site.classify(target)
        if kind in (wt.CATEGORY, wt.LANGLINK):
            return ""
        if kind == wt.FILE:
            caption = _last_top_level_part(text) if text else ""
            return "" if wt.FILE_OPTION.fullmatch(caption) else self.text(_parse(caption), mode)
        return self.text(node.text, mode) if text else target.lstrip(" :")

    def _template(self, node, mode: str) -> str:
        kind = self._kind(node)
        if kind == "none" or (kind == "drop" and mode == "body"):
            return ""
        params = self._params(node)
        if kind == "infobox":
            self._collect(params)
            return ""
        keep = wt.kept_args(kind, mode, [key for key, _ in params])
        sub = "value" if kind == "cite" else mode
        return " ".join(self.text(params[i][1], sub) for i in keep)

    def unnamed_infobox(self, code) -> None:
        """The first lead template laid out like an infobox, when none is named like one."""
        from mwparserfromhell import nodes as n

        for i, node in enumerate(code.nodes):
            if isinstance(node, n.Heading) and _ends_line(code.nodes, i + 1):
                return
            if isinstance(node, n.Template) and self._kind(node) == "drop":
                params = self._params(node)
                if wt.looks_like_infobox([(k, _no_comments(v)) for k, v in params]):
                    self._collect(params)
                    return

    def _kind(self, node) -> object:
        return self.site.template_kind(_no_comments(node.name))

    @staticmethod
    def _params(node) -> list:
        return [(_no_comments(p.name).strip() if p.showkey else None, p.value)
                for p in node.params]

    def _collect(self, params: list) -> None:
        for key, value in params:
            if str(value):
                slot = [key, None]
                self.infobox.append(slot)
                slot[1] = self.text(value, "value")

    def _tag(self, node, mode: str, out: list, top: bool) -> None:
        name = str(node.tag).strip().lower()
        if name == "ref" or name in wt.DROPPED_TAGS:
            return                            # refs are read apart, in document order
        if name in ("nowiki", "pre"):
            out.append(str(node.contents) if node.contents is not None else "")
            return
        block = name in self._BLOCK
        if block:
            out.append("\n")
        if node.contents is not None and not node.self_closing:
            self.walk(node.contents, mode, out, top)
        if block:
            out.append("\n")


def _no_comments(code) -> str:
    from mwparserfromhell.nodes import Comment

    return "".join(str(node) for node in code.nodes if not isinstance(node, Comment))


def _ends_line(nodes, i: int) -> bool:
    """Whether only spaces and comments stand between ``nodes[i]`` and the end of its line."""
    from mwparserfromhell import nodes as n

    for node in nodes[i:]:
        if isinstance(node, n.Comment):
            continue
        if not isinstance(node, n.Text):
            return False
        rest = str(node).lstrip(" \t")
        if rest:
            return rest[0] == "\n"
    return True


def _parse(text: str):
    import mwparserfromhell

    return mwparserfromhell.parse(text, skip_style_tags=True)


def _last_top_level_part(text: str) -> str:
    """The text after the last ``|`` outside ``[[ ]]`` and ``{{ }}``."""
    depth, cut, i = 0, 0, 0
    while i < len(text):
        two = text[i:i + 2]
        if two in ("[[", "{{"):
            depth, i = depth + 1, i + 2
            continue
        if two in ("]]", "}}"):
            depth, i = max(0, depth - 1), i + 2
            continue
        if text[i] == "|" and depth == 0:
            cut = i + 1
        i += 1
    return text[cut:]


def _assemble(out: list, refs: list[str], boxes: list[list], site: wt.Site) -> Fields:
    """Fields from a walk's output: text pieces cut into sections at the headings."""
    lead, sections, heads = [], [], []
    for item in out:
        if isinstance(item, _Heading):
            heads.append(item)
            sections.append([])
        else:
            (sections[-1] if sections else lead).append(item)
    clean = [_clean("".join(p)) for p in [lead] + sections]
    titles = [_clean(h.title) for h in heads]
    roles = wt.reference_sections([(h.level, t) for h, t in zip(heads, titles)])
    infobox = [(key, " ".join(_clean(v).split("\n"))) for key, v in boxes]
    infobox = [(k, v) for k, v in infobox if v]
    ref_texts = [_clean(r) for r in refs]
    return Fields(
        title="", opening=clean[0], headings=[t for t in titles if t],
        body="\n".join(s for s, ref in zip(clean[1:], roles) if s and not ref),
        infobox="\n".join(f"{k} {v}" if k else v for k, v in infobox),
        infobox_keys=[k for k, _ in infobox if k],
        references="\n".join([r for r in ref_texts if r] +
                             [s for s, ref in zip(clean[1:], roles) if s and ref]))


def _clean(s: str) -> str:
    # Bold and italic quotes are text under skip_style_tags; they go here, as in the fast path.
    # Entities mwparserfromhell leaves as text (in headings, for one) are decoded, as there.
    s = _QUOTES.sub("", s)
    return wt.cleanup(unescape_html(s) if "&" in s else s).strip()


_QUOTES = re.compile(r"''+")
