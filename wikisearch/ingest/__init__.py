"""ingest: "here are bytes of a dump, give me pages; here is a page, give me its fields".

``dump`` (pages cut at page boundaries into blocks; ``stream``: compression and the uncompressed
byte stream; ``site``: ``<siteinfo>``, namespaces, titles), ``parse`` (wikitext -> fields;
``wikiscan``: the linear scanners; ``wikitext``: rules shared with the mwparserfromhell oracle).
Imports nothing of wikisearch's but ``errors``.
"""
