"""Options and error handling shared by every command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from detector.errors import DetectorError

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False),
    default="configs/default.toml", show_default=True, help="TOML config file.",
)  # fmt: skip


def domain_errors(func: F) -> F:
    """Print a DetectorError as one line (what was seen and the fix) instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DetectorError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
