"""Narrative-sync detector: find one narrative published near-simultaneously by Chinese-bloc and
Russian-bloc state channels, across languages, and hand an analyst the evidence.

Stages (each a module, each swappable): ingest -> store -> embed -> index -> cluster -> score -> report.
"""

__version__ = "0.1.0"
