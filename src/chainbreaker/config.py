"""The configuration file: TOML read with ``tomllib``.

Sections:

* ``[analytics.<id>]``: threshold overrides for one analytic (``enabled = false`` switches it off);
  unknown ids and parameters are errors (see ``chainbreaker analytics`` for the names);
* ``[correlate]`` and ``[assets]``: read by the correlation stage through :meth:`Config.section`.

Example::

    [analytics.beaconing]
    min_connections = 30
    allow_destinations = ["203.0.113.0/24"]

    [correlate]
    window = "24h"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainbreaker.errors import ConfigError

#: Top-level sections chainbreaker knows; anything else is a typo and an error.
KNOWN_SECTIONS = ("analytics", "correlate", "assets", "intel", "output")


@dataclass(frozen=True)
class Config:
    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        """The table ``[name]`` (an empty dict when absent)."""
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}] must be a table", str(self.path) if self.path else None)
        return value


def load_config(path: str | Path | None) -> Config:
    """Parse a TOML config file; ``None`` gives the empty configuration (all defaults)."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError("config file not found", str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", str(path)) from None
    unknown = sorted(set(data) - set(KNOWN_SECTIONS))
    if unknown:
        raise ConfigError(
            f"unknown section(s) {', '.join(unknown)}; known: {', '.join(KNOWN_SECTIONS)}", str(path)
        )
    config = Config(data, path)
    for name in data:
        config.section(name)
    return config
