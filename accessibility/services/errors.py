"""Errors of the accessibility services; each message names the parameter, row or file at fault."""

from __future__ import annotations


class RunParameterError(ValueError):
    """Bad analysis parameters; the message names the parameter."""


class SettlementImportError(ValueError):
    """A settlement file that cannot be imported; each message names the row and the field (all rows at once)."""

    def __init__(self, errors: str | list[str]):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


class RasterRegistrationError(ValueError):
    """A raster that cannot be registered; the message names the file and the problem."""
