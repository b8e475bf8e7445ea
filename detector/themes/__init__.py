"""Themes: narratives restated by several outlets of each bloc over weeks (docs/architecture.md)."""
