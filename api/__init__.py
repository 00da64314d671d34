"""GeoJSON REST API (/api/v1/: api.v1), OGC API – Features (/ogc/) and vector tiles (/tiles/).

Adding a layer: declare a `gis_portal.geo.collections.Collection` (selector, EPSG:4326 geometry
field, public and private properties, filters, ordering) in the owning app's `collections.py`,
registered from its AppConfig.ready(); the REST routes, OGC collection, OpenAPI description,
downloads, tiles and maps follow. GeoJSON is built in PostGIS (gis_portal.geo.geojson.feature_page)
and passed through as bytes; who reads what comes only from accounts.layer_access.
"""
