"""Import of settlement lists with population (official lists, CSV/XLSX/GeoJSON) and their matching to the
bundled places.

Each row names a place by KATO code and/or name (kk/ru) and gives its population (total, children, age
groups when present); coordinates (EPSG:4326) are optional. A row updates, in this order:
1. the list's own row from an earlier import (same source and id);
2. the counted place (layers.settlement_selectors.settlements_counted) with the same KATO code;
3. the one counted place of the same name (accessibility.place_names) in the row's district (from its KATO
   code or its point), else in its region; with several, the nearest to the row's point;
and its figure becomes the official one (kind, source, date). A row matched to nothing is added as a new
place when it has coordinates, and reported as unmatched otherwise. Every bad row is reported at once and
nothing is saved; the estimates are recomputed afterwards (layers.settlement_services).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from accessibility.place_names import name_keys
from accessibility.services.errors import SettlementImportError
from accessibility.services.settlement_files import rows_csv, rows_geojson, rows_xlsx
from gis_portal.units import size_label
from layers.models import District, Region, Settlement
from layers.settlement_selectors import settlements_counted
from layers.settlement_services import settlement_estimates_refresh
from parcels.import_columns import date_parse, number_parse, text_clean

SETTLEMENT_FIELDS = ("kato", "name", "name_kk", "name_ru", "population", "child_population", "lon", "lat", "date", "id")
# Largest settlement file accepted (web form and management command alike).
SETTLEMENT_IMPORT_MAX_BYTES = 20 * 1024 * 1024
FORMATS = ("csv", "xlsx", "geojson")


@dataclass
class SettlementImportResult:
    created: int = 0  # new places (rows with coordinates matched to no place)
    updated: int = 0  # places whose figures the rows replaced
    matched: dict[str, int] = field(default_factory=dict)  # how rows found their place: own / kato / name
    unmatched: list[dict] = field(default_factory=list)  # {"where", "name", "kato", "reason"}
    estimates: object = None


def _whole(value, *, where: str, column: str, required: bool) -> tuple[int | None, str | None]:
    try:
        number = number_parse(value)
    except ValueError:
        number = -1
    if number is None:
        return None, (
            _("%(where)s: field %(column)r is required") % {"where": where, "column": column}
        ) if required else None
    if number < 0 or number != int(number):
        return None, _("%(where)s: field %(column)r: %(value)r is not a whole number ≥ 0") % {
            "where": where,
            "column": column,
            "value": value,
        }
    return int(number), None


def _row_checked(row: dict, *, n: int) -> tuple[dict, list[str]]:
    """The row's values as stored, and its problems (each naming the row and the field)."""
    where, errors = row["_where"], []
    names = {k: text_clean(row.get(k))[:200] for k in ("name", "name_kk", "name_ru")}
    if not any(names.values()):
        errors.append(_("%(where)s: field 'name' is required") % {"where": where})
    population, problem = _whole(row.get("population"), where=where, column="population", required=True)
    errors += [problem] if problem else []
    children, problem = _whole(row.get("child_population"), where=where, column="child_population", required=False)
    errors += [problem] if problem else []
    if population is not None and children is not None and children > population:
        errors.append(
            _("%(where)s: child_population %(children)s exceeds population %(population)s")
            % {"where": where, "children": children, "population": population}
        )
    ages = {}
    for band, value in row["_ages"].items():
        persons, problem = _whole(value, where=where, column=band, required=False)
        errors += [problem] if problem else []
        if persons is not None:
            ages[band] = persons
    kato = text_clean(row.get("kato"))
    if kato and (len(kato) != 9 or not kato.isdigit()):
        errors.append(
            _("%(where)s: field 'kato': %(value)r is not a 9-digit KATO code") % {"where": where, "value": kato}
        )
    point = None
    if text_clean(row.get("lon")) or text_clean(row.get("lat")):
        try:
            lon, lat = float(number_parse(row.get("lon"))), float(number_parse(row.get("lat")))
        except (TypeError, ValueError):
            errors.append(
                _("%(where)s: lon/lat %(lon)r, %(lat)r are not numbers")
                % {"where": where, "lon": row.get("lon"), "lat": row.get("lat")}
            )
        else:
            if -180 <= lon <= 180 and -90 <= lat <= 90:
                point = Point(lon, lat, srid=4326)
            else:
                errors.append(
                    _("%(where)s: (%(lon)s, %(lat)s) is not a longitude/latitude")
                    % {"where": where, "lon": lon, "lat": lat}
                )
    figure_date = None
    if text_clean(row.get("date")):
        try:
            figure_date = date_parse(row.get("date"))
        except ValueError as exc:
            errors.append(
                _("%(where)s: field 'date': %(value)r %(reason)s")
                % {"where": where, "value": row.get("date"), "reason": exc}
            )
    if not kato and point is None and not errors:
        errors.append(
            _("%(where)s: give a KATO code or coordinates, so that the place can be found") % {"where": where}
        )
    source_id = text_clean(row.get("id")) or kato or str(n)
    values = {
        **names,
        "population": population,
        "children": children,
        "ages": ages,
        "kato": kato,
        "point": point,
        "date": figure_date,
        "source_id": source_id[:40],
        "where": where,
    }
    return values, errors


class _Gazetteer:
    """The counted places, indexed for matching (one query, then lookups in memory)."""

    def __init__(self):
        self.by_kato: dict[str, list[int]] = {}
        self.by_district: dict[tuple[int, str], list[int]] = {}
        self.by_region: dict[tuple[int, str], list[int]] = {}
        rows = settlements_counted().values_list(
            "pk", "kato", "name", "name_kk", "name_ru", "name_local", "district_id", "region_id"
        )
        for pk, kato, *names, district_id, region_id in rows:
            if kato:
                self.by_kato.setdefault(kato, []).append(pk)
            for key in name_keys(*names):
                if district_id:
                    self.by_district.setdefault((district_id, key), []).append(pk)
                if region_id:
                    self.by_region.setdefault((region_id, key), []).append(pk)
        self.regions = dict(Region.objects.values_list("kato", "id"))
        # District KATO codes without their trailing zeros: the longest that starts a place's code is its district.
        self.district_prefixes = sorted(
            ((k.rstrip("0"), pk) for k, pk in District.objects.values_list("kato", "id")), key=lambda t: -len(t[0])
        )

    def district_of_kato(self, kato: str) -> int | None:
        return next((pk for prefix, pk in self.district_prefixes if len(prefix) >= 3 and kato.startswith(prefix)), None)


def _district_of_point(point: Point) -> tuple[int, int] | None:
    """(district id, region id) of the district containing `point` (EPSG:4326), or None."""
    return District.objects.filter(geom__contains=point).values_list("id", "region_id").first()


def _nearest(pks: list[int], point: Point | None) -> int | None:
    if len(pks) == 1:
        return pks[0]
    if point is None:
        return None
    return (
        Settlement.objects.filter(pk__in=pks)
        .annotate(d=Distance("location", point))
        .order_by("d", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def _match(values: dict, *, gaz: _Gazetteer, own: dict[str, int]) -> tuple[int | None, str, str]:
    """(place pk or None, how: own/kato/name, reason when unmatched)."""
    if values["source_id"] in own:
        return own[values["source_id"]], "own", ""
    kato, point = values["kato"], values["point"]
    if kato and gaz.by_kato.get(kato):
        pk = _nearest(gaz.by_kato[kato], point) or gaz.by_kato[kato][0]
        return pk, "kato", ""
    district_id = region_id = None
    if kato:
        district_id = gaz.district_of_kato(kato)
        region_id = gaz.regions.get(kato[:2] + "0000000")
    if point is not None and district_id is None:
        located = _district_of_point(point)
        if located:
            district_id, region_id = located
    keys = name_keys(values["name"], values["name_kk"], values["name_ru"])
    for scope, index in ((district_id, gaz.by_district), (region_id, gaz.by_region)):
        if scope is None:
            continue
        found = sorted({pk for key in keys for pk in index.get((scope, key), [])})
        if found:
            pk = _nearest(found, point)
            if pk is None:
                return (
                    None,
                    "",
                    _("%(n)s places of this name in its district or region; give coordinates") % {"n": len(found)},
                )
            return pk, "name", ""
    if region_id is None and district_id is None:
        return None, "", _("the KATO code names no known region, and there are no coordinates")
    return None, "", _("no place of this name in its district or region")


@transaction.atomic
def settlements_import(
    *, content: bytes | str, fmt: str, source: str, source_date: date | None = None
) -> SettlementImportResult:
    """Import a settlement list (CSV, XLSX or GeoJSON; columns in kk/ru/en, see settlement_files).

    Rows are matched to the bundled places as the module says; matched places get the row's figures as
    official ones (`population_source` = `source`, `population_date` = the row's date or `source_date`).
    All or nothing: every bad row is reported at once (SettlementImportError.errors) and nothing is saved.
    """
    if not source.strip():
        raise SettlementImportError(_("source: say where the figures come from"))
    if len(content) > SETTLEMENT_IMPORT_MAX_BYTES:
        raise SettlementImportError(
            _("the file is larger than %(limit)s") % {"limit": size_label(SETTLEMENT_IMPORT_MAX_BYTES)}
        )
    if fmt not in FORMATS:
        raise SettlementImportError(_("format: %(fmt)r must be 'csv', 'xlsx' or 'geojson'") % {"fmt": fmt})
    if fmt == "xlsx":
        rows = rows_xlsx(content if isinstance(content, bytes) else content.encode())
    else:
        try:
            text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
        except UnicodeDecodeError as exc:
            raise SettlementImportError(
                _("the file is not UTF-8 text (%(reason)s at byte %(at)s)") % {"reason": exc.reason, "at": exc.start}
            ) from exc
        rows = rows_csv(text) if fmt == "csv" else rows_geojson(text)
    if not rows:
        raise SettlementImportError(_("the file has no settlements"))
    source = source.strip()[:300]
    checked, errors, seen = [], [], set()
    for n, row in enumerate(rows, start=1):
        values, problems = _row_checked(row, n=n)
        if values["source_id"] in seen:
            problems.append(
                _("%(where)s: id %(id)r appears twice") % {"where": values["where"], "id": values["source_id"]}
            )
        seen.add(values["source_id"])
        errors += problems
        checked.append(values)
    if errors:
        raise SettlementImportError(errors)
    result = SettlementImportResult(matched={"own": 0, "kato": 0, "name": 0})
    gaz = _Gazetteer()
    own = dict(Settlement.objects.filter(source=source).values_list("source_id", "pk"))
    claimed: dict[int, str] = {}
    for values in checked:
        pk, how, reason = _match(values, gaz=gaz, own=own)
        if pk is not None and pk in claimed:
            pk, reason = None, _("the same place as %(other)s") % {"other": claimed[pk]}
        if pk is None and values["point"] is None:
            result.unmatched.append(
                {
                    "where": values["where"],
                    "name": values["name"] or values["name_ru"] or values["name_kk"],
                    "kato": values["kato"],
                    "reason": reason,
                }
            )
            continue
        figures = {
            "population": values["population"],
            "child_population": values["children"],
            "population_by_age": values["ages"],
            "population_kind": Settlement.PopulationKind.OFFICIAL,
            "population_source": source,
            "population_date": values["date"] or source_date,
        }
        if pk is None:
            place = Settlement.objects.create(
                source=source,
                source_id=values["source_id"],
                name=values["name"] or values["name_ru"] or values["name_kk"],
                name_kk=values["name_kk"],
                name_ru=values["name_ru"],
                kato=values["kato"],
                location=values["point"],
                region_id=gaz.regions.get(values["kato"][:2] + "0000000") if values["kato"] else None,
                district_id=gaz.district_of_kato(values["kato"]) if values["kato"] else None,
                **figures,
            )
            result.created += 1
        else:
            updates = dict(figures)
            if values["kato"]:
                updates["kato"] = values["kato"]
            Settlement.objects.filter(pk=pk).update(**updates)
            place = Settlement(pk=pk)
            result.updated += 1
            result.matched[how] += 1
        claimed[place.pk] = values["where"]
    # Places placed by their point only: district and region from PostGIS.
    unplaced = Settlement.objects.filter(source=source, district__isnull=True)
    unplaced.update(district_id=Subquery(District.objects.filter(geom__contains=OuterRef("location")).values("id")[:1]))
    Settlement.objects.filter(source=source, region__isnull=True).update(
        region_id=Subquery(Region.objects.filter(geom__intersects=OuterRef("location")).values("id")[:1])
    )
    result.estimates = settlement_estimates_refresh()
    return result
