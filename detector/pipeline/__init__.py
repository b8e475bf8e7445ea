"""Composition: the daily job and backfills built from the stages, the engines they run on (local, Ray),
the run manifest and the memory guard."""
