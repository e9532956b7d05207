"""popularity: query-independent evidence about pages, and title suggestions ordered by it.

``priors`` (the prior of each document and ``priors.bin``), ``sources`` (Wikimedia's page-view
files; titles and page ids resolved to documents), ``sql`` (in-links from the pagelinks SQL
dumps), ``suggest`` (prefix search over titles and redirects, most popular first).
Reads an index through ``wikisearch.index``; knows nothing of queries.
"""
