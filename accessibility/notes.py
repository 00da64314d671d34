"""Notes that explain how a run was computed, stored untranslated and shown in the reader's language.

A note is {"msg": English msgid with %(name)s placeholders, "params": {...}}; a parameter may itself
be a note. Messages are marked with gettext_noop where they are made, so makemessages finds them.
A note about a number of things ({"plural": key, "params": {...}}) takes its singular and plural
forms from PLURAL_NOTES (ngettext_lazy, so that Kazakh and Russian get their own plural forms).
"""

from __future__ import annotations

from django.utils.translation import gettext, ngettext_lazy

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
