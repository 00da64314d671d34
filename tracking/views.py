"""Pages of tracking. Thin: read input, call selectors/services, render."""

from __future__ import annotations

from collections import Counter
from datetime import date

import folium
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.permissions import Action, can, is_akimat, is_ministry, user_region_id
from facilities.models import CONSTRUCTION_MEASURES, Facility
from layers.models import Region
from layers.webmap.builders import base_map, map_parts
from tracking import charts, lifecycle, selectors, services
from tracking.forms import (
    AsOfForm,
    KpiMeasurementForm,
    MeasureRecordForm,
    OverdueReasonForm,
    PlanItemForm,
    PlanUploadForm,
    PopulationForm,
    ReportForm,
    StageForm,
)
from tracking.models import STAGE_ORDER, Plan, PlanItem, Report, Stage, StageRecord, TrackedFacility
from tracking.reports import RENDERERS, report_file_build
from tracking.timeline import ParcelSummary, facility_timeline


def _region_scope(user) -> list[int] | None:
    """None = all regions; a list = only these; PermissionDenied for users without a role."""
    if is_ministry(user):
        return None
    if is_akimat(user):
        return [user_region_id(user)]
    raise PermissionDenied(_("your account has no role in the portal"))


def _as_of(request) -> tuple[date, date, AsOfForm]:
    form = AsOfForm(request.GET or None)
    today = timezone.localdate()
    as_of, known_at = today, None
    if form.is_valid():
        as_of = form.cleaned_data.get("as_of") or today
        known_at = form.cleaned_data.get("known_at")
    known_at = max(known_at or as_of, as_of)
    return as_of, known_at, form


def _status_context() -> dict:
    return {
        "status_labels": [(c, selectors.STATUS_LABELS[c], selectors.STATUS_COLOURS[c]) for c in selectors.STATUS_ORDER],
        "risk_rules": selectors.RISK_RULES,
        "slip_rule": selectors.SLIP_RULE_TEXT,
    }


def _labels() -> dict[str, str]:
    return {c: str(label) for c, label in selectors.STATUS_LABELS.items()}


@login_required
def dashboard(request):
    """Region × measure matrix, overdue/at-risk list, progress over time and KPI charts."""
    scope = _region_scope(request.user)
    as_of, known_at, form = _as_of(request)
    states = selectors.facility_states_as_of(as_of=as_of, known_at=known_at, region_ids=scope)
    regions = list(Region.objects.order_by("kato") if scope is None else Region.objects.filter(id__in=scope))
    facilities = {
        f.id: f for f in Facility.objects.filter(id__in=list(states)).select_related("region", "measure", "tracking")
    }
    matrix = selectors.status_matrix(states=states)
    matrix_svg = charts.status_matrix_svg(
        rows=[(r.id, r.name) for r in regions],
        columns=list(CONSTRUCTION_MEASURES),
        matrix=matrix,
        order=selectors.STATUS_ORDER,
        colours=selectors.STATUS_COLOURS,
        labels=_labels(),
        title=_("Facilities by region and measure, coloured by status, as of %(d)s") % {"d": as_of},
    )
    totals = Counter(s.status for s in states.values())
    problem_rows = sorted(
        (
            (s, facilities[fid])
            for fid, s in states.items()
            if s.status in (selectors.Status.OVERDUE, selectors.Status.AT_RISK)
        ),
        key=lambda pair: (pair[0].status != selectors.Status.OVERDUE, pair[0].deadline, pair[1].region.kato),
    )
    rule_text = {r.code: r.text for r in selectors.RISK_RULES} | {"slipped": selectors.SLIP_RULE_TEXT}
    progress_svg = charts.line_chart_svg(
        points=selectors.progress_series(until=as_of, region_ids=scope),
        series=[
            ("due", _("objects due by then (cumulative)"), "#5b6b7c"),
            ("done", _("done (target stage reached)"), "#2e7d32"),
            ("at_risk", _("at risk"), "#f9a825"),
            ("overdue", _("overdue"), "#c62828"),
        ],
        title=_("Progress over time (each month-end as known then)"),
    )
    kpi = selectors.kpi_as_of(as_of=as_of, states=states if scope is None else None, known_at=known_at)
    derived, _rows5, _rows6, _plan_rows = selectors.derived_measures_summary(
        as_of=as_of, known_at=known_at, region_ids=scope, states=states
    )
    context = {
        "derived": derived,
        "form": form,
        "as_of": as_of,
        "known_at": known_at,
        "matrix_svg": matrix_svg,
        "totals": [
            (c, selectors.STATUS_LABELS[c], selectors.STATUS_COLOURS[c], totals[c]) for c in selectors.STATUS_ORDER
        ],
        "total": len(states),
        "problems": [
            {
                "state": s,
                "facility": f,
                "label": selectors.STATUS_LABELS[s.status],
                "risks": [rule_text[c] for c in s.risks],
                "stage": _stage_label(s.stage_reached),
            }
            for s, f in problem_rows
        ],
        "progress_svg": progress_svg,
        "kpi_svgs": _kpi_charts(kpi=kpi, as_of=as_of),
        "regions": regions,
        "demo_present": any(f.is_demo for f in facilities.values()),
        **_status_context(),
    }
    return render(request, "tracking/dashboard.html", context)


def _stage_label(code: str) -> str:
    return _("no stage yet") if code == "none" else str(Stage(code).label)


def _measured_bar(row: selectors.KpiRow | None) -> tuple[str, float | None]:
    if row is None or row.measured is None:
        return _("measured: not reported"), None
    return _("measured %(period)s") % {"period": row.measured.period_end.isoformat()}, row.measured.value


def _kpi_charts(*, kpi: list[selectors.KpiRow], as_of: date) -> list:
    out = []
    for code in ("recreation_coverage", "additional_education_coverage"):
        rows = [k for k in kpi if k.code == code]
        if not rows:
            continue
        national = next((k for k in rows if k.region is None), None)
        regional = [k for k in rows if k.region is not None]
        out.append(
            {
                "name": rows[0].name,
                "national": national,
                "svg": charts.kpi_bars_svg(
                    rows=[(k.region.name, k.added_pp) for k in regional],
                    title=_("%(name)s: ESTIMATE of percentage points added by open roadmap facilities, by region")
                    % {"name": rows[0].name},
                    unit=_("p.p."),
                ),
                "national_svg": charts.kpi_bars_svg(
                    rows=[
                        (_("baseline 2023"), national.baseline if national else None),
                        _measured_bar(national),
                        (_("ESTIMATE as of %(d)s") % {"d": as_of}, national.value if national else None),
                    ],
                    title=_("%(name)s, Kazakhstan, %%") % {"name": rows[0].name},
                    unit="%",
                    target=national.target if national else None,
                    target_label=_("target %(y)s") % {"y": as_of.year},
                ),
                "estimate": any(k.population and not k.population.is_official for k in rows),
            }
        )
    return out


@login_required
def region_timeline(request, kato: str):
    """Gantt-like timeline of one region's facilities against their deadlines."""
    region = get_object_or_404(Region, kato=kato)
    if not can(request.user, Action.VIEW, region_id=region.id):
        raise PermissionDenied(_("you may view only your own region"))
    as_of, known_at, form = _as_of(request)
    states = selectors.facility_states_as_of(as_of=as_of, known_at=known_at, region_ids=[region.id])
    facilities = {f.id: f for f in Facility.objects.filter(id__in=list(states)).select_related("measure")}
    ordered = sorted(states.values(), key=lambda s: (s.deadline, s.measure_id, s.facility_id))
    rows = []
    for s in ordered:
        f = facilities[s.facility_id]
        reached = [s.reached[st] for st in STAGE_ORDER if st in s.reached]
        rows.append(
            {
                "label": f"{s.measure_id}: {f.name}",
                "first": min(reached) if reached else None,
                "done_on": s.reached.get(s.target_stage),
                "deadline": s.deadline,
                "stages": reached,
                "status": s.status,
                "status_label": str(selectors.STATUS_LABELS[s.status]),
            }
        )
    svg = charts.gantt_svg(
        rows=rows,
        as_of=as_of,
        title=_("%(region)s: facilities against their deadlines") % {"region": region.name},
        colours=selectors.STATUS_COLOURS,
        deadline_label=_("deadline"),
        as_of_label=_("as of"),
    )
    context = {
        "region": region,
        "form": form,
        "as_of": as_of,
        "svg": svg,
        "rows": [
            {
                "state": s,
                "facility": facilities[s.facility_id],
                "label": selectors.STATUS_LABELS[s.status],
                "stage": _stage_label(s.stage_reached),
            }
            for s in ordered
        ],
        "demo_present": any(f.is_demo for f in facilities.values()),
        **_status_context(),
    }
    return render(request, "tracking/region.html", context)


@login_required
def facility_detail(request, pk: int):
    """Stages of one facility (current and full history) and the update forms for its akimat."""
    tracked = get_object_or_404(TrackedFacility.objects.select_related("facility__region", "facility__measure"), pk=pk)
    facility = tracked.facility
    if not can(request.user, Action.VIEW, region_id=facility.region_id):
        raise PermissionDenied(_("you may view only your own region"))
    may_edit = can(request.user, Action.EDIT, region_id=facility.region_id)
    stage_form = StageForm(initial={"version": tracked.version})
    reason_form = OverdueReasonForm(initial={"version": tracked.version, "reason": tracked.overdue_reason})
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("you may update only the facilities of your own region"))
        if "reason" in request.POST:
            reason_form = OverdueReasonForm(request.POST)
            if reason_form.is_valid():
                try:
                    services.overdue_reason_set(
                        tracked=tracked,
                        reason=reason_form.cleaned_data["reason"],
                        user=request.user,
                        version=reason_form.cleaned_data["version"],
                    )
                    messages.success(request, _("Saved."))
                    return redirect("tracking:facility", pk=pk)
                except services.TrackingError as exc:
                    _form_errors(reason_form, exc)
        else:
            stage_form = StageForm(request.POST, request.FILES)
            if stage_form.is_valid():
                data = stage_form.cleaned_data
                try:
                    services.stage_record_add(
                        tracked=tracked,
                        user=request.user,
                        stage=data["stage"],
                        version=data["version"],
                        planned_date=data["planned_date"],
                        actual_date=data["actual_date"],
                        percent=data["percent"],
                        places_in_use=data["places_in_use"],
                        doc_number=data["doc_number"],
                        doc_date=data["doc_date"],
                        doc_file=data["doc_file"],
                        photo=data["photo"],
                        executor=data["executor"],
                        note=data["note"],
                    )
                    messages.success(request, _("Stage recorded."))
                    return redirect("tracking:facility", pk=pk)
                except services.TrackingError as exc:
                    _form_errors(stage_form, exc)
    timeline = facility_timeline(facility_id=facility.id)
    state = timeline.state
    parcel = next((e.parcel for e in timeline.entries if e.parcel is not None), None)
    context = {
        "tracked": tracked,
        "facility": facility,
        "state": state,
        "status_label": selectors.STATUS_LABELS[state.status],
        "timeline": timeline.entries,
        "today": timeline.as_of,
        "parcel_map": _parcel_map(parcel, nonce=getattr(request, "csp_nonce", None)) if parcel else None,
        "records": tracked.records.select_related("recorded_by").order_by("-recorded_at", "-id"),
        "record_history": selectors.stage_record_history(tracked=tracked),
        "changes": selectors.tracked_facility_changes(tracked_id=tracked.id),
        "stage_form": stage_form,
        "reason_form": reason_form,
        "may_edit": may_edit,
        "demo_present": facility.is_demo,
        **_status_context(),
    }
    return render(request, "tracking/facility.html", context)


def _parcel_map(parcel: ParcelSummary, *, nonce: str | None):
    """A small map of the parcel's boundary and its utility routes (the timeline's parcel entry)."""
    if parcel.geom is None:
        return None
    west, south, east, north = parcel.geom.extent
    pad = 0.002
    m = base_map(
        bounds=[[south - pad, west - pad], [north + pad, east + pad]],
        outlines=False,
        height="260px",
        aria_label=_("Land parcel %(n)s") % {"n": parcel.cadastral_number or parcel.parcel_id},
    )
    folium.GeoJson(
        parcel.geom.json, name=_("Parcel"), style_function=lambda _f: {"color": "#1f6feb", "weight": 3}
    ).add_to(m)
    for route in parcel.routes:
        style = {"color": "#e67e22", "weight": 3}
        folium.GeoJson(route.json, name=_("Routes"), style_function=lambda _f, style=style: style).add_to(m)
    return map_parts(m, nonce=nonce)


def _form_errors(form, exc: services.TrackingError) -> None:
    for field, problems in exc.problems.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


@login_required
def stage_file(request, pk: int, field: str):
    record = get_object_or_404(StageRecord.objects.select_related("tracked__facility"), pk=pk)
    if field not in ("doc_file", "photo") or not getattr(record, field):
        raise Http404
    if not can(request.user, Action.VIEW, region_id=record.tracked.facility.region_id):
        raise PermissionDenied
    return FileResponse(getattr(record, field).open("rb"), as_attachment=True)


# --- plans -----------------------------------------------------------------------------------------


@login_required
def plan_list(request):
    _region_scope(request.user)
    return render(
        request,
        "tracking/plans.html",
        {"plans": selectors.plan_list(), "may_plan": can(request.user, Action.PLAN, region_id=None)},
    )


@login_required
def plan_detail(request, pk: int):
    _region_scope(request.user)
    plan = get_object_or_404(Plan.objects.select_related("plan_measure"), pk=pk)
    may_plan = can(request.user, Action.PLAN, region_id=None)
    form = PlanItemForm()
    if request.method == "POST":
        if not may_plan:
            raise PermissionDenied(_("only the ministry may edit consolidated plans"))
        action = request.POST.get("action")
        try:
            if action == "add":
                form = PlanItemForm(request.POST)
                if form.is_valid():
                    d = form.cleaned_data
                    services.plan_item_add(
                        plan=plan,
                        user=request.user,
                        measure=d["measure"],
                        region_id=d["region"].id,
                        district_id=d["district"].id if d["district"] else None,
                        year=d["year"],
                        count=d["count"],
                        ppp_count=d["ppp_count"],
                        places_each=d["places_each"],
                        location=form.location(),
                        names={lang: d[f"name_{lang}"] for lang in ("kk", "ru", "en")},
                    )
                    return redirect("tracking:plan", pk=pk)
            elif action == "delete":
                item = get_object_or_404(PlanItem, pk=request.POST.get("item"), plan=plan)
                services.plan_item_delete(item=item, user=request.user)
                return redirect("tracking:plan", pk=pk)
            elif action == "check":
                violations = services.plan_check(plan=plan, user=request.user)
                if violations:
                    messages.error(
                        request,
                        ngettext(
                            "%(n)s violation: the plan stays a draft.",
                            "%(n)s violations: the plan stays a draft.",
                            len(violations),
                        )
                        % {"n": len(violations)},
                    )
                else:
                    messages.success(request, _("No violations: the plan is checked."))
                return redirect("tracking:plan", pk=pk)
            elif action == "approve":
                result = services.plan_approve(plan=plan, user=request.user)
                messages.success(
                    request,
                    _("Approved: %(linked)s, %(created)s, %(dropped)s.")
                    % {
                        "linked": ngettext("%(n)s facility linked", "%(n)s facilities linked", result["linked"])
                        % {"n": result["linked"]},
                        "created": ngettext("%(n)s created", "%(n)s created", result["created"])
                        % {"n": result["created"]},
                        "dropped": ngettext("%(n)s left the plan", "%(n)s left the plan", result["dropped"])
                        % {"n": result["dropped"]},
                    },
                )
                return redirect("tracking:plan", pk=pk)
            elif action == "new_version":
                new = services.plan_create(plan_measure=plan.plan_measure_id, user=request.user, copy_from=plan)
                return redirect("tracking:plan", pk=new.pk)
        except services.TrackingError as exc:
            if action == "add":
                _form_errors(form, exc)
            else:
                for problems in exc.problems.values():
                    for problem in problems:
                        messages.error(request, problem)
    return plan_page_render(request, plan, form=form, may_plan=may_plan)


def plan_page_render(request, plan: Plan, *, form, may_plan: bool, upload_form=None, import_errors=None, status=200):
    """The plan page (also after a refused workbook upload: its errors, HTTP 400; tracking.plan_xlsx_views)."""
    items = list(plan.items.select_related("region", "district").order_by("measure_id", "region__kato", "year"))
    context = {
        "plan": plan,
        "items": items,
        "violations": services.plan_validate(plan=plan),
        "form": form,
        "upload_form": upload_form or PlanUploadForm(),
        "import_errors": import_errors or [],
        "may_plan": may_plan,
        "editable": plan.status in (Plan.Status.DRAFT, Plan.Status.CHECKED),
        "totals": {"count": sum(i.count for i in items), "ppp": sum(i.ppp_count for i in items)},
        "demo_present": plan.is_demo,
        "history": selectors.plan_history(plan=plan),
    }
    return render(request, "tracking/plan.html", context, status=status)


def _restore_and_report(request, restore, success: str):
    """Run a restore service call; its refusal becomes page messages, a malformed number a 400.

    `restore` parses the posted numbers itself, so a malformed one surfaces here as ValueError.
    """
    try:
        restore()
    except ValueError:
        return HttpResponseBadRequest(_("Bad version or event number."))
    except services.PermissionDeniedError as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.TrackingError as exc:
        for problems in exc.problems.values():
            for problem in problems:
                messages.error(request, problem)
    else:
        messages.success(request, success)
    return None


def _posted_int(request, name: str) -> int:
    return int(request.POST.get(name) or "")


def _plan_for_restore(request, pk: int) -> Plan:
    _region_scope(request.user)
    plan = get_object_or_404(Plan, pk=pk)
    if not can(request.user, Action.PLAN, region_id=None):
        raise PermissionDenied(_("only the ministry may edit consolidated plans"))
    return plan


@login_required
@require_POST
def plan_restore(request, pk: int):
    """Restore a draft plan (its note and rows) to an earlier version from its history."""
    plan = _plan_for_restore(request, pk)
    violations: list = []

    def restore():
        violations.extend(
            services.plan_restore(
                user=request.user,
                plan_id=plan.pk,
                event_id=_posted_int(request, "event"),
                expected_head=request.POST.get("head", ""),
            )
        )

    bad = _restore_and_report(request, restore, _("The earlier version of the plan was restored; check it again."))
    if bad is not None:
        return bad
    if violations:
        messages.warning(
            request,
            ngettext(
                "%(n)s violation of the order in the restored plan.",
                "%(n)s violations of the order in the restored plan.",
                len(violations),
            )
            % {"n": len(violations)},
        )
    return redirect("tracking:plan", pk=plan.pk)


@login_required
@require_POST
def plan_item_restore(request, pk: int):
    """Restore one row of a draft plan (changed or removed) from its history."""
    plan = _plan_for_restore(request, pk)
    bad = _restore_and_report(
        request,
        lambda: services.plan_item_restore(
            user=request.user,
            plan_id=plan.pk,
            event_id=_posted_int(request, "event"),
            expected_head=request.POST.get("head", ""),
        ),
        _("The earlier version of the row was restored."),
    )
    return bad or redirect("tracking:plan", pk=plan.pk)


@login_required
@require_POST
def stage_restore(request, pk: int):
    """State again an earlier version of one of the facility's stage records (appended as a new record)."""
    tracked = get_object_or_404(TrackedFacility.objects.select_related("facility"), pk=pk)
    if not can(request.user, Action.VIEW, region_id=tracked.facility.region_id):
        raise PermissionDenied(_("you may view only your own region"))
    if not can(request.user, Action.EDIT, region_id=tracked.facility.region_id):
        raise PermissionDenied(_("you may update only the facilities of your own region"))
    bad = _restore_and_report(
        request,
        lambda: services.stage_record_restore(
            user=request.user,
            tracked_id=tracked.pk,
            event_id=_posted_int(request, "event"),
            version=_posted_int(request, "version"),
        ),
        _("The earlier version of the stage record was restored as a new record."),
    )
    return bad or redirect("tracking:facility", pk=tracked.pk)


# --- non-construction measures ---------------------------------------------------------------------


@login_required
def measure_list(request):
    scope = _region_scope(request.user)
    as_of, known_at, as_of_form = _as_of(request)
    form = MeasureRecordForm()
    if request.method == "POST":
        form = MeasureRecordForm(request.POST, request.FILES)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.measure_record_add(
                    measure=d["measure"],
                    status=d["status"],
                    region_id=d["region"].id if d["region"] else None,
                    period_end=d["period_end"],
                    doc_number=d["doc_number"],
                    doc_date=d["doc_date"],
                    doc_file=d["doc_file"],
                    executor=d["executor"],
                    note=d["note"],
                    user=request.user,
                )
                messages.success(request, _("Saved."))
                return redirect("tracking:measures")
            except services.TrackingError as exc:
                _form_errors(form, exc)
    rows = selectors.measure_states_as_of(as_of=as_of, known_at=known_at)
    if scope is not None:
        rows = [r for r in rows if r.region is None or r.region.id in scope]
    per_measure: dict[int, Counter] = {}
    titles: dict[int, str] = {}
    for r in rows:
        per_measure.setdefault(r.measure.number, Counter())[r.status] += 1
        titles[r.measure.number] = f"{r.measure.number}. {r.measure.title}"
    chart = charts.stacked_bars_svg(
        rows=[(titles[n], per_measure[n]) for n in sorted(per_measure)],
        order=selectors.STATUS_ORDER,
        colours=selectors.STATUS_COLOURS,
        labels=_labels(),
        title=_("Non-construction measures by status (regions and half-years counted separately), as of %(d)s")
        % {"d": as_of},
    )
    summary, rows5, rows6, plan_rows = selectors.derived_measures_summary(
        as_of=as_of, known_at=known_at, region_ids=scope
    )
    context = {
        "chart": chart,
        "derived": summary,
        "rows5": rows5,
        "rows6": rows6,
        "plan_rows": plan_rows,
        "rows": [(r, selectors.STATUS_LABELS[r.status], selectors.STATUS_COLOURS[r.status]) for r in rows],
        "form": form,
        "as_of_form": as_of_form,
        "as_of": as_of,
    }
    return render(request, "tracking/measures.html", context)


# --- KPI and population ----------------------------------------------------------------------------


@login_required
def kpi(request):
    _region_scope(request.user)
    as_of, known_at, as_of_form = _as_of(request)
    may_plan = can(request.user, Action.PLAN, region_id=None)
    form = PopulationForm()
    if request.method == "POST":
        if not may_plan:
            raise PermissionDenied(_("only the ministry enters official population figures"))
        form = PopulationForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.school_age_official_set(
                    region_id=d["region"].id,
                    year=d["year"],
                    value=d["value"],
                    source=d["source"],
                    source_date=d["source_date"],
                    user=request.user,
                )
                messages.success(request, _("Saved."))
                return redirect("tracking:kpi")
            except services.TrackingError as exc:
                _form_errors(form, exc)
    rows = selectors.kpi_as_of(as_of=as_of, known_at=known_at)
    targets = selectors.kpi_targets()
    trajectories = []
    for code in ("recreation_coverage", "additional_education_coverage"):
        actual, measured = {}, {}
        for year in sorted(targets.get(code, {})):
            day = min(date(year, 12, 31), timezone.localdate())
            if year >= 2024 and day.year == year:
                national = next(
                    (k for k in selectors.kpi_as_of(as_of=day) if k.code == code and k.region is None), None
                )
                if national and national.value is not None:
                    actual[year] = national.value
            reported = selectors.kpi_measured_as_of(as_of=date(year, 12, 31), known_at=timezone.now()).get((code, None))
            if reported is not None and reported.period_end.year == year:
                measured[year] = reported.value
        trajectories.append(
            charts.kpi_trajectory_svg(
                targets=targets.get(code, {}),
                actual=actual,
                measured=measured,
                title=next((k.name for k in rows if k.code == code), code),
                target_label=_("target (baseline 2023)"),
                actual_label=_("ESTIMATE: baseline + roadmap contribution at year end (or today)"),
                measured_label=_("measured (reported by the ministry, latest half-year of the year)"),
            )
        )
    context = {
        "as_of": as_of,
        "as_of_form": as_of_form,
        "rows": rows,
        "charts": _kpi_charts(kpi=rows, as_of=as_of),
        "trajectories": trajectories,
        "figures": selectors.population_figures(),
        "district_figure_count": selectors.district_population_figures().count(),
        "estimate_method": services.ESTIMATE_METHOD,
        "kinds": selectors.kpi_kinds(),
        "form": form,
        "may_plan": may_plan,
        "may_enter_measured": is_ministry(request.user),
    }
    return render(request, "tracking/kpi.html", context)


@login_required
def kpi_measured(request):
    """The ministry enters the KPI values it measured (nationally and per region) for each half-year."""
    if not is_ministry(request.user):
        raise PermissionDenied(_("only the ministry enters measured KPI values"))
    form = KpiMeasurementForm()
    if request.method == "POST":
        form = KpiMeasurementForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.kpi_measurement_set(
                    indicator=d["indicator"].code,
                    region_id=d["region"].id if d["region"] else None,
                    period_end=d["period_end"],
                    value=d["value"],
                    source=d["source"],
                    source_date=d["source_date"],
                    user=request.user,
                )
                messages.success(request, _("Saved."))
                return redirect("tracking:kpi_measured")
            except services.TrackingError as exc:
                _form_errors(form, exc)
    return render(request, "tracking/kpi_measured.html", {"form": form, "rows": selectors.kpi_measurement_list()})


# --- reports ---------------------------------------------------------------------------------------


def _may_report(user, *, kind: str, region, submit: bool = False) -> bool:
    """Region reports: read by whoever may view the region, submitted (frozen) only by its akimat or an
    admin (EDIT, as services.report_submit requires); other kinds are the ministry's (PLAN)."""
    if kind == Report.Kind.REGION:
        action = Action.EDIT if submit else Action.VIEW
        return region is not None and can(user, action, region_id=region.id)
    return can(user, Action.PLAN, region_id=None)


@login_required
def report_page(request):
    """Build a report as of 1 Jan / 1 Jul, download it (XLSX, PDF, CSV) or submit (freeze) it."""
    scope = _region_scope(request.user)
    today = timezone.localdate()
    latest = date(today.year, 7, 1) if today.month >= 7 else date(today.year, 1, 1)
    form = ReportForm(request.POST or request.GET or None, initial={"as_of": latest.isoformat()})
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        submit = request.method == "POST" and request.POST.get("action") == "submit"
        if not _may_report(request.user, kind=d["kind"], region=d["region"], submit=submit):
            raise PermissionDenied(_("you may not make this report"))
        if submit:
            try:
                services.report_submit(
                    kind=d["kind"],
                    as_of=d["as_of"],
                    language=d["language"],
                    region=d["region"],
                    body=d["body"],
                    known_at=d["known_at"],
                    user=request.user,
                )
                messages.success(request, _("The report is submitted and frozen."))
                return redirect("tracking:reports")
            except services.TrackingError as exc:
                _form_errors(form, exc)
        elif request.GET.get("format") in RENDERERS:
            built = report_file_build(
                kind=d["kind"],
                as_of=d["as_of"],
                fmt=request.GET["format"],
                language=d["language"],
                known_at=d["known_at"],
                region=d["region"] if d["kind"] == Report.Kind.REGION else None,
                body=d["body"] if d["kind"] == Report.Kind.BODY else None,
            )
            response = HttpResponse(built.content, content_type=built.content_type)
            response["Content-Disposition"] = f'attachment; filename="{built.filename}"'
            return response
    submitted = Report.objects.select_related("region", "body").order_by("-as_of", "-submitted_at")
    if scope is not None:
        submitted = submitted.filter(region_id__in=scope)
    return render(
        request,
        "tracking/reports.html",
        {"form": form, "submitted": submitted, "query": request.GET.urlencode()},
    )


@login_required
def report_file(request, pk: int, fmt: str):
    report = get_object_or_404(Report, pk=pk)
    if fmt not in RENDERERS:
        raise Http404
    if report.region_id is not None:
        allowed = can(request.user, Action.VIEW, region_id=report.region_id)
    else:
        allowed = is_ministry(request.user)
    if not allowed:
        raise PermissionDenied
    f = getattr(report, f"{fmt}_file")
    return FileResponse(f.open("rb"), as_attachment=True, filename=f.name.rsplit("/", 1)[-1])


# --- reminders -------------------------------------------------------------------------------------


@login_required
def disagreements(request):
    """Hand-entered parcel/infrastructure stages that the parcel data contradict (for the planner)."""
    scope = _region_scope(request.user)
    if request.method == "POST":
        if not is_ministry(request.user):
            raise PermissionDenied(_("only the ministry reviews disagreements"))
        try:
            marked = services.stage_disagreement_review(user=request.user, record_id=int(request.POST.get("record", 0)))
        except (ValueError, services.TrackingError) as exc:
            messages.error(request, "; ".join(sum(getattr(exc, "problems", {}).values(), [])) or _("Not saved."))
        else:
            messages.success(
                request,
                ngettext("Marked as reviewed (%(n)d record).", "Marked as reviewed (%(n)d records).", marked)
                % {"n": marked},
            )
        return redirect("tracking:disagreements")
    records = StageRecord.objects.all()
    trackeds = TrackedFacility.objects.filter(in_plan=True)
    if scope is not None:
        records = records.filter(tracked__facility__region_id__in=scope)
        trackeds = trackeds.filter(facility__region_id__in=scope)
    rows = lifecycle.stage_disagreements(
        records=records, trackeds=trackeds, today=timezone.localdate(), now=timezone.now()
    )
    context = {"rows": rows, "may_review": is_ministry(request.user), "stage_labels": dict(Stage.choices)}
    return render(request, "tracking/disagreements.html", context)


@login_required
def reminders(request):
    scope = _region_scope(request.user)
    today = timezone.localdate()
    items = selectors.reminders_for(region_ids=scope, is_ministry=scope is None, today=today)
    return render(request, "tracking/reminders.html", {"items": items, "today": today})
