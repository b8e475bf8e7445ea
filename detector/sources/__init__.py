"""Sources: feed files -> canonical articles (reading CSV/JSONL/Parquet, validating rows, the outlet
registry)."""
