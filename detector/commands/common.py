"""Options and error handling shared by every command."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from detector.errors import DetectorError

F = TypeVar("F", bound=Callable[..., Any])
INTERRUPTED = 130  # 128 + SIGINT, what shells report for a command stopped with Ctrl-C
# OS-level faults that are the machine's state, not a bug: one line and exit 2, like domain errors.
OS_FAULTS = {
    errno.ENOSPC: "free space on that disk (or point --out / [store] path at another one)",
    errno.EDQUOT: "free space within your disk quota (or point --out / [store] path elsewhere)",
    errno.EROFS: "that file system is mounted read-only: point --out / [store] path at a writable disk",
    errno.EACCES: "give the user running the detector access to it (chown/chmod)",
    errno.EPERM: "give the user running the detector access to it (chown/chmod)",
    errno.EIO: "the disk or network share failed: check it (dmesg)",
}

config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False),
    default="configs/default.toml", show_default=True, help="TOML config file.",
)  # fmt: skip


def domain_errors(func: F) -> F:
    """Print a DetectorError, an OS fault (disk full, read-only, no permission) or Ctrl-C as one
    line instead of a traceback: exit 2, or 130 for Ctrl-C."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DetectorError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            message = ("Error: interrupted (Ctrl-C / SIGINT). Nothing is half-written: the run is "
                       "marked 'interrupted'; run the same command again to finish it.")  # fmt: skip
            click.secho(message, fg="red", err=True)
            sys.exit(INTERRUPTED)
        except OSError as exc:
            if exc.errno not in OS_FAULTS:
                raise
            where = f" {exc.filename}" if exc.filename else ""
            click.secho(f"Error: cannot write or read{where} ({exc.strerror}). Fix: {OS_FAULTS[exc.errno]}; "
                        "then run the same command again (it resumes; nothing is half-written).",
                        fg="red", err=True)  # fmt: skip
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
