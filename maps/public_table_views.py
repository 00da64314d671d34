"""The public table beside the public map and its downloads (issue 20). Thin: the filter form of the
map (maps.forms.FacilityFilterForm), the sort key, the rows (maps.public_table), render or write a file."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from facilities.selectors import demo_data_present
from maps import public_exports, public_table
from maps.forms import FacilityFilterForm


def _query(request, *, without: tuple[str, ...] = ()) -> str:
    """The request's query string without `without` (for links that change one parameter)."""
    data = request.GET.copy()
    for key in without:
        data.pop(key, None)
    return data.urlencode()


def _read(request) -> tuple[FacilityFilterForm, str, dict]:
    """The filter form, the sort key and the errors (field -> messages), empty when the input is good."""
    form = FacilityFilterForm(request.GET)
    errors = {} if form.is_valid() else {k: list(v) for k, v in form.errors.items()}
    sort = request.GET.get("sort") or public_table.DEFAULT_SORT
    if sort.removeprefix("-") not in public_table.SORT_KEYS:
        errors["sort"] = [
            _("Unknown sort key %(key)s; use one of: %(keys)s (a leading - sorts descending).")
            % {"key": sort, "keys": ", ".join(public_table.SORT_KEYS)}
        ]
    return form, sort, errors


def _columns(request, sort: str) -> list[dict]:
    """The sortable column headers: label, the link that sorts by it (again: the other way), aria-sort."""
    base = _query(request, without=("sort",))
    columns = []
    for key, label in public_table.SORT_KEYS.items():
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        next_sort = f"-{key}" if current and not descending else key
        columns.append(
            {
                "key": key,
                "label": label,
                "url": "?" + "&".join(part for part in (base, f"sort={next_sort}") if part),
                "aria_sort": ("descending" if descending else "ascending") if current else "none",
            }
        )
    return columns


def _sort_options() -> list[tuple[str, str]]:
    """The sort select of the filters (the column headers are hidden on a phone)."""
    options = []
    for key, label in public_table.SORT_KEYS.items():
        options.append((key, _("%(column)s, ascending") % {"column": label}))
        options.append((f"-{key}", _("%(column)s, descending") % {"column": label}))
    return options


def public_table_page(request):
    """The facilities of the public map as a sortable, filterable table (the map's text alternative)."""
    form, sort, errors = _read(request)
    context = {
        "form": form,
        "sort": sort,
        "sort_options": _sort_options(),
        "demo_present": demo_data_present(),
        "query": _query(request),
        "licence": settings.PUBLIC_DATA_LICENCE,
    }
    if errors:
        context["errors"] = errors
        return render(request, "maps/public_table.html", context, status=400)
    filters = form.cleaned_data
    rows = public_table.public_rows(filters=filters, as_of=timezone.localdate(), sort=sort)
    context.update(
        {
            "rows": rows,
            "columns": _columns(request, sort),
            "map_query": _query(request, without=("sort",)),
            "data_as_of": public_table.data_changed_at(filters=filters),
            "generated_at": timezone.now(),
        }
    )
    return render(request, "maps/public_table.html", context)


def public_download(request, fmt: str):
    """The table's rows as CSV, XLSX or GeoJSON, with the licence and "data as of" inside the file."""
    form, sort, errors = _read(request)
    if fmt not in public_exports.FORMATS:
        errors["format"] = [_("Unknown format %(fmt)s; use csv, xlsx or geojson.") % {"fmt": fmt}]
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    filters = form.cleaned_data
    now = timezone.now()
    rows = public_table.public_rows(filters=filters, as_of=timezone.localdate(now), sort=sort)
    query = _query(request)
    notice = public_exports.notice_build(
        data_as_of=public_table.data_changed_at(filters=filters),
        generated_at=now,
        source_url=request.build_absolute_uri(reverse("maps:public_table") + (f"?{query}" if query else "")),
    )
    body = public_exports.WRITERS[fmt](rows, notice=notice)
    response = HttpResponse(body, content_type=public_exports.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="facilities-{timezone.localdate(now):%Y%m%d}.{fmt}"'
    return response
