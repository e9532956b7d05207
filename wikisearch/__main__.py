from wikisearch.cli import main

main()
