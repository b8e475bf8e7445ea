"""The ``detector`` command line: a thin layer of click commands over the library.

:func:`entry` is the installed ``detector`` script: it catches a Ctrl-C that arrives while the
commands are still being imported (before any command's own handler runs), so that too is one
line and exit 130. ``main`` is re-exported so that console scripts installed before the CLI
became a package (``detector.cli:main``) keep working.
"""

from __future__ import annotations

from typing import Any


def entry() -> Any:
    """``detector``: the click group, with Ctrl-C during start-up reported like Ctrl-C in a command."""
    try:
        from detector.cli.main import main

        return main()
    except KeyboardInterrupt:
        from detector.cli.options import interrupted

        interrupted()


def __getattr__(name: str) -> Any:
    # Lazily, so `import detector.cli` (by `entry`) imports no command before the try above.
    if name == "main":
        from detector.cli.main import main

        return main
    raise AttributeError(name)


__all__ = ["entry", "main"]
