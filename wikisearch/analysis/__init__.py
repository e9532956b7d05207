"""analysis: "here is text, give me terms" -- the one analyzer shared by indexing and querying.

``analyzer`` (tokenize, fold, stopwords, stem; ``analyze_slow`` is the plain-Python oracle) and
``_analyze_kernels`` (the numba UTF-8 tokenizer).
"""
