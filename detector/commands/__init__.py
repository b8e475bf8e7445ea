"""Click commands too large for :mod:`detector.cli`, and the options and error handling they share."""
