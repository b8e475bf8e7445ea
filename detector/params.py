"""Allowed values of the stages' parameters: declared once per class, checked in one place.

Each configurable class (``WindowClusterer``, ``SyncScorer`` ...) declares a
``parameter_constraints`` table (name -> :class:`Interval`, :class:`OneOf` or :class:`Below`) and
the config section it is read from; its constructor stores its arguments and calls
:func:`validate_params`, and :mod:`detector.config` checks a TOML section against the same table
with :func:`check_params`. So a misspelt ``method`` is the same :class:`~detector.errors.ConfigError`
whether it comes from a config file or from library code, naming the value seen and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from detector.errors import ConfigError
from detector.languages import canonical_pair


@dataclass(frozen=True)
class Interval:
    """A number in ``[low, high]``."""

    low: float
    high: float

    def problem(self, value: Any, params: Mapping[str, Any]) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number in [{self.low}, {self.high}], saw {value!r}"
        if not self.low <= value <= self.high:
            return f"= {value!r} is out of range; use a value in [{self.low}, {self.high}]"
        return None

    def metadata(self) -> dict[str, Any]:
        return {"range": (self.low, self.high)}


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of names."""

    values: tuple[str, ...]

    def problem(self, value: Any, params: Mapping[str, Any]) -> str | None:
        if value not in self.values:
            return f"= {value!r} is not allowed; choose one of {list(self.values)}"
        return None

    def metadata(self) -> dict[str, Any]:
        return {"choices": self.values}


@dataclass(frozen=True)
class Below:
    """A number in ``[low, high]`` that is also smaller than another parameter's value."""

    other: str
    low: float
    high: float

    def problem(self, value: Any, params: Mapping[str, Any]) -> str | None:
        problem = Interval(self.low, self.high).problem(value, params)
        if problem is None and value >= params[self.other]:
            return f"= {value!r} must be smaller than {self.other} = {params[self.other]!r}"
        return problem

    def metadata(self) -> dict[str, Any]:
        return {"range": (self.low, self.high)}


@dataclass(frozen=True)
class LanguagePairs:
    """A table of per-language-pair cosines: keys two ISO 639 codes in alphabetical order joined
    by ``-`` (the one form the scorer looks up), values in ``[-1, 1]``. Any other key would
    silently never apply, so it is refused with the form to write."""

    def problem(self, value: Any, params: Mapping[str, Any]) -> str | None:
        if not isinstance(value, Mapping):
            return f'must be a table like {{ "ru-zh" = 0.35 }}, saw {value!r}'
        for key, cosine in value.items():
            try:
                canonical = canonical_pair(str(key))
            except ValueError as exc:
                return (
                    f'key "{key}" cannot be read ({exc}); write two ISO 639 codes in alphabetical '
                    'order joined by "-", e.g. "ru-zh" or "en-ru"'
                )
            if canonical != key:
                return (
                    f'key "{key}" must be written "{canonical}" (lower-case ISO 639 codes in '
                    "alphabetical order: the scorer looks pairs up only in that form)"
                )
            if isinstance(cosine, bool) or not isinstance(cosine, int | float):
                return f'["{key}"] must be a number in [-1, 1], saw {cosine!r}'
            if not -1.0 <= cosine <= 1.0:
                return f'["{key}"] = {cosine!r} is out of range; use a cosine in [-1, 1]'
        return None

    def metadata(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Text:
    """A string (a TOML value in quotes), whatever it says."""

    def problem(self, value: Any, params: Mapping[str, Any]) -> str | None:
        if not isinstance(value, str):
            return f'= {value!r} is not text. Fix: write it in quotes: "{value}"'
        return None

    def metadata(self) -> dict[str, Any]:
        return {}


Constraint = Interval | OneOf | Below | LanguagePairs | Text


class Configurable(Protocol):
    """A class with a constraint table (and the config section its parameters come from)."""

    parameter_section: ClassVar[str]
    parameter_constraints: ClassVar[dict[str, Constraint]]


def check_params(section: str, params: Mapping[str, Any], constraints: Mapping[str, Constraint]) -> None:
    """Raise :class:`ConfigError` for the first of ``params`` that its constraint refuses, as
    ``[section] name = value ...; <what is allowed>.``"""
    for name, constraint in constraints.items():
        problem = constraint.problem(params[name], params)
        if problem is not None:
            raise ConfigError(f"[{section}] {name} {problem}.")


def validate_params(component: Configurable) -> None:
    """Check a constructed component's parameters against its class's table (its constructor's
    last line)."""
    check_params(component.parameter_section, vars(component), component.parameter_constraints)
