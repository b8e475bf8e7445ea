"""The DuckDB store: articles, the embedding cache, clusters, runs and report frames, and its schema."""
