"""One module per output format: its field mapping and its escaping, declared together."""
