"""Bench-only Django app (scripts/bench/api.py): a parcels-like table and a drf-gis control view.

Installed only by scripts/bench/api_settings.py, never by the portal's settings.
"""
