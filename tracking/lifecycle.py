"""The stages a facility's land parcel decides: "land parcel allocated" and "engineering infrastructure".

One source for each fact (measures 5 and 6): where a facility has a parcel record, these two stages
are *derived* from it, never entered by hand:
- **land parcel allocated** is reached on the act date of its parcel with an issued land-use act
  (the act is the stage's document, the parcel its link);
- **engineering infrastructure** is reached when the parcel (act issued) has its utility links
  recorded and every required link is connected: on the date of the last required connection (on
  the act date when the links say nothing is required); the balance-delimitation acts are its
  documents. The planned date is the latest planned connection of a required link not yet connected.

"As of / known at": the parcels and links are read from their history (django-pghistory events), as
they stood at the knowledge cut-off, so a past state is reproduced whatever was recorded later — the
same semantics as the append-only stage records. Facilities without any parcel record keep the
stage records entered by hand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import DateTimeField, Exists, Max, OuterRef, Q, Subquery

from parcels.models import InfrastructureLink, LinkStatus, Parcel, ParcelStatus
from tracking.models import Stage

DERIVED_STAGES = (Stage.PARCEL, Stage.INFRASTRUCTURE)


@dataclass(frozen=True)
class BalanceAct:
    utility: str
    number: str
    date: date | None
    connected_on: date | None


@dataclass(frozen=True)
class LinkFact:
    """One utility link of the parcel as of a date (measure 6 counts the required ones)."""

    utility: str
    required: bool  # required and not marked "not required"
    status: str
    connected_on: date | None  # actual connection, if connected by `as_of`
    planned_on: date | None


@dataclass
class ParcelFacts:
    """What a facility's parcel data says about the two derived stages as of a date."""

    facility_id: int
    parcel_id: int | None = None  # the current (not revoked) parcel, if any
    status: str = ""
    act_number: str = ""
    act_date: date | None = None
    parcel_on: date | None = None  # stage reached (act issued, dated by `as_of`)
    infrastructure_on: date | None = None
    infrastructure_planned: date | None = None
    links_recorded: int = 0
    required_open: list[str] = field(default_factory=list)  # utilities still to connect
    balance_acts: list[BalanceAct] = field(default_factory=list)
    links: list[LinkFact] = field(default_factory=list)

    def reached(self) -> dict[str, date]:
        out = {}
        if self.parcel_on is not None:
            out[Stage.PARCEL] = self.parcel_on
        if self.infrastructure_on is not None:
            out[Stage.INFRASTRUCTURE] = self.infrastructure_on
        return out


def _latest_rows(event_model, *, cutoff: datetime, filters: Q) -> list:
    """Each object's state as of `cutoff`: its latest history event recorded before it (deleted ones dropped)."""
    rows = (
        event_model.objects.filter(filters, pgh_created_at__lt=cutoff)
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
    )
    return [row for row in rows if row.pgh_label != "delete"]


def parcel_facts_as_of(*, facility_ids, as_of: date, cutoff: datetime) -> dict[int, ParcelFacts]:
    """{facility id: ParcelFacts} for the facilities among `facility_ids` that had a parcel record at
    `cutoff` (any status, revoked ones included: they too are the parcel data). Two queries."""
    ids = list(facility_ids)
    parcels = _latest_rows(Parcel.pgh_event_model, cutoff=cutoff, filters=Q(facility_id__in=ids))
    facts: dict[int, ParcelFacts] = {}
    current: dict[int, object] = {}
    for row in parcels:
        if row.facility_id is None:
            continue
        facts.setdefault(row.facility_id, ParcelFacts(facility_id=row.facility_id))
        if row.status != ParcelStatus.REVOKED:
            current[row.facility_id] = row
    for facility_id, row in current.items():
        f = facts[facility_id]
        f.parcel_id, f.status, f.act_number, f.act_date = row.pgh_obj_id, row.status, row.act_number, row.act_date
        if row.status == ParcelStatus.ACT_ISSUED and row.act_date is not None and row.act_date <= as_of:
            f.parcel_on = row.act_date
    by_parcel = {f.parcel_id: f for f in facts.values() if f.parcel_id is not None}
    if by_parcel:
        links = _latest_rows(
            InfrastructureLink.pgh_event_model, cutoff=cutoff, filters=Q(parcel_id__in=list(by_parcel))
        )
        grouped = defaultdict(list)
        for link in links:
            grouped[link.parcel_id].append(link)
        for parcel_id, rows in grouped.items():
            _infrastructure(by_parcel[parcel_id], rows, as_of=as_of)
    return facts


def _infrastructure(facts: ParcelFacts, links: list, *, as_of: date) -> None:
    facts.links_recorded = len(links)
    required = [link for link in links if link.required and link.status != LinkStatus.NOT_REQUIRED]
    connected_on = []
    for link in sorted(links, key=lambda row: row.utility_id):
        if link.balance_act_number:
            facts.balance_acts.append(
                BalanceAct(
                    utility=link.utility_id,
                    number=link.balance_act_number,
                    date=link.balance_act_date,
                    connected_on=link.actual_connection_date,
                )
            )
    planned = []
    required_ids = {link.pgh_obj_id for link in required}
    for link in sorted(links, key=lambda row: row.utility_id):
        facts.links.append(
            LinkFact(
                utility=link.utility_id,
                required=link.pgh_obj_id in required_ids,
                status=link.status,
                connected_on=link.actual_connection_date if _connected_by(link, as_of) else None,
                planned_on=link.planned_connection_date,
            )
        )
    for link in required:
        if _connected_by(link, as_of):
            connected_on.append(link.actual_connection_date)
        else:
            facts.required_open.append(link.utility_id)
            if link.planned_connection_date is not None:
                planned.append(link.planned_connection_date)
    if facts.parcel_on is None or not links:
        # Nobody has assessed the parcel's needs yet, or the parcel is not there: not reached.
        facts.infrastructure_planned = max(planned) if planned else None
        return
    if facts.required_open:
        facts.infrastructure_planned = max(planned) if planned else None
        return
    # Every required link connected (or none required): the later of the act and the last connection.
    facts.infrastructure_on = max([facts.parcel_on, *connected_on])


def _connected_by(link, as_of: date) -> bool:
    return (
        link.status == LinkStatus.CONNECTED
        and link.actual_connection_date is not None
        and link.actual_connection_date <= as_of
    )


def facility_has_parcel_condition() -> Exists:
    """Facilities with a parcel record (then the two derived stages follow the parcel, never a hand entry)."""
    return Exists(Parcel.objects.filter(facility_id=OuterRef("pk")))


def parcel_reached_condition() -> Q:
    """Facilities whose current parcel has its land-use act issued (the stage "land parcel allocated")."""
    return Q(Exists(Parcel.objects.filter(facility_id=OuterRef("pk"), status=ParcelStatus.ACT_ISSUED)))


def infrastructure_reached_condition() -> Q:
    """Facilities whose parcel (act issued) has links recorded and no required link left to connect."""
    open_required = InfrastructureLink.objects.filter(parcel_id=OuterRef("pk"), required=True).exclude(
        status__in=[LinkStatus.CONNECTED, LinkStatus.NOT_REQUIRED]
    )
    parcels = Parcel.objects.filter(facility_id=OuterRef("pk"), status=ParcelStatus.ACT_ISSUED).filter(
        Exists(InfrastructureLink.objects.filter(parcel_id=OuterRef("pk"))), ~Exists(open_required)
    )
    return Q(Exists(parcels))


def parcel_data_changed_at() -> tuple[Subquery, Subquery]:
    """Per facility: the last change of its parcels and of their links (history events, deletions
    included), so a change of the derived stages changes the facility layer's ETag and Last-Modified."""
    parcel_events = (
        Parcel.pgh_event_model.objects.filter(facility_id=OuterRef("pk"))
        .order_by()
        .values("facility_id")
        .annotate(at=Max("pgh_created_at"))
        .values("at")
    )
    link_events = (
        InfrastructureLink.pgh_event_model.objects.filter(parcel__facility_id=OuterRef("pk"))
        .order_by()
        .values("parcel__facility_id")
        .annotate(at=Max("pgh_created_at"))
        .values("at")
    )
    return (
        Subquery(parcel_events[:1], output_field=DateTimeField()),
        Subquery(link_events[:1], output_field=DateTimeField()),
    )


def facility_has_parcel(*, facility_id: int) -> bool:
    return Parcel.objects.filter(facility_id=facility_id).exists()


@dataclass(frozen=True)
class Disagreement:
    """A hand-entered parcel/infrastructure stage that the facility's parcel data contradict, or a later
    stage dated before the parcel's act: for a planner to look at and mark as reviewed."""

    kind: str  # "hand_entered" or "before_act"
    facility_id: int
    facility_name: str
    region_name: str
    tracked_id: int
    stage: str
    entered_on: date | None  # the hand-entered date (or the later stage's date)
    parcel_on: date | None  # what the parcel data say
    parcel_id: int | None
    record_id: int | None  # the superseded record to review


def stage_disagreements(*, records, trackeds, today: date, now: datetime) -> list[Disagreement]:
    """Disagreements of the superseded, not yet reviewed `records` and of the `trackeds` snapshots
    (querysets already scoped to what the caller may view) with today's parcel data."""
    latest = list(
        records.filter(superseded_by_parcel=True, reviewed_at__isnull=True)
        .select_related("tracked__facility__region")
        .order_by("tracked_id", "stage", "-recorded_at", "-id")
        .distinct("tracked_id", "stage")
    )
    trackeds = list(trackeds.select_related("facility__region").exclude(design_on=None))
    ids = {r.tracked.facility_id for r in latest} | {t.facility_id for t in trackeds}
    facts = parcel_facts_as_of(facility_ids=ids, as_of=today, cutoff=now)
    out = []
    for record in latest:
        fact = facts.get(record.tracked.facility_id)
        if fact is None:
            continue  # the parcel was removed since: the record counts again
        derived = fact.reached().get(record.stage)
        if record.actual_date != derived:
            facility = record.tracked.facility
            out.append(
                Disagreement(
                    kind="hand_entered",
                    facility_id=facility.id,
                    facility_name=facility.name,
                    region_name=facility.region.name,
                    tracked_id=record.tracked_id,
                    stage=record.stage,
                    entered_on=record.actual_date,
                    parcel_on=derived,
                    parcel_id=fact.parcel_id,
                    record_id=record.id,
                )
            )
    for tracked in trackeds:
        fact = facts.get(tracked.facility_id)
        if fact is not None and fact.parcel_on is not None and tracked.design_on < fact.parcel_on:
            out.append(
                Disagreement(
                    kind="before_act",
                    facility_id=tracked.facility_id,
                    facility_name=tracked.facility.name,
                    region_name=tracked.facility.region.name,
                    tracked_id=tracked.id,
                    stage=Stage.DESIGN,
                    entered_on=tracked.design_on,
                    parcel_on=fact.parcel_on,
                    parcel_id=fact.parcel_id,
                    record_id=None,
                )
            )
    return sorted(out, key=lambda d: (d.region_name, d.facility_name, d.stage))
