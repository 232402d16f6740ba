"""Model clients: embedders (embedders.py, local_minilm.py, tokens.py) and chat generation (generate.py)."""
