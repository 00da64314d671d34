"""Every UI string of every app is translated into Kazakh and Russian (not just marked)."""

from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]
PO_FILES = sorted(
    p for p in ROOT.glob("*/locale/*/LC_MESSAGES/django.po") if ".venv" not in p.parts and "var" not in p.parts
)


def test_each_app_with_strings_has_kazakh_and_russian_catalogues():
    apps = {p.parts[len(ROOT.parts)] for p in PO_FILES}
    assert {"gis_portal", "facilities", "layers", "accounts", "roads"} <= apps
    for app in apps:
        for lang in ("kk", "ru"):
            assert (ROOT / app / "locale" / lang / "LC_MESSAGES" / "django.po").exists(), (app, lang)


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalogue_is_complete(po_path):
    po = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated in {po_path}: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy in {po_path}: {fuzzy[:10]}"
    # Placeholders survive translation.
    for entry in po.translated_entries():
        for token in ("%(", "{"):
            if token in entry.msgid and not entry.msgid_plural:
                assert token in entry.msgstr, f"{po_path}: placeholder lost in {entry.msgid!r}"
