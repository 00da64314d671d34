"""Notes that explain how a run was computed, stored untranslated and shown in the reader's language.

A note is {"msg": English msgid with %(name)s placeholders, "params": {...}}; a parameter may itself
be a note. Messages are marked with gettext_noop where they are made, so makemessages finds them.
"""

from __future__ import annotations

from django.utils.translation import gettext


def note(msg: str, **params) -> dict:
    return {"msg": msg, "params": params}


def note_text(value) -> str:
    """The note in the active language (plain strings from older runs are shown as they are)."""
    if not isinstance(value, dict) or "msg" not in value:
        return str(value)
    params = {k: note_text(v) if isinstance(v, dict) else v for k, v in (value.get("params") or {}).items()}
    text = gettext(value["msg"])
    return text % params if params else text
