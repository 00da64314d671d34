"""Accessibility of the roadmap's facilities to children (issue 7).

Inputs: official figures (layers.PopulationFigure), settlements (layers.Settlement; import with
`manage.py import_settlements FILE --source ...` or the page /<lang>/accessibility/settlements/import/)
and population GeoTIFFs (`manage.py register_population_raster FILE --bands 1,2 --year Y --source ...`).

Analyses (accessibility.analyses; travel-time passes in accessibility.travel_passes; pure maths in
layers.analysis): coverage, fca (2SFCA), roadmap, sites (maximal covering), underserved (hexagons).
Each run stores its complete parameters
(GET /api/v1/accessibility/parameters/?kind=... shows the defaults), inputs, notes, times, status
and progress. Runs queued from the pages or POST /api/v1/accessibility/runs/ are executed by the
django-tasks database worker: `manage.py db_worker` (started by scripts/run). From the command
line: `manage.py run_accessibility KIND --params '{...}'` (progress bar) or `--background`.
Demo: `manage.py accessibility_demo --replace [--raster]`.
"""
