"""Pages of the parcel import: upload, preview (with the user's choices per row), confirmation.

Thin: they read the stored upload (parcels.uploads), run parcels.services.parcels_import and render.
"""

from __future__ import annotations

import folium
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import may_create_parcel
from gis_portal.csp import map_csp
from gis_portal.units import size_label
from parcels import selectors, services, uploads
from parcels.forms import ImportChoicesForm, ImportForm
from parcels.import_columns import column_examples, columns_resolve, file_columns
from parcels.io import FORMAT_LABELS, FileRejected, read_parcel_file
from parcels.views import _map, _parts, _require_role


@login_required
def import_upload(request):
    _require_role(request)
    if not may_create_parcel(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.PARCEL_IMPORT_MAX_BYTES:
            limit = size_label(settings.PARCEL_IMPORT_MAX_BYTES)
            form.add_error("file", _("The file is larger than %(limit)s.") % {"limit": limit})
        else:
            srid, local_crs = form.crs_choice()
            stored = uploads.import_upload_store(
                user=request.user, uploaded_file=upload, srid=srid, local_crs=local_crs
            )
            return redirect("parcels:import_preview", token=stored.token)
    return _upload_page(request, form=form)


def _upload_page(request, *, form, file_error: str = "", status: int = 200):
    context = {"form": form, "file_error": file_error, "match_distance_m": settings.PARCEL_IMPORT_MATCH_DISTANCE_M}
    return render(request, "parcels/import_upload.html", context, status=status)


def _import_upload(request, token: str):
    upload = uploads.import_upload_get(user=request.user, token=token)
    if upload is None:
        raise Http404
    return upload


def _run_import(request, upload, *, commit: bool, seen_versions: dict[int, int] | None = None):
    local = selectors.local_crs_options(user=request.user, chosen=upload.local_crs)
    with uploads.upload_local_path(upload) as path:
        read = read_parcel_file(path=path, filename=upload.filename, chosen_srid=upload.srid, local=local)
    outcome = services.parcels_import(
        user=request.user,
        features=read.features,
        commit=commit,
        choices=upload.choices,
        mapping=selectors.import_column_choices(user=request.user),
        seen_versions=seen_versions,
    )
    return read, outcome


def _preview_page(request, *, upload, read, outcome, form=None, status: int = 200):
    m = _map()
    geoms = [r.geom for r in outcome.rows if r.geom is not None]
    if geoms:
        repaired = selectors.import_preview_repaired_collection(outcome=outcome)
        if repaired["features"]:
            # The file's invalid boundaries that Repair replaced, dashed under their repaired form.
            folium.GeoJson(
                repaired,
                name=_("Boundaries before Repair"),
                style_function=lambda _f: {"color": "#6a1b9a", "weight": 2, "dashArray": "6 4", "fill": False},
                tooltip=folium.GeoJsonTooltip(fields=["n"], aliases=["#"]),
            ).add_to(m)
        folium.GeoJson(
            selectors.import_preview_feature_collection(outcome=outcome),
            name=_("Features of the file"),
            style_function=lambda f: {"color": "#2e7d32" if f["properties"]["ok"] else "#c62828", "weight": 2},
            tooltip=folium.GeoJsonTooltip(fields=["n"], aliases=["#"]),
        ).add_to(m)
        x0 = min(g.extent[0] for g in geoms)
        y0 = min(g.extent[1] for g in geoms)
        x1 = max(g.extent[2] for g in geoms)
        y1 = max(g.extent[3] for g in geoms)
        m.fit_bounds([[y0, x0], [y1, x1]])
    rows = [f.properties for f in read.features]
    columns = columns_resolve(file_columns(rows), mapping=selectors.import_column_choices(user=request.user))
    examples, labels = column_examples(rows), selectors.import_field_labels()
    context = {
        "token": upload.token,
        "name": upload.filename,
        "read": read,
        "format_label": FORMAT_LABELS.get(read.format, read.format),
        "outcome": outcome,
        "summary": services.import_outcome_summary(outcome=outcome),
        "choices_form": form,
        "columns": [(use, labels.get(use.field, ""), examples.get(use.column, "")) for use in columns],
        "import_fields": labels,
        "columns_choosable": any(use.choosable for use in columns),
        **_parts(m, request),
    }
    return render(request, "parcels/import_preview.html", context, status=status)


@login_required
@map_csp
def import_preview(request, token: str):
    upload = _import_upload(request, token)
    try:
        read, outcome = _run_import(request, upload, commit=False)
    except FileRejected as exc:
        uploads.import_upload_discard(upload=upload)
        return _upload_page(request, form=ImportForm(user=request.user), file_error=str(exc), status=400)
    return _preview_page(request, upload=upload, read=read, outcome=outcome)


@login_required
@map_csp
@require_POST
def import_choices(request, token: str):
    """Keep the preview's choices (facility per row, skip, repair) and show the preview again."""
    upload = _import_upload(request, token)
    try:
        read, outcome = _run_import(request, upload, commit=False)
    except FileRejected as exc:
        messages.error(request, str(exc))
        return redirect("parcels:import")
    form = ImportChoicesForm(request.POST, rows=outcome.rows)
    if form.is_valid():
        try:
            uploads.import_choices_save(
                user=request.user,
                upload=upload,
                features=read.features,
                choices=form.choices(),
                mapping=selectors.import_column_choices(user=request.user),
            )
        except uploads.ImportChoicesRefused as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            return redirect("parcels:import_preview", token=token)
    return _preview_page(request, upload=upload, read=read, outcome=outcome, form=form, status=400)


@login_required
@require_POST
def import_columns(request, token: str):
    """Remember the fields the user chose for the file's unrecognised columns, then show the preview again."""
    _require_role(request)
    upload = _import_upload(request, token)
    columns, fields = request.POST.getlist("column"), request.POST.getlist("field")
    if len(columns) != len(fields):
        return HttpResponseBadRequest(_("Each column needs one field (or “not used”)."))
    try:
        services.import_column_choices_save(user=request.user, choices=dict(zip(columns, fields, strict=True)))
    except services.ParcelValidationError as exc:
        return HttpResponseBadRequest("\n".join(p.message for p in exc.problems))
    messages.success(request, _("Your choice of columns was saved; it is used for your next files too."))
    return redirect("parcels:import_preview", token=upload.token)


def _seen_versions(data) -> dict[int, int]:
    """{row number: parcel version} of the rows the preview showed as updates (hidden `version_<n>` fields)."""
    seen = {}
    for name, value in data.items():
        number = name.removeprefix("version_")
        if name.startswith("version_") and number.isdigit() and value.isdigit():
            seen[int(number)] = int(value)
    return seen


@login_required
@require_POST
def import_confirm(request, token: str):
    upload = _import_upload(request, token)
    try:
        _read, outcome = _run_import(request, upload, commit=True, seen_versions=_seen_versions(request.POST))
    except FileRejected as exc:
        messages.error(request, str(exc))
        return redirect("parcels:import")
    if not outcome.committed:
        if any(p["code"] == "conflict" for r in outcome.rows for p in r.problems):
            messages.error(
                request,
                _(
                    "Nothing was saved: somebody changed a parcel of this file after your preview. "
                    "The preview below shows it as it is now; check it and save again."
                ),
            )
        elif outcome.has_errors:
            messages.error(request, _("Nothing was saved: some features have problems (see the list)."))
        else:
            messages.error(
                request, _("Nothing was saved: choose a facility for every row marked “choose”, or skip it.")
            )
        return redirect("parcels:import_preview", token=token)
    uploads.import_upload_discard(upload=upload)
    messages.success(
        request, _("The import was saved: %(summary)s.") % {"summary": services.import_outcome_summary(outcome=outcome)}
    )
    return redirect(reverse("parcels:list"))
