"""The approved plans' facilities as open data in OC4IDS 0.9 (Open Contracting for Infrastructure Data Standard).

One OC4IDS project per facility that the public sees (the facilities collection's public rows: the
current approved consolidated plans, measures 12 and 13), built from the lifecycle data only:
identification = the plan item; preparation = land parcel, engineering infrastructure, design,
state expertise; implementation = construction started and in progress; completion = acceptance
and opening. OC4IDS 0.9 has no project-level milestones, so each stage reached is an observation
of the `physicalProgress` metric (its date, the stage and its phase as dimensions) and each planned
date one of the same forecast; `status` is the phase of the furthest stage reached.

Public data only: names, kind, region, district, places, stage dates, construction progress, the
point (EPSG:4326 longitude, latitude in degrees) and, where the editor published them, the budget
(whole tenge, KZT), the funding source and the contractor — read through the facilities
collection's public properties (facilities.collections.FACILITY_FINANCES_PUBLIC), the same rule
as the public map and API. Never parcels' acts, documents, executors, overdue reasons or notes.

Project identifiers: OC4IDS wants them to begin with a prefix registered with the Open
Contracting Partnership ("oc4ids-" and six characters). PROJECT_ID_PREFIX is a LOCAL, UNREGISTERED
prefix: identifiers are stable within this portal but not guaranteed unique in the world until the
publisher registers a prefix and puts it here. The package says so in its `prefixNote` member.

Members beyond the schema (allowed: it does not close the objects): `licenceText`, `attribution`,
`prefixNote`, `demoProjects` on the package, `isDemo` on a project. Before any plan is approved the
package has no project, which the schema's `minItems: 1` does not accept: the API answers 404 then
(api/v1/open_data.py) rather than serve an invalid package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facilities.collections import FACILITY_FINANCES_PUBLIC
from facilities.models import HEALTH_MEASURES, Facility, FundingSource, Measure
from tracking.models import STAGE_ORDER, Stage, StageRecord
from tracking.selectors.public import public_facility_ids
from tracking.selectors.states import facility_states_as_of

OC4IDS_VERSION = "0.9"  # major.minor, as the package's `version` must be; the shipped schema is 0.9.3
# Local and unregistered (see the module's docstring): "kz191" = Kazakhstan, Order No. 191-ө.
PROJECT_ID_PREFIX = "oc4ids-kz191-"
LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "en"
# Our lifecycle's stages in OC4IDS phases (the projectStatus codelist).
IDENTIFICATION = "identification"
STAGE_PHASE = {
    Stage.PARCEL: "preparation",
    Stage.INFRASTRUCTURE: "preparation",
    Stage.DESIGN: "preparation",
    Stage.EXPERTISE: "preparation",
    Stage.CONSTRUCTION_STARTED: "implementation",
    Stage.CONSTRUCTION_PROGRESS: "implementation",
    Stage.ACCEPTED: "completion",
    Stage.OPENED: "completion",
}
PLAN_ITEM = "plan_item"  # the identification observation's stage code
# projectSector codes (an open codelist; these two are in it): health and recreation centres
# (measures 14–17), creative and intellectual development objects (18–26).
SECTORS_HEALTH = ["health", "cultureSportsAndRecreation"]
SECTORS_CREATIVE = ["education", "cultureSportsAndRecreation"]
PROJECT_TYPE = "construction"  # projectType: every object of the order is a new building
# Gazetteer of the region and district: KATO (Classifier of Administrative-Territorial Objects of
# Kazakhstan). locationGazetteers is an open codelist without it, so this is a local extension.
GAZETTEER_KATO = "KATO"
# Organisation identifier scheme of a contractor's business identification number (org-id.guide).
BIN_SCHEME = "KZ-BIN"
CURRENCY = "KZT"
_URL = re.compile(r"https?://[^\s)]+")


class UnknownLanguage(ValueError):
    """The language is not one of LANGUAGES."""


def licence_url(licence: str) -> str | None:
    """The licence's canonical URI, taken from the portal's public-data licence text (OC4IDS wants a URI)."""
    match = _URL.search(licence)
    return match.group(0) if match else None


def _datetime(day: date | datetime) -> str:
    """An OC4IDS date-time: a day as its midnight in the portal's time zone (Asia/Almaty, UTC+5)."""
    if isinstance(day, datetime):
        return timezone.localtime(day).isoformat()
    return timezone.make_aware(datetime.combine(day, time.min)).isoformat()


def _period(*, approved: date | None, stage_days: list[date], end: date) -> dict:
    """The project's period: from its first recorded day to the planned opening (or the deadline).

    A plan is often approved after work on some of its facilities began (a consolidated plan is
    re-approved each half-year), so the start is the earliest of the approval and every reached or
    planned stage day; an end before that start (a deadline already missed when work began) is left
    out rather than written as a period that ends before it starts.
    """
    days = [d for d in (approved, *stage_days) if d is not None]
    period = {}
    if days:
        period["startDate"] = _datetime(min(days))
    if not days or end >= min(days):
        period["endDate"] = _datetime(end)
    return period


@dataclass(frozen=True)
class Package:
    body: dict
    published: datetime


def _stage_label(code: str) -> str:
    return str(Stage(code).label)


def _observation(*, code: str, day: date, phase: str, measure) -> dict:
    return {
        "id": code,
        "period": {"endDate": _datetime(day)},
        "measure": measure,
        "dimensions": {"stage": code, "phase": phase},
    }


def _parties(facility: Facility, *, measure: Measure, finances: dict) -> tuple[list[dict], dict, dict | None]:
    """(parties, the publicAuthority reference, the funder reference or None)."""
    region = facility.region
    akimat = {
        "id": f"kz-akimat-{region.kato}",
        "name": _("Akimat of %(region)s") % {"region": region.name},
        "roles": ["publicAuthority"],
    }
    parties = [akimat]
    # The bodies the order makes responsible for the measure (the ministries; ЖАО are the akimats).
    for body in measure.responsible.all():
        if body.code != "ЖАО":
            parties.append({"id": f"kz-body-{body.pk}", "name": body.name, "roles": ["publicAuthority"]})
    funder = None
    source = finances["funding_source"]
    if source == FundingSource.LOCAL:
        akimat["roles"].append("funder")
        funder = {"id": akimat["id"], "name": akimat["name"]}
    elif source:
        funder = {"id": f"kz-funding-{source}", "name": str(FundingSource(source).label)}
        parties.append({**funder, "roles": ["funder"]})
    if finances["contractor_name"]:
        contractor = {"name": finances["contractor_name"], "roles": ["supplier"]}
        if finances["contractor_bin"]:
            contractor["id"] = f"{BIN_SCHEME}-{finances['contractor_bin']}"
            contractor["identifier"] = {
                "scheme": BIN_SCHEME,
                "id": finances["contractor_bin"],
                "legalName": finances["contractor_name"],
            }
        else:
            contractor["id"] = "contractor"
        parties.append(contractor)
    return parties, {"id": akimat["id"], "name": akimat["name"]}, funder


def _budget(finances: dict, *, funder: dict | None) -> dict | None:
    budget: dict = {}
    amount = {"amount": finances["budget_kzt"], "currency": CURRENCY} if finances["budget_kzt"] is not None else None
    if amount:
        budget["amount"] = amount
    if funder is not None:
        budget["description"] = str(FundingSource(finances["funding_source"]).label)
        entry = {"id": "1", "sourceParty": funder}
        if amount:
            entry["amount"] = amount
        budget["budgetBreakdown"] = [entry]
    return budget or None


def _project(facility: Facility, *, state, measure: Measure, as_of: date, base_url: str) -> dict:
    finances = {name: getattr(facility, f"public_{name}") for name in FACILITY_FINANCES_PUBLIC}
    tracked = facility.tracking
    plan = tracked.plan_item.plan if tracked.plan_item_id else None
    reached = {code: day for code, day in (state.reached.items() if state else ()) if day <= as_of}
    planned = dict(state.planned) if state else {}
    furthest = next((code for code in reversed(STAGE_ORDER) if code in reached), None)
    status = STAGE_PHASE[furthest] if furthest else IDENTIFICATION

    observations = []
    if plan is not None and plan.approved_at:
        observations.append(
            {
                "id": PLAN_ITEM,
                "period": {"endDate": _datetime(plan.approved_at)},
                "measure": _("included in the approved consolidated plan (measure %(m)s), version %(v)s")
                % {"m": plan.plan_measure_id, "v": plan.version},
                "dimensions": {"stage": PLAN_ITEM, "phase": IDENTIFICATION},
            }
        )
    for code in STAGE_ORDER:
        if code not in reached:
            continue
        observations.append(
            _observation(code=code, day=reached[code], phase=STAGE_PHASE[code], measure=_stage_label(code))
        )
        if code == Stage.CONSTRUCTION_PROGRESS and state.percent is not None:
            observations.append(
                {
                    "id": "construction_percent",
                    "period": {"endDate": _datetime(reached[code])},
                    "measure": state.percent,
                    "unit": {"name": _("percent")},
                    "dimensions": {"stage": code, "phase": STAGE_PHASE[code]},
                }
            )
    forecasts = [
        _observation(code=code, day=planned[code], phase=STAGE_PHASE[code], measure=_stage_label(code))
        for code in STAGE_ORDER
        if code in planned
    ]

    region, district = facility.region, facility.district
    description = _(
        "%(kind)s with %(places)s places, built under measure %(m)s of the roadmap of Order No. 191-ө "
        "(children's recreation and creative development, 2024–2026) in %(region)s; planned year %(year)s."
    ) % {
        "kind": facility.kind.name,
        "places": facility.places,
        "m": measure.number,
        "region": region.name,
        "year": facility.planned_year,
    }
    if facility.is_demo:
        description = _("DEMO DATA, not an official record.") + " " + description
    project: dict = {
        "id": f"{PROJECT_ID_PREFIX}{facility.pk}",
        "updated": _datetime(max(t for t in (facility.updated_at, tracked.updated_at) if t is not None)),
        "title": facility.name,
        "description": description,
        "status": status,
        "sector": SECTORS_HEALTH if measure.number in HEALTH_MEASURES else SECTORS_CREATIVE,
        "purpose": str(measure.title),
        "type": PROJECT_TYPE,
        "language": translation.get_language(),
        "isDemo": facility.is_demo,
    }
    project["period"] = _period(
        approved=timezone.localdate(plan.approved_at) if plan is not None and plan.approved_at else None,
        stage_days=[*reached.values(), *planned.values()],
        end=planned.get(Stage.OPENED) or (state.deadline if state else date(facility.planned_year, 12, 31)),
    )
    locations = []
    if facility.location is not None:
        locations.append(
            {
                "id": "point",
                "description": facility.name,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(facility.location.x, 6), round(facility.location.y, 6)],
                },
            }
        )
    locations.append(
        {
            "id": "region",
            "description": region.name,
            "gazetteer": {"scheme": GAZETTEER_KATO, "identifiers": [region.kato]},
        }
    )
    if district is not None:
        locations.append(
            {
                "id": "district",
                "description": district.name,
                "gazetteer": {"scheme": GAZETTEER_KATO, "identifiers": [district.kato]},
            }
        )
    project["locations"] = locations
    parties, authority, funder = _parties(facility, measure=measure, finances=finances)
    budget = _budget(finances, funder=funder)
    if budget:
        project["budget"] = budget
    project["parties"] = parties
    project["publicAuthority"] = authority
    if forecasts:
        project["forecasts"] = [
            {"id": "physicalProgress", "title": _("Planned dates of the lifecycle stages"), "observations": forecasts}
        ]
    if observations:
        project["metrics"] = [
            {"id": "physicalProgress", "title": _("Lifecycle stages reached"), "observations": observations}
        ]
    done = reached.get(Stage.OPENED) or reached.get(Stage.ACCEPTED)
    if done is not None:
        details = [
            f"{_stage_label(code)}: {reached[code]:%Y-%m-%d}"
            for code in (Stage.ACCEPTED, Stage.OPENED)
            if code in reached
        ]
        project["completion"] = {"endDate": _datetime(done), "endDateDetails": "; ".join(details)}
    project["documents"] = [
        {
            "id": "facility-page",
            "title": _("Public page of the facility"),
            "url": base_url + reverse("maps:facility", args=[facility.pk]),
            "format": "text/html",
        }
    ]
    return project


def oc4ids_package(*, language: str = DEFAULT_LANGUAGE, uri: str, base_url: str, as_of: date | None = None) -> Package:
    """The OC4IDS project package of the approved plans' public facilities, in `language` (kk, ru, en).

    `uri` is the package's own address, `base_url` the portal's (scheme and host, no slash at the
    end). Raises UnknownLanguage. A constant number of queries whatever the number of facilities.
    """
    if language not in LANGUAGES:
        raise UnknownLanguage(language)
    as_of = as_of or timezone.localdate()
    ids = public_facility_ids()
    facilities = list(
        Facility.objects.filter(id__in=ids)
        .select_related("kind", "region", "district", "tracking__plan_item__plan")
        .annotate(**{f"public_{name}": expression for name, expression in FACILITY_FINANCES_PUBLIC.items()})
        .order_by("pk")
    )
    states = facility_states_as_of(as_of=as_of, facility_ids=ids)
    measures = {
        m.number: m
        for m in Measure.objects.filter(number__in={f.measure_id for f in facilities}).prefetch_related("responsible")
    }
    edited = [f.updated_at for f in facilities] + [f.tracking.updated_at for f in facilities]
    recorded = StageRecord.objects.filter(tracked__facility_id__in=ids).aggregate(at=Max("recorded_at"))["at"]
    published = max((t for t in (*edited, recorded) if t is not None), default=timezone.now())
    with translation.override(language):
        projects = [
            _project(f, state=states.get(f.pk), measure=measures[f.measure_id], as_of=as_of, base_url=base_url)
            for f in facilities
        ]
        body: dict = {
            "uri": uri,
            "publishedDate": _datetime(published),
            "version": OC4IDS_VERSION,
            "publisher": {"name": _("Monitoring portal of the roadmap of Order No. 191-ө"), "uri": f"{base_url}/"},
            "license": licence_url(settings.PUBLIC_DATA_LICENCE),
            "licenceText": settings.PUBLIC_DATA_LICENCE,
            "attribution": settings.BOUNDARIES_ATTRIBUTION,
            "prefixNote": _(
                "Project identifiers begin with the local prefix %(prefix)s, which is not registered with the "
                "Open Contracting Partnership: they are stable in this portal but not guaranteed unique elsewhere."
            )
            % {"prefix": PROJECT_ID_PREFIX},
            "demoProjects": sum(1 for f in facilities if f.is_demo),
            "projects": projects,
        }
    return Package(body=body, published=published)
