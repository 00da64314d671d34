"""Writes of infrastructure links (a parcel's connection to one utility network), checked and saved in one transaction.

A stale `version` raises ParcelConflict. Routes are LineStrings in EPSG:4326, their lengths in m.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.gis.geos import GEOSGeometry
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from parcels.checks import Problem, link_route_check
from parcels.models import InfrastructureLink, LinkStatus, Parcel, Utility
from parcels.services.common import (
    ParcelConflict,
    ParcelValidationError,
    SaveResult,
    integrity_error_problem,
    region_edit_require,
)

LINK_FIELDS = [
    "required",
    "status",
    "capacity",
    "capacity_unit",
    "provider",
    "balance_act_number",
    "balance_act_date",
    "planned_connection_date",
    "actual_connection_date",
    "cost_kzt",
]


def link_validate(
    *, data: dict, utility: Utility, parcel: Parcel, route: GEOSGeometry | None
) -> tuple[list[Problem], float | None]:
    """All checks of a link create or edit, without saving: (problems, route length in m or None)."""
    problems: list[Problem] = []
    status = data.get("status") or LinkStatus.PLANNED
    if status not in LinkStatus.values:
        problems.append(Problem("status", _("Unknown status %(s)s.") % {"s": status}, field="status"))
    required = data.get("required", True)
    if (status == LinkStatus.NOT_REQUIRED) == bool(required):
        problems.append(
            Problem(
                "required_status",
                _("A link that is not required has the status “not required”, and only such a link."),
                field="required",
            )
        )
    if status == LinkStatus.CONNECTED:
        for name, label in (
            ("balance_act_number", _("balance-delimitation act number")),
            ("balance_act_date", _("balance-delimitation act date")),
            ("actual_connection_date", _("actual connection date")),
        ):
            if not data.get(name):
                problems.append(
                    Problem("act_missing", _("Status “connected” needs the %(f)s.") % {"f": label}, field=name)
                )
    today = timezone.localdate()
    actual = data.get("actual_connection_date")
    act = data.get("balance_act_date")
    if actual and actual > today:
        problems.append(
            Problem(
                "date_future",
                _("The actual connection date %(d)s is in the future.") % {"d": actual},
                field="actual_connection_date",
            )
        )
    if act and actual and act < actual:
        problems.append(
            Problem(
                "date_order",
                _("The balance-delimitation act (%(a)s) cannot be dated before the connection (%(c)s).")
                % {"a": act, "c": actual},
                field="balance_act_date",
            )
        )
    if parcel.act_date:
        for name in ("planned_connection_date", "actual_connection_date"):
            value = data.get(name)
            if value and value < parcel.act_date:
                problems.append(
                    Problem(
                        "date_order",
                        _("%(f)s %(d)s is before the parcel's land act (%(a)s).")
                        % {
                            "f": InfrastructureLink._meta.get_field(name).verbose_name,
                            "d": value,
                            "a": parcel.act_date,
                        },
                        field=name,
                    )
                )
    capacity = data.get("capacity")
    unit = data.get("capacity_unit") or ""
    if capacity is not None:
        if Decimal(capacity) <= 0:
            problems.append(Problem("capacity", _("The capacity must be positive."), field="capacity"))
        if unit not in utility.capacity_units:
            problems.append(
                Problem(
                    "capacity_unit",
                    _("For %(u)s the capacity is given in %(units)s, not “%(unit)s”.")
                    % {"u": utility.name, "units": ", ".join(utility.capacity_units), "unit": unit},
                    field="capacity_unit",
                )
            )
    cost = data.get("cost_kzt")
    if cost is not None and Decimal(cost) < 0:
        problems.append(Problem("cost", _("The cost cannot be negative."), field="cost_kzt"))
    length = None
    if route is not None:
        if route.srid != 4326 or route.geom_type != "LineString":
            problems.append(Problem("route_invalid", _("The route must be a line in EPSG:4326."), field="route"))
        else:
            route_problems, length = link_route_check(route=route, parcel=parcel)
            problems += route_problems
    return problems, length


@transaction.atomic
def link_create(*, user, parcel: Parcel, utility: Utility, data: dict, route=None, is_demo: bool = False) -> SaveResult:
    region_edit_require(user=user, region_id=parcel.region_id)
    problems, length = link_validate(data=data, utility=utility, parcel=parcel, route=route)
    if InfrastructureLink.objects.filter(parcel=parcel, utility=utility).exists():
        problems.append(
            Problem(
                "link_duplicate", _("This parcel already has a link for %(u)s.") % {"u": utility.name}, field="utility"
            )
        )
    if problems:
        raise ParcelValidationError(problems)
    link = InfrastructureLink(
        parcel=parcel,
        utility=utility,
        region_id=parcel.region_id,
        route=route,
        route_length_m=None if length is None else Decimal(length).quantize(Decimal("0.1")),
        is_demo=is_demo,
        **{k: data.get(k) for k in LINK_FIELDS if k in data},
    )
    for name in ("provider", "balance_act_number", "capacity_unit"):
        setattr(link, name, (getattr(link, name) or "").strip())
    try:
        with transaction.atomic():
            link.save()
    except IntegrityError as exc:
        raise ParcelValidationError([integrity_error_problem(exc=exc)]) from exc
    return SaveResult(link)


@transaction.atomic
def link_update(
    *, user, link_id: int, expected_version: int, data: dict, route=None, clear_route: bool = False
) -> SaveResult:
    link = InfrastructureLink.objects.select_related("parcel", "utility").get(pk=link_id)
    region_edit_require(user=user, region_id=link.region_id)
    if link.version != expected_version:
        raise ParcelConflict(link.version)
    merged = {k: getattr(link, k) for k in LINK_FIELDS} | {k: v for k, v in data.items() if k in LINK_FIELDS}
    new_route = None if clear_route else (route if route is not None else link.route)
    problems, length = link_validate(data=merged, utility=link.utility, parcel=link.parcel, route=new_route)
    if problems:
        raise ParcelValidationError(problems)
    for name in ("provider", "balance_act_number", "capacity_unit"):
        merged[name] = (merged[name] or "").strip()
    try:
        with transaction.atomic():
            changed = InfrastructureLink.objects.filter(pk=link_id, version=expected_version).update(
                **merged,
                route=new_route,
                route_length_m=None if length is None else Decimal(length).quantize(Decimal("0.1")),
                version=F("version") + 1,
                updated_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise ParcelValidationError([integrity_error_problem(exc=exc)]) from exc
    if not changed:
        raise ParcelConflict(InfrastructureLink.objects.filter(pk=link_id).values_list("version", flat=True).first())
    link.refresh_from_db()
    return SaveResult(link)


@transaction.atomic
def link_restore(*, user, link_id: int, event_id: int, expected_version: int) -> SaveResult:
    """Restore a link's fields and route from one of its history events (re-checked like any edit)."""
    link = InfrastructureLink.objects.get(pk=link_id)
    event = link.events.get(pgh_id=event_id)  # type: ignore[attr-defined]
    return link_update(
        user=user,
        link_id=link_id,
        expected_version=expected_version,
        data={k: getattr(event, k) for k in LINK_FIELDS},
        route=event.route,
        clear_route=event.route is None,
    )


@transaction.atomic
def link_delete(*, user, link_id: int) -> None:
    link = InfrastructureLink.objects.get(pk=link_id)
    region_edit_require(user=user, region_id=link.region_id)
    link.delete()
