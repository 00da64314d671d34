"""Errors of the accessibility services; each message names the parameter, row or file at fault."""

from __future__ import annotations


class RunParameterError(ValueError):
    """Bad analysis parameters; the message names the parameter."""


class SettlementImportError(ValueError):
    """A settlement file that cannot be imported; the message names the row and the field."""


class RasterRegistrationError(ValueError):
    """A raster that cannot be registered; the message names the file and the problem."""
