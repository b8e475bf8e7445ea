"""The ``detector`` command line: a thin layer of click commands over the library.

``main`` is re-exported so that console scripts installed before the CLI became a package
(``detector.cli:main``) keep working.
"""

from detector.cli.main import main

__all__ = ["main"]
