"""index: terms of documents in, bytes on disk out, and read back.

``invert`` (a block of documents -> postings), ``codec`` (postings <-> bytes), ``container`` (the
binary frame of every file), ``segment`` (one segment's files: term dictionary, postings, document
table, stored text), ``merge`` (block segments -> one segment), ``stats`` (what an index holds;
``verify``). Knows nothing of ranking add-ons or query syntax.
"""
