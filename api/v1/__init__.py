"""/api/v1/: one package, one view style (class-based, api.common.ApiView), one error format (api.errors),
one pagination (api.pagination).

- collections.py: the GeoJSON reads of every registered layer (gis_portal.geo.collections);
- catalogue.py: the index and the order's plain resources (measures, quotas, KPI targets);
- parcels.py, tracking.py, accessibility.py: the domains' own endpoints (writes, runs, plans).
"""
