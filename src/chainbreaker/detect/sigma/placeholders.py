"""Values for Sigma ``expand`` placeholders (``%Admins_Workstations%``...), from a YAML file.

The file maps a placeholder name to a list of values. chainbreaker ships
``data/placeholders.yml`` (empty by default: such lists describe one site, not techniques);
``--placeholders FILE`` or ``$CHAINBREAKER_SIGMA_PLACEHOLDERS`` adds to it. A rule that uses an
undefined placeholder fails to compile with a reason that names it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from chainbreaker.errors import ConfigError

ENV_VAR = "CHAINBREAKER_SIGMA_PLACEHOLDERS"


def _parse(text: str, location: str) -> dict[str, list[str]]:
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", location) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of placeholder name -> list of values", location)
    out: dict[str, list[str]] = {}
    for name, values in data.items():
        values = values if isinstance(values, list) else [values]
        out[str(name)] = [str(v) for v in values]
    return out


def load_placeholders(path: Path | None = None) -> dict[str, list[str]]:
    """Shipped placeholders, overridden by the user's file (argument, else the environment variable)."""
    shipped = resources.files("chainbreaker.detect.sigma").joinpath("data/placeholders.yml").read_text()
    values = _parse(shipped, "data/placeholders.yml")
    user = path or (Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else None)
    if user is not None:
        try:
            values.update(_parse(user.read_text(encoding="utf-8"), str(user)))
        except OSError as exc:
            raise ConfigError(f"cannot read placeholders file: {exc.strerror}", str(user)) from None
    return values
