"""How a stage fans independent work out: a :class:`Mapper` applies a function to every item and
returns the results in item order. Stages take one as an argument (default :func:`serial_map`,
one item after another in this process); ``detector/pipeline/engine.py`` supplies others (Ray tasks), so
every engine runs the same stage code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Mapper(Protocol):
    def __call__(self, fn: Callable[[T], R], items: Sequence[T], /) -> list[R]: ...


def serial_map(fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
    """``[fn(item) for item in items]``: the local engine."""
    return [fn(item) for item in items]
