"""Scoring: how synchronised a narrative is, its significance, the links between evidence pairs and the
outlet amplification graph."""
