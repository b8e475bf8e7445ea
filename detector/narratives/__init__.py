"""Narratives: the cross-bloc sync graph, sliding windows and the lineage of narratives across windows.

The built-in groupers are registered here, so ``[cluster] grouper`` can name them as soon as any
module of the package is imported; a new grouper's module adds its line below
(:mod:`detector.narratives.groupers`).
"""

from detector.narratives.density import Hdbscan
from detector.narratives.groupers import register_grouper
from detector.narratives.sync_graph import SyncGraph

register_grouper("sync-graph", SyncGraph)
register_grouper("hdbscan", Hdbscan)
