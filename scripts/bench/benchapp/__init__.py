"""Bench-only Django app (scripts/bench/api.py): the drf-gis control view over the portal's parcels.

Installed only by scripts/bench/api_settings.py, never by the portal's settings.
"""
