"""Errors of the tracking services; views and the API turn them into form errors, 403 and 409."""

from __future__ import annotations


class TrackingError(Exception):
    """A request that breaks a rule; `problems` maps a field (or "__all__") to messages."""

    def __init__(self, problems: dict[str, list[str]] | str):
        if isinstance(problems, str):
            problems = {"__all__": [problems]}
        self.problems = problems
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))


class PermissionDeniedError(TrackingError):
    pass


class StaleVersionError(TrackingError):
    pass
