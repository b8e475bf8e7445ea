"""Narratives: the cross-bloc sync graph, sliding windows and the lineage of narratives across windows."""
