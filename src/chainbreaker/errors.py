"""One root exception, a subclass per pipeline stage, each with an optional location.

Every class also inherits a builtin (ValueError, LookupError, OSError) so callers that
do not know chainbreaker can still catch them. The CLI maps these to exit codes in one
place (chainbreaker.cli.main).
"""

from __future__ import annotations


class ChainbreakerError(Exception):
    """Root of every error chainbreaker raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{message} in {location}" if location else message)


class UsageError(ChainbreakerError, ValueError):
    """The user asked for something that cannot be (bad option, bad combination)."""

    exit_code = 2


class UnknownIdError(ChainbreakerError, LookupError):
    """An identifier (technique, tactic, phase, rule, output...) does not exist."""

    exit_code = 2

    def __init__(self, kind: str, value: str, suggestions: list[str] | None = None) -> None:
        self.kind = kind
        self.value = value
        self.suggestions = suggestions or []
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown {kind} {value!r}{hint}")


class ReaderError(ChainbreakerError, OSError):
    """A file could not be read at all. Damaged records inside a file are warnings, not errors."""


class WrongFormat(ReaderError):
    """'Not my format': a reader declines a file. A signal to try the next reader, not a crash."""


class RuleError(ChainbreakerError, ValueError):
    """A detection rule could not be loaded or compiled."""


class ConfigError(ChainbreakerError, ValueError):
    """A configuration file is invalid."""

    exit_code = 2


class StoreError(ChainbreakerError, RuntimeError):
    """The result store could not be opened, migrated or written."""
