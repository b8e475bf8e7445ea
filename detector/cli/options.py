"""Options, error handling and table printing shared by every command: each option is defined here
once."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from detector.errors import DetectorError

if TYPE_CHECKING:
    import pandas as pd

    from detector.config import Config

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUT = "out"
EVAL_CACHE = ".cache"  # eval and tune: where their stores (embedding caches, one per event feed) live

LOCAL_CONFIG = "configs/default.toml"  # a checkout's (or `detector init configs`'s) config, if present
config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
    help=f"TOML config file; it overrides only the keys it sets. Default: {LOCAL_CONFIG} if it exists, "
    "else the packaged defaults (`detector init DIR` writes an editable copy).",
)  # fmt: skip
input_option = click.option(
    "--input", "-i", "inputs", multiple=True, required=True,
    help="Feed file, folder (its feed files) or glob: CSV/TSV, JSONL, Parquet or Excel (.xlsx), "
    "optionally .gz/.bz2/.xz/.zst; repeat for several.",
)  # fmt: skip
sheet_option = click.option(
    "--sheet", default=None, help="Excel inputs: the sheet to read, by name or number from 1 "
    "(overrides [ingest] sheet; default the first).",
)  # fmt: skip
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
store_option = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False), default=None,
    help="DuckDB store file. Default: the config's [store] path, else detector.duckdb in the --out "
    f"folder of `detector run` ({DEFAULT_OUT}/; for eval and tune, {EVAL_CACHE}/).",
)  # fmt: skip


def out_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    """``--out``/``-o``: the folder a command writes into (``out/`` unless ``required``)."""
    return click.option(
        "--out", "-o", "out_dir", type=click.Path(file_okay=False), required=required,
        default=None if required else DEFAULT_OUT, show_default=not required, help=help,
    )  # fmt: skip


def load_cli_config(config_path: str | None) -> Config:
    """``--config``; without it ``configs/default.toml`` in the working folder when there is one,
    else the packaged defaults (the manifest records which)."""
    from detector.config import load_config

    if config_path is None and Path(LOCAL_CONFIG).is_file():
        config_path = LOCAL_CONFIG
    return load_config(config_path)


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
            interrupted(func.__name__ == "run_command")
        except OSError as exc:
            if exc.errno not in OS_FAULTS:
                raise
            where = f" {exc.filename}" if exc.filename else ""
            click.secho(f"Error: cannot write or read{where} ({exc.strerror}). Fix: {OS_FAULTS[exc.errno]}; "
                        "then run the same command again (it resumes; nothing is half-written).",
                        fg="red", err=True)  # fmt: skip
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def interrupted(a_run: bool = False) -> None:
    """Ctrl-C: one line and exit 130. A run's row in the store says so; other commands write each
    file whole or not at all."""
    if a_run:
        message = ("Error: interrupted (Ctrl-C / SIGINT). Nothing is half-written: the run is "
                   "marked 'interrupted'; run the same command again to finish it.")  # fmt: skip
    else:
        message = ("Error: interrupted (Ctrl-C / SIGINT). Nothing is half-written (each file is "
                   "written whole or not at all). Fix: run the same command again.")  # fmt: skip
    click.secho(message, fg="red", err=True)
    sys.exit(INTERRUPTED)


def print_table(title: str, table: pd.DataFrame) -> None:
    """A table on the terminal (rich), floats to 3 decimals. Every text is shown literally: a
    search text or a title holding ``[/]`` is data, not rich markup."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    view = Table(title=escape(title), title_justify="left")
    for column in table.columns:
        numeric = table[column].dtype.kind in "fiu"
        view.add_column(escape(str(column)), justify="right" if numeric else "left")
    for row in table.itertuples(index=False):
        view.add_row(*(f"{v:.3f}" if isinstance(v, float) else escape(str(v)) for v in row))
    Console(width=200).print(view)
