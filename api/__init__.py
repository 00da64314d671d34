"""GeoJSON REST API (/api/v1/), OGC API – Features (/ogc/) and vector tiles (/tiles/) — issue 6.

Adding a layer: register a `gis_portal.geo.collections.Collection` (selector, EPSG:4326 geometry
field, public and private properties, filters, ordering) in `api/catalog.py`;
the REST routes, OGC collection, OpenAPI description, downloads and tiles follow.
GeoJSON is built in PostGIS (gis_portal.geo.geojson.feature_page) and passed through as
bytes; permissions come only from accounts.permissions.
"""
