"""The analytics registry: analytics keyed by id, duplicates refused, configured from a Config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainbreaker.detect.analytics.base import Analytic, override_params
from chainbreaker.errors import ConfigError, UnknownIdError

if TYPE_CHECKING:
    from chainbreaker.config import Config

_REGISTRY: dict[str, type[Analytic]] = {}


def register(cls: type[Analytic]) -> type[Analytic]:
    """Class decorator: add an analytic (a second one with the same id is an error)."""
    if cls.id in _REGISTRY:
        raise ValueError(f"analytic {cls.id!r} is already registered by {_REGISTRY[cls.id].__qualname__}")
    _REGISTRY[cls.id] = cls
    return cls


def registered_analytics() -> list[type[Analytic]]:
    """Every registered analytic, sorted by id."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def analytic_class(analytic_id: str) -> type[Analytic]:
    try:
        return _REGISTRY[analytic_id]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(analytic_id, list(_REGISTRY), n=3)
        raise UnknownIdError("analytic", analytic_id, close) from None


def build_analytics(config: Config | None = None, only: list[str] | None = None) -> list[Analytic]:
    """Instances of the registered analytics (or of ``only``), with ``[analytics.<id>]`` overrides.

    The reserved key ``enabled = false`` in a section switches an analytic off.
    """
    classes = [analytic_class(i) for i in only] if only else registered_analytics()
    sections = config.section("analytics") if config is not None else {}
    location = str(config.path) if config is not None and config.path else "config"
    for key in sections:
        if key not in _REGISTRY:
            analytic_class(key)  # raises UnknownIdError with suggestions
    built: list[Analytic] = []
    for cls in classes:
        values = dict(sections.get(cls.id, {}))
        if not isinstance(values, dict):
            raise ConfigError(f"[analytics.{cls.id}] must be a table", location)
        enabled = values.pop("enabled", True)
        if enabled is False:
            continue
        params = override_params(cls.params_type(), values, f"{location} [analytics.{cls.id}]")
        built.append(cls(params))
    return built
