"""Every filter of every public collection, generated from the registry, against the ORM's own answer."""

from __future__ import annotations

import json

import pytest

from api.registry import collections_all

CASES = [
    (c.id, name)
    for c in collections_all()
    if c.public and c.rest
    for name, spec in c.filters.items()
    if spec.lookups and spec.condition is None
]


@pytest.mark.parametrize(("collection_id", "name"), CASES)
def test_filter_matches_the_orm(api, collection_id, name):
    collection = next(c for c in collections_all() if c.id == collection_id)
    spec = collection.filters[name]
    queryset = collection.selector()
    value = queryset.exclude(**{f"{spec.lookups[0]}__isnull": True}).values_list(spec.lookups[0], flat=True).first()
    if value is None:
        pytest.skip(f"no row with a {name}")
    if spec.kind == "text":
        value = str(value)[1:5]
        expected = spec.apply(queryset, value)
    else:
        text = str(value).lower() if spec.kind == "bool" else str(value)
        expected = spec.apply(queryset, spec.parse(name, text))
        value = text
    params = {name: value, "limit": 10000}
    if collection.geometry_type.startswith("Multi"):
        params["simplify"] = 5000  # boundaries are large; the filter is what is tested
    response = api.get(f"/api/v1/{collection_id}/", params)
    assert response.status_code == 200, response.content[:300]
    data = json.loads(response.content)
    assert {f["id"] for f in data["features"]} == set(expected.values_list("pk", flat=True))
    assert data["numberMatched"] == expected.count() > 0
