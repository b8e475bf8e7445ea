"""The files that ship inside the package: the default config, the outlet registry, the starter
watchlist and the sample feed (``detector/packaged/``, read with :mod:`importlib.resources`).

They are the originals: ``configs/`` and ``data/sample/feed_2024.csv`` in a checkout are symlinks
to them, so an installed wheel and a clone read the same bytes. ``detector init`` writes editable
copies of them (:func:`write_starter`).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from detector.errors import OutputError
from detector.io import atomic_writer

CONFIG = "default.toml"
REGISTRY = "outlets.toml"
WATCHLIST = "watchlist.toml"
SAMPLE = "sample_feed_2024.csv"
# What `detector init` writes, in this order; the config names the other two by these names.
STARTER = (CONFIG, REGISTRY, WATCHLIST)
PACKAGED_LABEL = "packaged"  # how a manifest names the packaged config instead of a path


def packaged(name: str) -> Path:
    """The packaged file ``name`` (one of :data:`STARTER` or :data:`SAMPLE`) as a path on disk.

    Wheels install unzipped, so the package's files are real files; a zipped import would not
    give a path, and then this says so instead of failing later on a missing file."""
    path = Path(str(resources.files("detector") / "packaged" / name))
    if not path.is_file():
        raise OutputError(
            f"the packaged file {name} is missing from {path.parent}. Fix: reinstall the package "
            "(pip install --force-reinstall narrative-sync-detector); it must be installed unzipped."
        )
    return path


def write_starter(folder: Path, *, force: bool = False, sample: bool = False) -> list[Path]:
    """Editable copies of the packaged config, registry and watchlist (and the sample feed when
    ``sample``) in ``folder``, byte for byte. Existing files are kept unless ``force``: nothing is
    written when any of them exists."""
    names = [*STARTER, *([SAMPLE] if sample else [])]
    targets = [folder / name for name in names]
    present = [str(t) for t in targets if t.exists()]
    if present and not force:
        raise OutputError(
            f"{', '.join(present)} already exist(s); nothing was written. Fix: edit the existing "
            "files, pick another folder (`detector init DIR`), or pass --force to overwrite them."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, target in zip(names, targets, strict=True):
            with atomic_writer(target, "wb") as handle:
                handle.write(packaged(name).read_bytes())
            os.chmod(target, 0o644)  # mkstemp's 0600 would hide the copies from other users
    except (NotADirectoryError, FileExistsError, PermissionError) as exc:
        raise OutputError(
            f"{folder} cannot be written ({exc.strerror}). Fix: pass `detector init` a folder you "
            "can write (its parent must be a folder, not a file)."
        ) from None
    return targets
