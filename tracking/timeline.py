"""A facility's whole story in one timeline (issue 14): plan item → land parcel (act, map) → each utility
link → engineering infrastructure → design → expertise → construction (progress with photos) →
acceptance → opening.

Each entry says when the step was done (or that it is pending), the document proving it, who recorded
it and when, the planned date and the order's deadline for that step, and how late it is against it:
- the plan item: the consolidated plan's measure (12 for health centres, 13 for creative objects);
- the land parcel: measure 5; the utility links and the infrastructure stage: measure 6;
- design … the facility's target stage (acceptance, or the state expertise for measures 17, 25, 26):
  the facility's own measure; the steps after the target have no deadline in the order.
A done step is late by (done − deadline) days; a pending step by (as of − deadline) days once the
deadline has passed.

"As of / known at" is the rest of tracking's: stage records recorded by the cut-off, the parcel and
its links as their history (django-pghistory) stood then, the stages reached from
`facility_states_as_of` — one source for each fact. A bounded number of queries whatever the number
of records, links or photos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from facilities.models import Facility, Measure
from parcels.models import DocumentKind, InfrastructureLink, LinkStatus, Parcel, ParcelDocument, ParcelStatus, Utility
from tracking.lifecycle import DERIVED_STAGES
from tracking.models import PLAN_MEASURES, STAGE_ORDER, Stage, StageRecord
from tracking.selectors import FacilityState, facility_states_as_of, knowledge_cutoff

PLAN_STEP = "plan"
LINK_STEP = "link"
PARCEL_MEASURE = 5
INFRASTRUCTURE_MEASURE = 6


@dataclass(frozen=True)
class Document:
    kind: str
    number: str
    date: date | None
    url: str | None = None  # the file, where one is stored (served after a permission check)


@dataclass(frozen=True)
class ProgressUpdate:
    """One construction progress update: its date, percent and photo."""

    date: date
    percent: int | None
    photo_url: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class ParcelSummary:
    """The parcel of the parcel entry: its act, area and boundary (EPSG:4326) for the small map."""

    parcel_id: int
    cadastral_number: str
    status: str
    status_label: str
    declared_area_ha: Decimal
    computed_area_ha: Decimal | None
    geom: GEOSGeometry | None
    routes: list[GEOSGeometry] = field(default_factory=list)


@dataclass
class TimelineEntry:
    step: str  # "plan", "link", or a Stage code
    label: str
    date: date | None = None  # done on; None while pending
    planned: date | None = None
    deadline: date | None = None
    deadline_measure: int | None = None  # the order's measure the deadline comes from
    documents: list[Document] = field(default_factory=list)
    recorded_by: str = ""
    recorded_at: datetime | None = None
    link: str | None = None
    link_label: str = ""
    detail: str = ""  # e.g. a utility link's status
    is_target: bool = False
    percent: int | None = None
    updates: list[ProgressUpdate] = field(default_factory=list)
    parcel: ParcelSummary | None = None
    is_late: bool = False
    late_by_days: int | None = None

    @property
    def done(self) -> bool:
        return self.date is not None

    @property
    def photos(self) -> list[ProgressUpdate]:
        return [u for u in self.updates if u.photo_url]


@dataclass
class FacilityTimeline:
    facility_id: int
    as_of: date
    state: FacilityState
    entries: list[TimelineEntry]


def _lateness(entry: TimelineEntry, *, as_of: date) -> None:
    if entry.deadline is None:
        return
    reference = entry.date if entry.date is not None else as_of
    if reference > entry.deadline:
        entry.is_late = True
        entry.late_by_days = (reference - entry.deadline).days


def _user_id(event) -> int | None:
    metadata = event.pgh_context.metadata if event.pgh_context_id else None
    return (metadata or {}).get("user")


def _since(events: list, key) -> object | None:
    """The event from which `key(event)` has had its latest value (the one that recorded the current fact)."""
    first = None
    for event in events:
        if first is None or key(event) != key(first):
            first = event
    return first


def facility_timeline(*, facility_id: int, as_of: date | None = None, known_at=None) -> FacilityTimeline:
    """The timeline of one facility as of `as_of` (default today, as known now; else as known at the end
    of `known_at`, default `as_of`). The caller checks that the user may view the facility's region.
    At most 13 queries."""
    if as_of is None:
        as_of, cutoff = timezone.localdate(), timezone.now()
    else:
        cutoff = knowledge_cutoff(known_at if known_at is not None else as_of)
    facility = Facility.objects.select_related("measure", "tracking__plan_item__plan").get(pk=facility_id)
    tracked = getattr(facility, "tracking", None)
    plan_measure = next((p for p, measures in PLAN_MEASURES.items() if facility.measure_id in measures), None)
    deadlines = dict(
        Measure.objects.filter(number__in=[PARCEL_MEASURE, INFRASTRUCTURE_MEASURE, plan_measure]).values_list(
            "number", "deadline_end"
        )
    )
    state = facility_states_as_of(as_of=as_of, facility_ids=[facility.pk], known_at=cutoff)[facility.pk]
    records = (
        list(
            StageRecord.objects.filter(tracked=tracked, recorded_at__lt=cutoff)
            .select_related("recorded_by")
            .order_by("recorded_at", "id")
        )
        if tracked is not None
        else []
    )
    latest: dict[str, StageRecord] = {}
    for record in records:
        # Superseded hand entries count again once the parcel is gone; with a parcel, its data decide.
        if record.stage != Stage.CONSTRUCTION_PROGRESS:
            latest[record.stage] = record
    parcel_events, link_events, utilities, parcel_docs = _parcel_history(state=state, cutoff=cutoff)
    names = _usernames([*parcel_events, *link_events])

    entries = [_plan_entry(tracked=tracked, plan_measure=plan_measure, deadlines=deadlines, as_of=as_of, cutoff=cutoff)]
    stages_after_target = STAGE_ORDER[STAGE_ORDER.index(state.target_stage) + 1 :]
    for stage in STAGE_ORDER:
        if stage == Stage.PARCEL and state.parcel is not None:
            entry = _parcel_entry(
                state=state, events=parcel_events, link_events=link_events, names=names, docs=parcel_docs
            )
        elif stage == Stage.INFRASTRUCTURE and state.parcel is not None:
            entries.extend(
                _link_entries(events=link_events, names=names, utilities=utilities, as_of=as_of, deadlines=deadlines)
            )
            entry = _stage_entry(stage, state=state, record=None)
            entry.documents = [
                Document(kind=str(DocumentKind.BALANCE_ACT.label), number="", date=None, url=d.url)
                for d in parcel_docs
                if d.kind == DocumentKind.BALANCE_ACT
            ]
            if state.parcel.parcel_id is not None:
                entry.link = reverse("parcels:detail", kwargs={"pk": state.parcel.parcel_id}) + "#links"
                entry.link_label = _("Utility links")
            if entry.date is None and state.parcel.required_open:
                entry.detail = _("still to connect: %(u)s") % {
                    "u": ", ".join(str(utilities.get(code, code)) for code in state.parcel.required_open)
                }
        elif stage == Stage.CONSTRUCTION_PROGRESS:
            entry = _progress_entry(state=state, records=records, as_of=as_of)
        else:
            entry = _stage_entry(stage, state=state, record=latest.get(stage))
        if stage == Stage.PARCEL:
            entry.deadline, entry.deadline_measure = deadlines.get(PARCEL_MEASURE), PARCEL_MEASURE
        elif stage == Stage.INFRASTRUCTURE:
            entry.deadline, entry.deadline_measure = deadlines.get(INFRASTRUCTURE_MEASURE), INFRASTRUCTURE_MEASURE
        elif stage not in stages_after_target:
            entry.deadline, entry.deadline_measure = state.deadline, state.measure_id
        entry.is_target = stage == state.target_stage
        entries.append(entry)
    for entry in entries:
        _lateness(entry, as_of=as_of)
    return FacilityTimeline(facility_id=facility.pk, as_of=as_of, state=state, entries=entries)


def _plan_entry(*, tracked, plan_measure: int | None, deadlines: dict, as_of: date, cutoff: datetime) -> TimelineEntry:
    entry = TimelineEntry(
        step=PLAN_STEP,
        label=_("item of the consolidated plan"),
        deadline=deadlines.get(plan_measure),
        deadline_measure=plan_measure,
    )
    item = tracked.plan_item if tracked is not None else None
    plan = item.plan if item is not None else None
    if plan is None:
        return entry
    entry.link = reverse("tracking:plan", kwargs={"pk": plan.pk})
    entry.link_label = _("Consolidated plan")
    entry.detail = ngettext(
        "measure %(m)s, %(year)s: %(count)s object in the region",
        "measure %(m)s, %(year)s: %(count)s objects in the region",
        item.count,
    ) % {
        "m": item.measure_id,
        "year": item.year,
        "count": item.count,
    }
    if plan.approved_at is not None and plan.approved_at < cutoff and timezone.localdate(plan.approved_at) <= as_of:
        entry.date = timezone.localdate(plan.approved_at)
        entry.recorded_at = plan.approved_at
        entry.recorded_by = plan.approved_by.username if plan.approved_by else ""
        entry.documents = [
            Document(
                kind=_("consolidated plan (measure %(m)s), version %(v)s")
                % {"m": plan.plan_measure_id, "v": plan.version},
                number="",
                date=entry.date,
            )
        ]
    return entry


def _stage_entry(stage: str, *, state: FacilityState, record: StageRecord | None) -> TimelineEntry:
    entry = TimelineEntry(
        step=stage,
        label=str(Stage(stage).label),
        date=state.reached.get(stage),
        planned=state.planned.get(stage),
    )
    if record is not None and stage not in (DERIVED_STAGES if state.parcel is not None else ()):
        if record.planned_date is not None:
            entry.planned = record.planned_date
        entry.recorded_by = record.recorded_by.username if record.recorded_by else ""
        entry.recorded_at = record.recorded_at
        if entry.date is not None and (record.doc_number or record.doc_file):
            entry.documents = [
                Document(
                    kind=_("proving document"),
                    number=record.doc_number,
                    date=record.doc_date,
                    url=reverse("tracking:stage_document", kwargs={"pk": record.pk}) if record.doc_file else None,
                )
            ]
        entry.detail = record.executor
    return entry


def _progress_entry(*, state: FacilityState, records: list[StageRecord], as_of: date) -> TimelineEntry:
    entry = _stage_entry(Stage.CONSTRUCTION_PROGRESS, state=state, record=None)
    updates = sorted(
        (r for r in records if r.stage == Stage.CONSTRUCTION_PROGRESS and r.actual_date and r.actual_date <= as_of),
        key=lambda r: (r.actual_date, r.recorded_at, r.id),
    )
    entry.updates = [
        ProgressUpdate(
            date=r.actual_date,
            percent=r.percent,
            photo_url=reverse("tracking:stage_file", kwargs={"pk": r.pk, "field": "photo"}) if r.photo else None,
            recorded_by=r.recorded_by.username if r.recorded_by else "",
            recorded_at=r.recorded_at,
        )
        for r in updates
    ]
    entry.percent = state.percent
    if updates:
        entry.recorded_by, entry.recorded_at = entry.updates[-1].recorded_by, entry.updates[-1].recorded_at
    return entry


def _parcel_history(*, state: FacilityState, cutoff: datetime):
    """History events (oldest first) of the facility's current parcel and of its links up to `cutoff`,
    the utilities' names and the parcel's act / balance-act scans. Four queries, none without a parcel."""
    parcel_id = state.parcel.parcel_id if state.parcel is not None else None
    if parcel_id is None:
        return [], [], {}, []
    parcel_events = list(
        Parcel.pgh_event_model.objects.filter(pgh_obj_id=parcel_id, pgh_created_at__lt=cutoff)
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    link_events = list(
        InfrastructureLink.pgh_event_model.objects.filter(parcel_id=parcel_id, pgh_created_at__lt=cutoff)
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    utilities = {u.code: u for u in Utility.objects.all()}
    docs = [
        Document(
            kind=d.kind,
            number=d.title,
            date=timezone.localdate(d.uploaded_at),
            url=reverse("parcels:document_download", kwargs={"pk": d.pk}) if d.file else None,
        )
        for d in ParcelDocument.objects.filter(
            parcel_id=parcel_id,
            kind__in=[DocumentKind.ACT, DocumentKind.BALANCE_ACT],
            uploaded_at__lt=cutoff,
        ).order_by("uploaded_at", "pk")
    ]
    return parcel_events, link_events, utilities, docs


def _usernames(events: list) -> dict[int, str]:
    ids = {_user_id(e) for e in events} - {None}
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def _current_links(events: list) -> list[list]:
    """The history (oldest first) of each link that still existed at the cut-off."""
    by_link: dict[int, list] = {}
    for event in events:
        by_link.setdefault(event.pgh_obj_id, []).append(event)
    return [rows for rows in by_link.values() if rows[-1].pgh_label != "delete"]


def _parcel_entry(
    *, state: FacilityState, events: list, link_events: list, names: dict, docs: list[Document]
) -> TimelineEntry:
    facts = state.parcel
    entry = TimelineEntry(step=Stage.PARCEL, label=str(Stage.PARCEL.label), date=facts.parcel_on)
    if not events:
        return entry
    current = events[-1]
    entry.parcel = ParcelSummary(
        parcel_id=facts.parcel_id,
        cadastral_number=current.cadastral_number,
        status=current.status,
        status_label=str(ParcelStatus(current.status).label),
        declared_area_ha=current.declared_area_ha,
        computed_area_ha=current.computed_area_ha,
        geom=current.geom,
        routes=[rows[-1].route for rows in _current_links(link_events) if rows[-1].route is not None],
    )
    entry.link = reverse("parcels:detail", kwargs={"pk": facts.parcel_id})
    entry.link_label = _("Parcel page")
    entry.detail = entry.parcel.status_label
    if current.act_number:
        entry.documents.append(
            Document(
                kind=str(DocumentKind.ACT.label),
                number=current.act_number,
                date=current.act_date,
                url=next((d.url for d in docs if d.kind == DocumentKind.ACT and d.url), None),
            )
        )
    # Who recorded the act as it stands: the event since which status, number and date are what they are.
    recorded = _since(events, lambda e: (e.status, e.act_number, e.act_date))
    entry.recorded_at = recorded.pgh_created_at
    entry.recorded_by = names.get(_user_id(recorded), "")
    return entry


def _link_entries(*, events: list, names: dict, utilities: dict, as_of: date, deadlines: dict) -> list[TimelineEntry]:
    current = _current_links(events)
    current.sort(key=lambda rows: (getattr(utilities.get(rows[-1].utility_id), "sort_order", 0), rows[-1].utility_id))
    entries = []
    for rows in current:
        link = rows[-1]
        utility = utilities.get(link.utility_id)
        connected = link.status == LinkStatus.CONNECTED and link.actual_connection_date is not None
        entry = TimelineEntry(
            step=LINK_STEP,
            label=_("utility link: %(u)s") % {"u": utility.name if utility else link.utility_id},
            date=link.actual_connection_date if connected and link.actual_connection_date <= as_of else None,
            planned=link.planned_connection_date,
            detail=str(LinkStatus(link.status).label),
            link=reverse("parcels:detail", kwargs={"pk": link.parcel_id}) + f"#link-{link.pgh_obj_id}",
            link_label=_("Parcel page"),
        )
        if link.required and link.status != LinkStatus.NOT_REQUIRED:
            entry.deadline, entry.deadline_measure = deadlines.get(INFRASTRUCTURE_MEASURE), INFRASTRUCTURE_MEASURE
        if link.balance_act_number:
            entry.documents.append(
                Document(kind=_("balance-delimitation act"), number=link.balance_act_number, date=link.balance_act_date)
            )
        recorded = _since(rows, lambda e: (e.status, e.actual_connection_date, e.balance_act_number))
        entry.recorded_at = recorded.pgh_created_at
        entry.recorded_by = names.get(_user_id(recorded), "")
        entries.append(entry)
    return entries
