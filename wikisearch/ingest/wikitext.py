"""Wikitext policy shared by the fast parser (``_wikiscan.py``) and the mwparserfromhell
reference (``parse.py``): which templates are infoboxes or citations and which of their
arguments are text, which link prefixes are categories, files or other wikis, which sections
hold references, and the final text clean-up. Sharing it makes the tests compare two *parsers*,
not two opinions.
"""
from __future__ import annotations

import re

from wikisearch.ingest.site import unescape_html

#: Joins independent pieces (sections, refs, infobox values) so one regex pass serves them all;
#: no scanner consumes it, and it is never in real text (XML 1.0 forbids it).
SEP = "\x1e"
JOIN = "\n" + SEP + "\n"          # the newlines keep each piece's first line a line start

# --------------------------------------------------------------------------------------------
# Policy shared with the reference parser
# --------------------------------------------------------------------------------------------

#: Wikipedia language editions: ``[[de:Berlin]]`` is an interlanguage link, not an article link.
LANGUAGES = frozenset("""
aa ab ace ady af ak als alt am ami an ang anp ar arc ary arz as ast atj av avk awa ay az azb ba
ban bar bat-smg bbc bcl be be-tarask be-x-old bg bh bi bjn blk bm bn bo bpy br bs bug bxr ca
cbk-zam cdo ce ceb ch cho chr chy ckb co cr crh cs csb cu cv cy da dag de din diq dsb dty dv dz
ee el eml en eo es et eu ext fa fat ff fi fiu-vro fj fo fr frp frr fur fy ga gag gan gcr gd gl
glk gn gom gor got gpe gu guc gur guw gv ha hak haw he hi hif ho hr hsb ht hu hy hyw hz ia id ie
ig ii ik ilo inh io is it iu ja jam jbo jv ka kaa kab kbd kbp kcg kg ki kj kk kl km kn ko koi kr
krc ks ksh ku kv kw ky la lad lb lbe lez lfn lg li lij lld lmo ln lo lrc lt ltg lv mad mai
map-bms mdf mg mh mhr mi min mk ml mn mni mnw mo mr mrj ms mt mus mwl my myv mzn na nah nap nb
nds nds-nl ne new ng nia nl nn no nov nqo nrm nso nv ny oc olo om or os pa pag pam pap pcd pcm
pdc pfl pi pih pl pms pnb pnt ps pt pwn qu rm rmy rn ro roa-rup roa-tara ru rue rw sa sah sat sc
scn sco sd se sg sh shi shn si simple sk skr sl sm smn sn so sq sr srn ss st stq su sv sw szl szy
ta tay tcy te tet tg th ti tk tl tn to tpi tr trv ts tt tum tw ty tyv udm ug uk ur uz ve vec vep
vi vls vo wa war wo wuu xal xh xmf yi yo yue za zea zgh zh zh-classical zh-min-nan zh-yue zu
""".split())

#: Other wikis and sites of the default interwiki map (``[[wikt:word]]``, ``[[commons:File:x]]``).
INTERWIKI_PREFIXES = frozenset("""
w wikipedia wikt wiktionary q wikiquote b wikibooks s wikisource n wikinews v wikiversity voy
wikivoyage species wikispecies c commons m meta metawikimedia mw mediawikiwiki d wikidata
wikimedia foundation wmf wikitech phab phabricator incubator outreach betawiki translatewiki
doi arxiv rfc iarchive gutenberg wikia fandom google imdbname imdbtitle oeis
""".split())

#: File namespace names and aliases MediaWiki accepts besides the siteinfo's own (lowercase).
FILE_ALIASES = frozenset(["file", "image", "media", "εικόνα", "画像", "ファイル", "изображение",
                          "зображення", "файл", "hình", "tập tin", "चित्र", "ছবি", "চিত্র",
                          "պատկեր", "картинка", "bild", "datei", "imagen", "archivo", "imagem",
                          "immagine", "afbeelding", "plik", "grafika", "fichier"])

#: Localised names of infobox templates (lowercase prefixes): en/es/uk/ru/bg/el/hy/bn/mr/ja/vi...
INFOBOX_PREFIXES = (
    "infobox", "info box", "ficha", "картка", "карточка", "инфокутия", "κουτί πληροφοριών",
    "տեղեկաքարտ", "তথ্যছক", "माहितीचौकट", "基礎情報", "hộp thông tin", "thông tin",
    "boîte d'information", "infocaseta", "bilgi kutusu",
)
#: ... and words that make any template an infobox wherever they occur in its name.
INFOBOX_INFIXES = ("infobox", "taxobox", "chembox", "drugbox", "speciesbox", "geobox",
                   "elementbox")
#: Citation templates: their arguments are the readable text, even in the body.
CITE_PREFIXES = ("cite", "citation", "vcite", "chú thích", "harv", "книга", "статья",
                 "стаття", "публікація")
CITE_INFIXES = ("উদ্ধৃতি", "स्रोत", "cite ")

#: Templates that never carry readable text, even inside a ref or an infobox value.
NO_TEXT = frozenset([
    "reflist", "references", "refbegin", "refend", "notelist", "notes", "примітки", "примечания",
    "coord", "coord missing", "authority control", "clear", "clr", "-", "!", "=", "·", "•",
    "nbsp", "sp", "spaces", "dead link", "cbignore", "webarchive", "efn", "sfn",
])

#: Inline templates whose arguments are readable body text: name -> which positional
#: arguments to keep ("all", "last", or a count of leading ones) and which named ones.
INLINE = {
    **dict.fromkeys(["nowrap", "nobr", "small", "smaller", "big", "larger", "em", "strong", "sub",
                     "sup", "sic", "nihongo", "nihongo2", "frac", "fraction", "circa", "c.",
                     "as of", "plainlist", "plain list", "flatlist", "flat list", "hlist",
                     "unbulleted list", "ubl", "ubil", "bulleted list", "blist", "ordered list",
                     "smallcaps", "small caps", "sc", "center", "centre", "mono", "not a typo",
                     "proper name", "math", "mvar", "zh", "abbr", "tooltip", "midsize"],
                    ("all", ())),
    **dict.fromkeys(["lang", "transl", "transliteration", "resize", "script"], ("last", ())),
    **dict.fromkeys(["ill", "interlanguage link", "visible anchor", "vanchor", "val"], (1, ())),
    **dict.fromkeys(["convert", "cvt"], (2, ())),
    **dict.fromkeys(["quote", "blockquote", "cquote", "quotation"], (1, ("text", "quote"))),
}

#: Named arguments that are identifiers, dates, layout or URLs rather than text (citation
#: templates and infobox values); ``link`` catches ``author-link``, ``title-link``...
SKIP_KEY = re.compile(r"url|date|access|archive|doi|isbn|issn|pmid|pmc|bibcode|oclc|jstor|lccn"
                      r"|s2cid|arxiv|hdl|zbl|ssrn|osti|asin|^id$|format|language|^lang$|^ref$"
                      r"|^df$|mode|postscript|via|link|^pages?$|^pp?$|^at$|volume|issue|^loc$"
                      r"|^lay|style|width|size|group|^refs$|^name-list")

#: Section headings (lowercase) whose text is reference material, not body text.
REFERENCE_HEADINGS = frozenset("""
references|reference|external links|external link|further reading|notes|sources|bibliography
footnotes|citations|works cited|notes and references|references and notes|sources and references
literature|general references|cited sources|selected bibliography|primary sources
secondary sources|bibliography and further reading|notes and sources|external links and references
примітки|джерела|посилання|література|виноски|джерела та література|примечания|литература
ссылки|источники|сноски|източници|бележки|външни препратки|библиография|παραπομπές
εξωτερικοί σύνδεσμοι|βιβλιογραφία|πηγές|σημειώσεις|περαιτέρω ανάγνωση|ծանոթագրություններ
արտաքին հղումներ|գրականություն|աղբյուրներ|তথ্যসূত্র|বহিঃসংযোগ|আরও পড়ুন|আরো পড়ুন|পাদটীকা|টীকা
গ্রন্থপঞ্জি|संदर्भ|बाह्य दुवे|बाह्यदुवे|संदर्भ आणि नोंदी|संदर्भ व नोंदी|नोंदी|脚注|出典|注釈|参考文献
外部リンク|注|参考資料|tham khảo|liên kết ngoài|chú thích|đọc thêm|ghi chú|tài liệu tham khảo|nguồn
referencias|enlaces externos|bibliografía|notas|einzelnachweise|literatur|weblinks|anmerkungen
références|notes et références|liens externes|bibliographie
""".replace("\n", "|").split("|")) - {""}

#: Image options that are not captions (English and the localised ones seen in the samples).
FILE_OPTION = re.compile(
    r"\s*+(?:thumb(?:nail)?|frame(?:d|less)?|border|left|right|center|centre|none|upright"
    r"(?:\s*+=?\s*+[\d.]*+)|baseline|sub|super|top|text-top|middle|bottom|text-bottom"
    r"|\d*+\s*+(?:x\s*+\d++)?\s*+(?:px|пкс|пікс|зв)|мини|миниатюра|міні|мініатюра|праворуч|ліворуч"
    r"|центр|справа|слева|サムネイル|左|右|中央|なし|nhỏ|trái|phải|giữa|μικρογραφία|δεξιά|αριστερά"
    r"|(?:alt|link|page|class|lang|upright|thumb|thumbnail|frame|border)\s*+=.*)\s*+", re.I | re.S)

_MAGIC = re.compile(r"__[^\W_]+(?:_[^\W_]+)*__")
_LINE_MARK = re.compile(r"^[ \t]*(?:[*#:;]+|-{4,})[ \t]*", re.M)
#: Whitespace other than " " and "\n" (one str.replace each is far faster than a regex class).
_ODD_SPACES = ("\t\r\f\v\xa0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
               "\u200b\u202f\u205f\u3000")
_SPACES = re.compile("  +")
_NEWLINES = re.compile(r"\n[ \n]+")
# Case-sensitive: a literal prefix lets the regex engine skip ahead (4x faster); URLs in
# wikitext are lowercase in practice. Trailing punctuation is the sentence's, as in MediaWiki.
BARE_URL = re.compile(r"(?:https?|ftp)://[^\s<>\[\]\"\x1e]*[^\s<>\[\]\"\x1e.,;:!?')]")


def template_kind(name: str) -> object:
    """What a template of this (lowercased, whitespace-normalised) name turns into.

    >>> template_kind("infobox u.s. state"), template_kind("cite web"), template_kind("lang")
    ('infobox', 'cite', ('last', ()))
    """
    if not name or name[0] == "#" or "{" in name:
        return "none"                 # parser functions, names built by templates
    if name.startswith(INFOBOX_PREFIXES) or any(w in name for w in INFOBOX_INFIXES):
        return "infobox"              # before ":", for "Картка:Лідер"
    if ":" in name or name in NO_TEXT:    # magic words (DEFAULTSORT:), subst:, lc:...
        return "none"
    if name.startswith(CITE_PREFIXES) or any(w in name for w in CITE_INFIXES):
        return "cite"
    spec = INLINE.get(name)
    if spec is None and name.startswith("lang-"):
        spec = (1, ())
    return spec or "drop"


def kept_args(kind, mode: str, keys: list) -> list[int]:
    """Indices of the parameters (given by their keys, None when positional) whose values are
    readable text. ``mode`` is "body" (ordinary text: only citations and inline templates
    speak) or "value" (inside a ref or an infobox value: every template's arguments are text).

    >>> kept_args("cite", "body", ["url", "title", None]), kept_args((1, ()), "body", [None, None])
    ([1, 2], [0])
    """
    if kind == "cite" or (mode == "value" and kind == "drop"):
        return [i for i, key in enumerate(keys) if key is None or not SKIP_KEY.search(key.lower())]
    if not isinstance(kind, tuple):
        return []
    which, named = kind
    positional = [i for i, key in enumerate(keys) if key is None]
    if which == "last":
        positional = positional[-1:]
    elif which != "all":
        positional = positional[:which]
    return sorted(positional + [i for i, key in enumerate(keys) if key in named])


def looks_like_infobox(params: list) -> bool:
    """Whether ``(key, raw value)`` params are laid out like an infobox: five or more named
    ones each ending its line (``| key = value\\n``)."""
    return sum(1 for key, raw in params if key and raw.rstrip(" \t").endswith("\n")) >= 5


def normalize_template_name(raw: str) -> str:
    """``"  Infobox_U.S.  state\\n"`` -> ``"infobox u.s. state"``."""
    return " ".join(raw.replace("_", " ").split()).lower()


def file_caption(text: str | None) -> str:
    """The caption of ``[[File:x|opt|opt|caption]]`` given the text after the file name."""
    if not text:
        return ""
    last = text.rsplit("|", 1)[-1]
    return "" if FILE_OPTION.fullmatch(last) else last


def is_reference_heading(heading: str) -> bool:
    """Whether a section titled ``heading`` holds references (References, Примітки, 脚注...)."""
    return " ".join(heading.split()).rstrip(" :").lower() in REFERENCE_HEADINGS


def cleanup(s: str) -> str:
    """Final normalisation shared by both parsers: magic words, list markers, bare URLs,
    whitespace (one space between words, one newline between lines)."""
    if "__" in s:
        s = _MAGIC.sub("", s)
    if "//" in s:
        s = BARE_URL.sub("", s)
    s = _LINE_MARK.sub("", s)
    for c in _ODD_SPACES:
        if c in s:
            s = s.replace(c, " ")
    s = _SPACES.sub(" ", s).replace(" \n", "\n")
    return _NEWLINES.sub("\n", s)


def ucfirst(s: str) -> str:
    """MediaWiki's first-letter case: ``"ßx"`` stays, as its upper case is two letters."""
    first = s[:1].upper()
    return first + s[1:] if len(first) == 1 else s


def reference_sections(headings: list[tuple[int, str]]) -> list[bool]:
    """For ``(level, readable title)`` headings in order: is each section reference material?
    A References/External links/... heading claims its subsections too."""
    out, ref_level = [], 0
    for level, title in headings:
        if ref_level and level > ref_level:
            out.append(True)
            continue
        ref_level = level if is_reference_heading(title) else 0
        out.append(bool(ref_level))
    return out


#: Extension tags whose content is not wikitext and not text either (mwparserfromhell's
#: parser blacklist, plus maps); nowiki and pre keep theirs as literal text.
DROPPED_TAGS = frozenset(["math", "chem", "ce", "timeline", "graph", "score", "hiero",
                          "syntaxhighlight", "source", "templatedata", "mapframe", "maplink",
                          "imagemap", "gallery", "categorytree", "inputbox", "section"])
#: ``#REDIRECT [[Target]]`` in any language: the target is a link, the rest is no text.
REDIRECT = re.compile(r"[ \t\n]*+#[^\s\[\]:]++[ \t]*+:?[ \t]*+\[\[([^\[\]|\n]*)(?:\|[^\[\]]*)?\]\]")


# --------------------------------------------------------------------------------------------
# Link targets
# --------------------------------------------------------------------------------------------

LINK, CATEGORY, FILE, LANGLINK, INTERWIKI, OTHER = range(6)
_BAD_TITLE = re.compile(r"[{}\[\]<>|\x00-\x1f\x7f]")


class Site:
    """What one wiki's link prefixes mean, with a cache of classified link targets.

    Built from a ``dump.SiteInfo`` (localized namespace names, ``normalize_title``); English
    canonical names (Category, File, Image, Media) are recognised on every wiki, as MediaWiki does.

    >>> site = Site()
    >>> site.classify("Category:Cities_in_Alabama"), site.classify("de:Ulm")
    ((1, 'Cities in Alabama'), (3, 'Ulm'))
    >>> site.classify("ulm#History"), site.classify("File:x.jpg"), site.classify("#History")
    ((0, 'Ulm'), (2, ''), (5, ''))
    """

    def __init__(self, siteinfo=None):
        names = dict(getattr(siteinfo, "namespaces", None) or {})
        low = {k: " ".join(v.replace("_", " ").split()).lower() for k, v in names.items() if v}
        self.categories = {"category", low.get(14, "category")}
        self.files = FILE_ALIASES | {low.get(6, "file"), low.get(-2, "media")}
        self.templates = ("template:", low.get(10, "template") + ":")
        self.interwiki = (LANGUAGES | INTERWIKI_PREFIXES) - set(low.values())
        self.first_letter = getattr(siteinfo, "case", "first-letter") != "case-sensitive"
        self._normalize = getattr(siteinfo, "normalize_title", None) or self._plain_title
        self._split = getattr(siteinfo, "split_namespace", None)
        self.cache: dict[str, tuple[int, str]] = {}
        self._kinds: dict[str, object] = {}

    def template_kind(self, raw_name: str) -> object:
        """:func:`template_kind` of a raw template name, ``Template:`` prefix allowed; cached."""
        got = self._kinds.get(raw_name)
        if got is None:
            name = normalize_template_name(raw_name)
            if name.startswith(self.templates):
                name = name.split(":", 1)[1].strip()
            if len(self._kinds) > 100_000:
                self._kinds.clear()
            got = self._kinds[raw_name] = template_kind(name)
        return got

    def _plain_title(self, title: str) -> str:
        return ucfirst(title) if self.first_letter else title

    def classify(self, target: str) -> tuple[int, str]:
        """``(kind, value)`` of a link target: normalised title for LINK, category name for
        CATEGORY, the part after the prefix for LANGLINK/INTERWIKI, "" for FILE and OTHER
        (same-page anchors, ``[[:Category:X]]`` and ``[[:File:x]]`` links, bad titles)."""
        got = self.cache.get(target)
        if got is None:
            if len(self.cache) > 500_000:      # bound memory on huge dumps; hit rate stays high
                self.cache.clear()
            got = self.cache[target] = self._classify(target)
        return got

    def _classify(self, target: str) -> tuple[int, str]:
        t = unescape_html(target) if "&" in target else target
        t = " ".join(t.replace("_", " ").split())
        colon = t.startswith(":")
        t = t[1:].lstrip() if colon else t
        t = t.split("#", 1)[0].rstrip()
        if not t or _BAD_TITLE.search(t) or "://" in t:
            return OTHER, ""                  # anchors on the same page, templated targets
        k = t.find(":")
        if k > 0:
            prefix, rest = t[:k].rstrip().lower(), t[k + 1:].strip()
            if prefix in self.categories:
                return (OTHER, "") if colon or not rest else (CATEGORY, self._plain_title(rest))
            if prefix in self.files:
                return (OTHER if colon else FILE), ""
            if prefix in self.interwiki:
                return (LANGLINK if prefix in LANGUAGES and not colon else INTERWIKI), rest
            if self._split is not None:
                ns, rest = self._split(t)
                if ns == 14:
                    return (OTHER, "") if colon else (CATEGORY, self._plain_title(rest.strip()))
                if ns in (6, -2):
                    return (OTHER if colon else FILE), ""
        if k < 0:                             # no namespace: spare the SiteInfo round trip
            return LINK, self._plain_title(t)
        return LINK, self._normalize(t)

    def display(self, target: str, text: str | None) -> str:
        """What a reader sees for ``[[target|text]]`` (text is None without a pipe)."""
        if ":" not in target:
            return text or target
        kind, _ = self.classify(target)
        if kind == CATEGORY or kind == LANGLINK:
            return ""
        if kind == FILE:
            return file_caption(text)
        return text or target.lstrip(" :")

    def link_text(self, m: re.Match) -> str:
        """:meth:`display` as a ``re.sub`` callback over :data:`_LINK` matches."""
        return self.display(m.group(1), m.group(2))


_SITES: dict[int, tuple[object, Site]] = {}


def site_for(siteinfo) -> Site:
    """The cached :class:`Site` of a ``SiteInfo`` (one per dump, so the title cache is shared)."""
    got = _SITES.get(id(siteinfo))
    if got is None or got[0] is not siteinfo:
        if len(_SITES) > 64:
            _SITES.clear()
        got = _SITES[id(siteinfo)] = (siteinfo, Site(siteinfo))
    return got[1]
