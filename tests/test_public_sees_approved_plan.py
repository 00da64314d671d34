"""The public (no portal role) sees the facilities of the current approved plans only: never a draft's,
never one an approved version dropped, never an untracked one. Property test over random plan versions,
through every anonymous door: REST, OGC API – Features, vector tiles, the public map and its embed, and
the facility page."""

from __future__ import annotations

import json
import re

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from facilities.models import Facility
from tests.clients import decode_vector_tile
from tracking.demo import demo_plans_build_and_approve
from tracking.models import PLAN_MEASURES, Plan
from tracking.services import plan_approve, plan_check, plan_create

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    """Raised at the end of an example to undo its plans."""


def _new_version(*, plan_measure: int, shifts: list[int], approve: bool) -> Plan:
    """A copy of the approved plan with some items moved to another year (so approval drops the
    facilities planned for the old year and creates new ones), approved or left as a draft."""
    approved = Plan.objects.get(plan_measure_id=plan_measure, status=Plan.Status.APPROVED)
    plan = plan_create(plan_measure=plan_measure, copy_from=approved)
    items = list(plan.items.select_related("measure").order_by("id"))
    for n, shift in enumerate(shifts):
        if not items or not shift:
            continue
        item = items[n % len(items)]
        last = item.measure.deadline_end.year
        year = 2024 + (item.year - 2024 + shift) % (last - 2024 + 1)
        clash = plan.items.filter(
            measure_id=item.measure_id, region_id=item.region_id, district_id=item.district_id, year=year
        ).exclude(pk=item.pk)
        if not clash.exists():
            item.year = year
            item.save(update_fields=["year"])
    if approve:
        assert plan_check(plan=plan) == []
        plan.refresh_from_db()
        plan_approve(plan=plan)
    return plan


def _ids_in(features: list[dict]) -> set[int]:
    return {int(f["id"]) for f in features}


def _public_map_ids(client, html: str) -> set[int]:
    # The map page holds no facilities: its layer loads them from the GeoJSON its options name
    # (maps.public_views); each feature's "id" is the facility's.
    url = re.search(r'"dataUrl": ?"([^"]+)"', html).group(1)
    return {feature["id"] for feature in json.loads(client.get(url).content)["features"]}


# No shrinking: each example builds and approves whole plans (seconds), and a failure prints its draw.
@settings(
    max_examples=5,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    shifts_12=st.lists(st.integers(min_value=0, max_value=2), max_size=6),
    shifts_13=st.lists(st.integers(min_value=0, max_value=2), max_size=6),
    approve_12=st.booleans(),
    approve_13=st.booleans(),
)
def test_anonymous_doors_show_only_the_approved_plan(db, shifts_12, shifts_13, approve_12, approve_13):
    try:
        with transaction.atomic():
            demo_plans_build_and_approve()
            _new_version(plan_measure=12, shifts=shifts_12, approve=approve_12)
            _new_version(plan_measure=13, shifts=shifts_13, approve=approve_13)
            # A draft of the next version, never approved, that would take objects elsewhere.
            _new_version(plan_measure=13, shifts=[1, 2, 1], approve=False)
            # A facility entered but in no plan at all (a proposal, or one an akimat recorded too early).
            template = Facility.objects.filter(location__isnull=False).first()
            template.pk = None
            template.reference = ""  # references are unique; a new entry has none yet
            template.save()

            measures = [m for ms in PLAN_MEASURES.values() for m in ms]
            approved = set(Facility.objects.filter(tracking__in_plan=True).values_list("id", flat=True))
            outside = set(Facility.objects.filter(measure_id__in=measures).values_list("id", flat=True)) - approved
            assert approved and outside, "the example must have facilities on both sides"
            located = set(Facility.objects.filter(id__in=approved, location__isnull=False).values_list("id", flat=True))

            api = APIClient()
            rest = json.loads(api.get("/api/v1/facilities/?format=geojson").content)
            assert _ids_in(rest["features"]) == approved

            ogc = api.get("/ogc/collections/facilities/items?limit=10000", HTTP_ACCEPT="application/geo+json")
            body = json.loads(ogc.content)
            assert _ids_in(body["features"]) == approved and body["numberMatched"] == len(approved)
            assert body["timeStamp"]  # the "data as of" stamp of the response

            tile = decode_vector_tile(api.get("/tiles/facilities/0/0/0.pbf").content)
            assert tile.get("facilities", {"features": 0})["features"] == len(located)

            browser = Client()
            for url in ("/en/maps/public/", "/en/maps/public/embed/"):
                page = browser.get(url)
                assert page.status_code == 200
                assert _public_map_ids(browser, page.content.decode()) == located
                assert "Data as of" in page.content.decode()
            dropped = next(iter(outside))
            assert browser.get(f"/en/maps/facility/{dropped}/").status_code == 404
            assert browser.get(f"/en/maps/public/?facility={dropped}").status_code == 404
            kept = next(iter(located))
            assert browser.get(f"/en/maps/facility/{kept}/").status_code == 200
            raise _Rollback
    except _Rollback:
        pass
