"""Analysts' verdicts on flagged narratives: the file, the store's history, what runs do with them."""
