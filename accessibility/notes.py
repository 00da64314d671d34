"""Notes that explain how a run was computed, stored untranslated and shown in the reader's language.

A note is {"msg": English msgid with %(name)s placeholders, "params": {...}}; a parameter may itself
be a note. Messages are marked with gettext_noop where they are made, so makemessages finds them.
A note about a number of things ({"plural": key, "params": {...}}) takes its singular and plural
forms from PLURAL_NOTES (ngettext_lazy, so that Kazakh and Russian get their own plural forms).
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop, ngettext_lazy

from layers.settlement_selectors import OSM_ATTRIBUTION

PLURAL_NOTES = {
    "children_estimated": ngettext_lazy(
        "children estimated for %(n)s settlement without a child count: %(official)s from the "
        "region's official children/total share, %(default)s from the assumed share %(share)s",
        "children estimated for %(n)s settlements without a child count: %(official)s from the "
        "region's official children/total share, %(default)s from the assumed share %(share)s",
        "n",
    ),
    "population_districts_some": ngettext_lazy(
        "district figures for %(n)s of %(m)s district, region figures for the rest (%(sources)s)",
        "district figures for %(n)s of %(m)s districts, region figures for the rest (%(sources)s)",
        "m",
    ),
    "population_districts_all": ngettext_lazy(
        "district figures for all %(m)s district (%(sources)s)",
        "district figures for all %(m)s districts (%(sources)s)",
        "m",
    ),
    "osm_places": ngettext_lazy(
        "%(n)s place from OpenStreetMap (%(attribution)s): its figure is a mapper's tag or an estimate, not "
        "official statistics",
        "%(n)s places from OpenStreetMap (%(attribution)s): their figures are mappers' tags or estimates, not "
        "official statistics",
        "n",
    ),
    "facilities_reaching_nobody": ngettext_lazy(
        "%(n)s facility with %(places)s places reaches no child: listed, not counted as capacity",
        "%(n)s facilities with %(places)s places reach no child: listed, not counted as capacity",
        "n",
    ),
    "isochrones_drawn": ngettext_lazy(
        "isochrones: %(n)s polygon (facilities × thresholds: %(facilities)s × %(thresholds)s) drawn in %(seconds)s s; "
        "it contains every place the run counts as reaching its facility within the threshold, its edge drawn up "
        "to %(overstate)s m beyond (farther where a road can be joined between two of its junctions)",
        "isochrones: %(n)s polygons (facilities × thresholds: %(facilities)s × %(thresholds)s) drawn in %(seconds)s "
        "s; each contains every place the run counts as reaching its facility within the threshold, its edge drawn "
        "up to %(overstate)s m beyond (farther where a road can be joined between two of its junctions)",
        "n",
    ),
    "isochrones_drawn_on_the_friction_grid": ngettext_lazy(
        "isochrones: %(n)s polygon (facilities × thresholds: %(facilities)s × %(thresholds)s) drawn in %(seconds)s s "
        "from the friction grid: it is the %(cell)s m cells the run counts as reaching its facility within the "
        "threshold, drawn along the cells' edges",
        "isochrones: %(n)s polygons (facilities × thresholds: %(facilities)s × %(thresholds)s) drawn in %(seconds)s "
        "s from the friction grid: each is the %(cell)s m cells the run counts as reaching its facility within the "
        "threshold, drawn along the cells' edges",
        "n",
    ),
    "cells_off_the_friction_grid": ngettext_lazy(
        "%(n)s populated cell with %(children)s children lies outside the friction grid (the run's districts and "
        "their margin): not reachable, counted as not covered",
        "%(n)s populated cells with %(children)s children lie outside the friction grid (the run's districts and "
        "their margin): not reachable, counted as not covered",
        "n",
    ),
    "barriers_on_the_friction_grid": ngettext_lazy(
        "%(n)s barrier of the road network %(name)s (%(kinds)s) is impassable on the friction grid in every cell it "
        "touches, except where a road of the network crosses it (a bridge or a ferry)",
        "%(n)s barriers of the road network %(name)s (%(kinds)s) are impassable on the friction grid in every cell "
        "they touch, except where a road of the network crosses them (a bridge or a ferry)",
        "n",
    ),
    "populated_cells_on_a_barrier": ngettext_lazy(
        "%(n)s populated cell with %(children)s children lies on a barrier (its friction cell is touched by one and "
        "no road crosses it there): not reachable, counted as not covered",
        "%(n)s populated cells with %(children)s children lie on a barrier (their friction cells are touched by one "
        "and no road crosses them there): not reachable, counted as not covered",
        "n",
    ),
    "settlements_not_reachable": ngettext_lazy(
        "%(n)s settlement with %(children)s children lies farther than %(max_snap)s m from every road and "
        "facility: not reachable, counted as not covered",
        "%(n)s settlements with %(children)s children lie farther than %(max_snap)s m from every road and "
        "facility: not reachable, counted as not covered",
        "n",
    ),
}


def note(msg: str, **params) -> dict:
    return {"msg": msg, "params": params}


def plural_note(key: str, **params) -> dict:
    """A note of PLURAL_NOTES[key]; `params` hold the number its form depends on."""
    if key not in PLURAL_NOTES:
        raise KeyError(key)
    return {"plural": key, "params": params}


def note_text(value) -> str:
    """The note in the active language (plain strings from older runs are shown as they are)."""
    if not isinstance(value, dict) or ("msg" not in value and value.get("plural") not in PLURAL_NOTES):
        return str(value)
    params = {k: note_text(v) if isinstance(v, dict) else v for k, v in (value.get("params") or {}).items()}
    if value.get("plural") in PLURAL_NOTES:
        return str(PLURAL_NOTES[value["plural"]] % params)
    text = gettext(value["msg"])
    return text % params if params else text


def population_kind_notes(*, children_by_kind: dict[str, float], osm_places: int) -> list[dict]:
    """Notes of a settlement run: the share of its children in places whose figure is estimated or not
    official, and the OpenStreetMap attribution when it counted OSM places."""
    total = sum(children_by_kind.values())
    notes = []
    if total:
        notes.append(
            note(
                gettext_noop(
                    "of the children counted, %(estimate)s live in places whose population is estimated (their "
                    "district's or region's official total spread by settlement class), %(osm)s in places with an "
                    "OpenStreetMap population tag and %(gazetteer)s in places with a GeoNames figure: none of these "
                    "is official"
                ),
                estimate=f"{children_by_kind.get('estimate', 0) / total:.1%}",
                osm=f"{children_by_kind.get('osm_tag', 0) / total:.1%}",
                gazetteer=f"{children_by_kind.get('gazetteer', 0) / total:.1%}",
            )
        )
    if osm_places:
        notes.append(plural_note("osm_places", n=osm_places, attribution=OSM_ATTRIBUTION))
    return notes
