"""Themes: narratives both blocs carry over weeks, found at corpus level over a period, labelled
per language, with how the blocs move together and how likely that is chance
(:class:`~detector.themes.stage.ThemeStage`; docs/method.md, "Themes"); stable theme ids across
runs (:mod:`detector.themes.lineage`)."""
