"""The configuration file: TOML read with ``tomllib``.

Sections:

* ``[analytics.<id>]``: threshold overrides for one analytic (``enabled = false`` switches it off);
  unknown ids and parameters are errors (see ``chainbreaker analytics`` for the names);
* ``[correlate]`` and ``[assets]``: read by the correlation stage through :meth:`Config.section`;
* ``[intel]``: ``feeds``, indicator files every ``hunt`` and ``watch`` loads besides ``--intel``;
* ``[output]``: ``dir`` and ``outputs``, what ``hunt`` writes when ``--out``/``--output`` are not given.

Relative paths in ``[intel]`` and ``[output]`` are relative to the config file's folder, so a
config file travels with the indicator files next to it.

Example::

    [analytics.beaconing]
    min_connections = 30
    allow_destinations = ["203.0.113.0/24"]

    [correlate]
    window = "24h"

    [intel]
    feeds = ["feeds/blocklist.csv", "feeds/apt.stix.json"]

    [output]
    dir = "reports"
    outputs = ["html", "timesketch"]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainbreaker.errors import ConfigError

#: Top-level sections chainbreaker knows; anything else is a typo and an error.
KNOWN_SECTIONS = ("analytics", "correlate", "assets", "intel", "output")
#: The keys of the sections read here (the others belong to their stage, which checks them).
_INTEL_KEYS = ("feeds",)
_OUTPUT_KEYS = ("dir", "outputs")


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

    def intel_feeds(self) -> list[Path]:
        """``[intel] feeds``: indicator files, relative to the config file's folder."""
        return [self._path(p) for p in self._strings("intel", _INTEL_KEYS, "feeds")]

    def output_dir(self) -> Path | None:
        """``[output] dir``: where ``hunt`` writes its outputs when ``--out`` is not given."""
        value = self._checked("output", _OUTPUT_KEYS).get("dir")
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError("[output] dir must be a folder path", self._where)
        return self._path(value)

    def outputs(self) -> list[str]:
        """``[output] outputs``: which outputs (``chainbreaker outputs`` lists them); empty = all."""
        return self._strings("output", _OUTPUT_KEYS, "outputs")

    @property
    def _where(self) -> str | None:
        return str(self.path) if self.path else None

    def _path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() or self.path is None else self.path.parent / path

    def _checked(self, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
        section = self.section(name)
        unknown = sorted(set(section) - set(keys))
        if unknown:
            raise ConfigError(
                f"[{name}] unknown key(s) {', '.join(unknown)}; known: {', '.join(keys)}", self._where
            )
        return section

    def _strings(self, name: str, keys: tuple[str, ...], key: str) -> list[str]:
        value = self._checked(name, keys).get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"[{name}] {key} must be a list of strings", self._where)
        return list(value)


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
    config.intel_feeds(), config.output_dir(), config.outputs()  # fail at load, not mid-run
    return config
