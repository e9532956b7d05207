"""Linear-time wikitext scanners behind :func:`wikisearch.ingest.parse.parse_wikitext`.

Nothing is scanned twice: comments and extension tags are cut with ``str.find`` (remembering
tags that never close), template braces are matched in one stack pass over the brace runs, and
the inline markup (tables, links, tags, quotes) goes in a fixed number of regex passes over all
of a page's pieces joined by :data:`~wikisearch.ingest.wikitext.SEP`. What the pieces mean is the
policy of ``_wikitext.py``.
"""
from __future__ import annotations

import re
from bisect import bisect_right

from wikisearch.ingest.site import unescape_html
from wikisearch.ingest.wikitext import (
    BARE_URL, DROPPED_TAGS, SEP, Site, cleanup, kept_args, looks_like_infobox)

# --------------------------------------------------------------------------------------------
# Scanners
# --------------------------------------------------------------------------------------------

#: Extension tags whose content is not wikitext (mwparserfromhell's parser blacklist, plus
#: maps): dropped, except nowiki/pre (kept as literal text) and ref (kept aside as a reference).
_EXT_TAG = re.compile(r"<(ref|nowiki|pre|math|chem|ce|timeline|graph|score|hiero|syntaxhighlight"
                      r"|source|templatedata|mapframe|maplink|imagemap|gallery|categorytree"
                      r"|inputbox|section)(?=[\s/>])([^<>]*?)(/?)>", re.I)
_CLOSERS: dict[str, re.Pattern] = {}
_LITERAL = str.maketrans("[]{}|'<>=", "         ")   # nowiki text must not become markup
_BRACES = re.compile(r"\{\{+|\}\}+|\x1e")
# Link text runs to the first "]]" and holds no "[[" (MediaWiki splits the text at "[["
# first), so "[[A|b] [[C]]" links C only; file captions with links are matched inside out.
_LINK_TEXT = r"[^\[\]\x1e]*(?:(?:\[(?!\[)|\](?!\]))[^\[\]\x1e]*)*"
_LINK_TARGET = re.compile(r"\[\[([^\[\]|\n]*)(?:\||(?=\]\]))" + _LINK_TEXT + r"\]\]")
_LINK_MASK = re.compile(r"\[\[" + _LINK_TEXT + r"\]\]")


def strip_comments(t: str) -> str:
    """Remove ``<!-- ... -->``; an unclosed comment runs to the end, as in MediaWiki."""
    i = t.find("<!--")
    if i < 0:
        return t
    out, pos = [], 0
    while i >= 0:
        out.append(t[pos:i])
        j = t.find("-->", i + 4)
        if j < 0:
            pos = len(t)
            break
        pos = j + 3
        i = t.find("<!--", pos)
    out.append(t[pos:])
    return "".join(out)


def extract_tags(t: str) -> tuple[str, list[str]]:
    """Cut extension tags out of ``t``: returns the text without them and the raw contents of
    its ``<ref>`` tags (self-closing ``<ref name=x/>`` reuses have none).

    >>> extract_tags("a<ref>b</ref> <math>x</math>c<nowiki>[[d]]</nowiki>")
    ('a c  d  ', ['b'])
    """
    m = _EXT_TAG.search(t)
    if m is None:
        return t, []
    out, refs, unclosed, pos = [], [], set(), 0
    while m is not None:
        name = m.group(1).lower()
        out.append(t[pos:m.start()])
        pos = m.end()
        if not m.group(3) and name not in unclosed:
            closer = _CLOSERS.get(name)
            if closer is None:
                closer = _CLOSERS[name] = re.compile(r"</%s\s*>" % name, re.I)
            c = closer.search(t, pos)
            if c is None:
                unclosed.add(name)        # no later opening of this tag can be closed either
            else:
                body, pos = t[pos:c.start()], c.end()
                if name == "ref":
                    body, inner = extract_tags(body)
                    refs.append(body)
                    refs.extend(inner)
                elif name not in DROPPED_TAGS:
                    out.append(body.translate(_LITERAL))
        m = _EXT_TAG.search(t, pos)
    out.append(t[pos:])
    return "".join(out), refs


class Spans:
    """The templates (``{{...}}``) and arguments (``{{{...}}}``) of a text, sorted by start.

    ``nexts[i]`` is the index of the first span after span ``i`` that it does not contain, so
    the spans directly inside ``i`` are ``i + 1``, ``nexts[i + 1]``, ... while they start
    before ``ends[i]``.
    """

    __slots__ = ("starts", "ends", "nexts", "braces", "n")

    def __init__(self, t: str):
        found = _match_braces(t)
        found.sort()
        self.starts = [s for s, _, _ in found]
        self.ends = [e for _, e, _ in found]
        self.braces = [b for _, _, b in found]
        self.n = n = len(found)
        nexts, open_ = [n] * n, []
        for j, s in enumerate(self.starts):
            while open_ and s >= self.ends[open_[-1]]:
                nexts[open_.pop()] = j
            open_.append(j)
        self.nexts = nexts

    def top_level(self) -> list[int]:
        out, j = [], 0
        while j < self.n:
            out.append(j)
            j = self.nexts[j]
        return out


def _match_braces(t: str) -> list[tuple[int, int, int]]:
    """MediaWiki's brace matching in one pass: runs of ``{`` are pushed; a run of ``}`` closes
    the innermost open run three braces at a time (an argument) when both sides have three,
    else two (a template). Unmatched braces are text. SEP resets, so pieces never pair up."""
    stack, found = [], []
    for m in _BRACES.finditer(t):
        s = m.start()
        c = t[s]
        if c == "{":
            stack.append([s, m.end() - s])
        elif c == SEP:
            stack.clear()
        else:
            run = m.end() - s
            while run >= 2 and stack:
                top = stack[-1]
                k = 3 if top[1] >= 3 and run >= 3 else 2
                top[1] -= k
                found.append((top[0] + top[1], s + k, k))
                s += k
                run -= k
                if top[1] < 2:
                    stack.pop()
    return found


def heading_lines(t: str):
    """``(line_start, line_end, left, right, body_end)`` of each line that starts and ends
    (but for spaces and tabs) with runs of "=": ``left`` and ``right`` are their lengths. The
    same lines and runs as the regex ``^(=+)[ \\t]*([^\\n]*?)[ \\t]*(=+)[ \\t]*$`` (tests
    compare them), which backtracked cubically in a long line of "=" that does not end in one;
    this takes a few linear string operations per line that starts with "="."""
    n = len(t)
    pos = 0 if t.startswith("=") else t.find("\n=") + 1
    while pos > 0 or (pos == 0 and n and t[0] == "="):
        end = t.find("\n", pos)
        end = n if end < 0 else end
        body = t[pos:end].rstrip(" \t")
        left = len(body) - len(body.lstrip("="))
        right = len(body) - len(body.rstrip("="))
        if left == len(body):                 # only "=": the regex kept one for the right side
            left, right = left - 1, 1
        if left >= 1 and right >= 1:
            yield pos, end, left, right, pos + len(body)
        pos = t.find("\n=", end) + 1
        if pos == 0:
            return


def find_headings(t: str, spans: Spans) -> list[tuple[int, int, int, int, int]]:
    """``(line_start, line_end, level, text_start, text_end)`` of each heading line outside
    templates."""
    tops = spans.top_level()
    starts = [spans.starts[j] for j in tops]
    out = []
    for start, end, left, right, body_end in heading_lines(t):
        k = bisect_right(starts, start) - 1
        if k >= 0 and spans.ends[tops[k]] > start:
            continue                      # "== x ==" inside a template argument
        level = min(left, right, 6)
        lo, hi = start + level, body_end - level
        if lo < hi:                           # "==  ==" is an empty heading, "====" none
            out.append((start, end, level, lo, hi))
    return out


def link_targets(t: str):
    """Targets of the ``[[...]]`` links in ``t`` in order (nested ones too)."""
    return _LINK_TARGET.findall(t)


class Renderer:
    """A text with its templates rendered: readable wikitext comes back from :meth:`render`,
    infobox parameters gather in ``infobox`` as ``[key or None, rendered value]``."""

    def __init__(self, t: str, site: Site):
        self.t = t
        self.site = site
        self.spans = Spans(t) if "{{" in t else _NO_SPANS
        self.infobox: list[list] = []

    def render(self, lo: int, hi: int, mode: str = "body", depth: int = 0) -> str:
        """``t[lo:hi]`` with each template in it rendered in ``mode`` ("body" or "value")."""
        sp, t = self.spans, self.t
        j = bisect_right(sp.starts, lo - 1)
        if j >= sp.n or sp.starts[j] >= hi:
            return t[lo:hi]
        out, pos, starts, ends, nexts = [], lo, sp.starts, sp.ends, sp.nexts
        while j < sp.n and starts[j] < hi:
            out.append(t[pos:starts[j]])
            out.append(self._template(j, mode, depth))
            pos, j = ends[j], nexts[j]
        out.append(t[pos:hi])
        return "".join(out)

    def kind(self, j: int) -> object:
        """:func:`template_kind` of span ``j`` ("none" for arguments and computed names)."""
        sp, t = self.spans, self.t
        if sp.braces[j] == 3:
            return "none"                     # {{{arguments}}}
        lo, hi = sp.starts[j] + 2, sp.ends[j] - 2
        stop = sp.starts[j + 1] if j + 1 < sp.n and sp.starts[j + 1] < hi else hi
        bar = t.find("|", lo, stop)
        if bar < 0 and stop < hi:
            return "none"                     # the name itself is built by a template
        return self.site.template_kind(t[lo:bar if bar >= 0 else stop])

    def _template(self, j: int, mode: str, depth: int) -> str:
        if depth > 40:                        # absurd nesting: no recursion limit hit, no text
            return ""
        kind = self.kind(j)
        if kind == "none" or (kind == "drop" and mode == "body"):
            return ""
        params = self._params(j)
        if kind == "infobox":
            self.collect(params, depth)
            return ""
        keep = kept_args(kind, mode, [key for key, _, _ in params])
        sub = "value" if kind == "cite" else mode
        return " ".join(self.render(params[i][1], params[i][2], sub, depth + 1) for i in keep)

    def collect(self, params: list, depth: int = 0) -> None:
        """Add an infobox's parameters (as :meth:`_params` gives them) to ``infobox``."""
        for key, vlo, vhi in params:
            if vhi > vlo:
                slot = [key, None]            # keys keep document order around nested boxes
                self.infobox.append(slot)
                slot[1] = self.render(vlo, vhi, "value", depth + 1)

    def collect_unnamed_infobox(self, lo: int, hi: int) -> None:
        """No template is named like an infobox: take the first one in ``t[lo:hi]`` (the lead)
        laid out like one (see :func:`looks_like_infobox`), e.g. ukwiki's ``{{Гімн``."""
        sp = self.spans
        j = bisect_right(sp.starts, lo - 1)
        while j < sp.n and sp.starts[j] < hi:
            if self.kind(j) == "drop":
                params = self._params(j)
                if looks_like_infobox([(k, self.t[a:b]) for k, a, b in params]):
                    self.collect(params)
                    return
            j = sp.nexts[j]

    def _params(self, j: int) -> list[tuple[str | None, int, int]]:
        """``(key or None, value_start, value_end)`` of template ``j``'s parameters: split at the
        pipes outside nested templates and links, named when an ``=`` precedes the value."""
        sp, t = self.spans, self.t
        lo, hi = sp.starts[j] + 2, sp.ends[j] - 2
        pieces, pos, k = [], lo, j + 1
        while k < sp.n and sp.starts[k] < hi:
            pieces.append(t[pos:sp.starts[k]])
            pieces.append("\x00" * (sp.ends[k] - sp.starts[k]))
            pos, k = sp.ends[k], sp.nexts[k]
        pieces.append(t[pos:hi])
        masked = "".join(pieces)
        if "[[" in masked:                    # two rounds: file captions hold links
            masked = _LINK_MASK.sub(_zeros, _LINK_MASK.sub(_zeros, masked))
        parts = masked.split("|")
        out, off = [], lo + len(parts[0]) + 1
        for part in parts[1:]:
            end = off + len(part)
            eq = part.find("=")
            out.append((t[off:off + eq].strip(), off + eq + 1, end) if eq >= 0
                       else (None, off, end))
            off = end + 1
        return out


def _zeros(m: re.Match) -> str:
    return "\x00" * (m.end() - m.start())


_NO_SPANS = Spans("")


# --------------------------------------------------------------------------------------------
# Inline markup
# --------------------------------------------------------------------------------------------

_TABLE_EDGE = re.compile(r"^[ \t]*(?:\{\||\|\}|\|-)[^\n\x1e]*", re.M)
# "attrs |" opens a cell; "attrs|||" too, when a dropped template left the cell empty.
# Attributes never hold "!!" (a header cell separator), so that a scan from one separator stops
# at the next: without it, a line of many "!!a=" was quadratic.
_CELL_ATTRS = (r"(?:(?:[^\n|\[\]{}=\x1e!]|!(?!!))*=(?:[^\n|\[\]{}\x1e!]|!(?!!))*+\|"
               r"(?:(?!\|)|(?=\|\|)))?")
_CELL = re.compile(r"^[ \t]*(?:\|\+|\||!)" + _CELL_ATTRS, re.M)
_CELL_SEP = re.compile(r"(?:\|\||!!)" + _CELL_ATTRS)
# An external link's head: "[", a protocol, the URL. Its text runs to the first "]" of the line
# (see _ext_links: a regex's text part made a line of many unclosed "[http:" quadratic).
_EXT_LINK_HEAD = re.compile(r"\[(?:(?:https?|ftps?|ircs?|news|mailto|gopher|telnet|nntp|svn|git|ssh"
                            r"|sftp|mms|worldwind|redis|tel|urn|geo|sms|sips?|xmpp|bitcoin|magnet):"
                            r"|//)[^\s\[\]<>\"\x1e]*+", re.I)
_LINK = re.compile(r"\[\[([^\[\]|\n\x1e]*)(?:\|(" + _LINK_TEXT + r"))?\]\]")
_BLOCK_TAG = re.compile(r"<(?:/?br|/?p|/?div|/?li|hr|/?tr|/?td|/?th|/?h[1-6]|/?dd|/?dt|/?dl"
                        r"|/?blockquote|/?table|/?ul|/?ol|/?center|/?poem)\b[^<>\x1e]*>", re.I)
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|big|blockquote|caption|center|cite|code|data|del|dfn|em|font|i"
    r"|ins|kbd|mark|q|rb|rp|rt|rtc|ruby|s|samp|small|span|strike|strong|sub|sup|tbody|tfoot"
    r"|thead|time|tt|u|var|wbr|ref|references|nowiki|noinclude|includeonly|onlyinclude"
    r"|templatestyles|indicator|section|gallery|math|pre|score|charinsert|languages|translate"
    r"|tvar|img|meta|link)\b[^<>\x1e]*>", re.I)
_QUOTES = re.compile(r"''+")


class _NextOf:
    """Position of the next ``char`` at or after a position, for positions that only grow:
    each ``str.find`` resumes past the last answer, so all calls together scan the text once."""

    __slots__ = ("s", "char", "at")

    def __init__(self, s: str, char: str):
        self.s, self.char, self.at = s, char, -1

    def __call__(self, pos: int) -> int:
        if self.at < pos and self.at != len(self.s):
            self.at = self.s.find(self.char, pos)
            if self.at < 0:
                self.at = len(self.s)
        return self.at


def ext_links_text(s: str) -> str:
    """``[http://url text]`` -> ``text`` (the text runs to the first ``]`` of its line; a head
    with none is left as it is). Linear: the next ``]``, newline and SEP are found once each.

    >>> ext_links_text("a [http://x.org the X] b [//y c")
    'a the X b [//y c'
    """
    out, pos = [], 0
    close, newline, sep = _NextOf(s, "]"), _NextOf(s, "\n"), _NextOf(s, SEP)
    m = _EXT_LINK_HEAD.search(s)
    while m is not None:
        end = close(m.end())
        if end < newline(m.end()) and end < sep(m.end()):
            out.append(s[pos:m.start()])
            out.append(s[m.end():end])
            pos = end + 1
            m = _EXT_LINK_HEAD.search(s, pos)
        else:                       # no "]" on this line: not a link; the next "[" may be one
            m = _EXT_LINK_HEAD.search(s, m.start() + 1)
    out.append(s[pos:])
    return "".join(out)


def strip_tables(s: str) -> str:
    """Table markup out, cell text kept one cell a line (``{| |- | ! || !! |}`` and attributes)."""
    s = _TABLE_EDGE.sub("", s)
    s = _CELL.sub("", s)
    return _CELL_SEP.sub("\n", s)


def inline(s: str, site: Site) -> str:
    """Readable text of template-free wikitext: tables, links, external links, HTML tags,
    bold/italic, entities, list markers and extra whitespace out.

    >>> inline("'''[[Berlin|Ber]]lin''' is [http://x.de big].[[Category:X]]", Site())
    'Berlin is big.'
    """
    if "[" in s:
        s = ext_links_text(s)
    if "//" in s:                             # before tables: "!!" in a URL is no cell break
        s = BARE_URL.sub("", s)
    if "[[" in s:
        for _ in range(3):                    # innermost links first: captions hold links
            s, n = _LINK.subn(site.link_text, s)
            if not n or "[[" not in s:
                break
    if "{|" in s:
        s = strip_tables(s)
    if "<" in s:
        s = _HTML_TAG.sub("", _BLOCK_TAG.sub("\n", s))
    if "''" in s:
        s = _QUOTES.sub("", s)
    if "&" in s:
        s = unescape_html(s)
    return cleanup(s)
