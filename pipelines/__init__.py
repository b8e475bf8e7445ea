"""Jobs composed from the detector's stages (the daily run, backfills)."""
