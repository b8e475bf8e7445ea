"""``python -m detector`` is the ``detector`` command (for cron jobs and subprocess tests)."""

from detector.cli import entry

entry()
