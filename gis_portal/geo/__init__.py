"""Neutral GIS plumbing every app may use: the collections registry and GeoJSON built in PostGIS."""
