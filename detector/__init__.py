"""Narrative-sync detector: find one narrative published near-simultaneously by Chinese-bloc and
Russian-bloc state channels, across languages, and hand an analyst the evidence.

Stages (one package each, each swappable): sources -> store -> embed -> index -> narratives -> scoring
-> report, composed by ``detector.pipeline`` and driven by ``detector.cli`` (docs/architecture.md).
"""

__version__ = "0.1.0"
