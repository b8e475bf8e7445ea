"""Watched narratives: an analyst names a narrative (statements in any language), the store is
searched for it across blocs and languages, and its spread is summarised (docs/watchlists.md)."""

from detector.watch.calibrate import TailCalibrator
from detector.watch.search import search
from detector.watch.timeline import LeadLag
from detector.watch.track import Filters, NarrativeTracker, TrackResult
from detector.watch.watchlist import WatchedNarrative, Watchlist, load_watchlist

__all__ = [
    "Filters",
    "LeadLag",
    "NarrativeTracker",
    "TailCalibrator",
    "TrackResult",
    "WatchedNarrative",
    "Watchlist",
    "load_watchlist",
    "search",
]  # fmt: skip
