"""``python -m detector`` is the ``detector`` command (for cron jobs and subprocess tests)."""

try:
    from detector.cli import entry
except KeyboardInterrupt:  # Ctrl-C while the package itself imports (slow on a first, uncompiled run)
    from detector.cli.options import interrupted

    interrupted()

entry()
