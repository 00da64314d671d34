"""Messages with a count use ngettext / blocktranslate count: "1 feature", "2 features".

The new msgids are not in the kk/ru catalogues yet (the lead's translation pass adds them), so
these tests read the English forms; the ru/kk forms follow from the catalogues' Plural-Forms.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from accessibility.notes import note_text, plural_note
from parcels.io import FileRejected, _check_count, zip_members_check
from tracking.selectors.reminders import MEASURE5_DUE_TEXT, MEASURE6_OVERDUE_TEXT


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(("n", "text"), [(1, "contains 1 feature;"), (2, "contains 2 features;")])
def test_feature_count(settings, n, text):
    settings.PARCEL_IMPORT_MAX_FEATURES = 0
    with pytest.raises(FileRejected, match=text):
        _check_count(n)


@pytest.mark.parametrize(("n", "text"), [(1, "holds 1 file;"), (3, "holds 3 files;")])
def test_archive_file_count(n, text):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(n):
            archive.writestr(f"f{i}.txt", b"x")
    with zipfile.ZipFile(buffer) as archive, pytest.raises(FileRejected, match=text):
        zip_members_check(archive, max_files=0, max_total=10**6)


def test_reminders_agree_with_the_total():
    assert str(MEASURE5_DUE_TEXT % {"n": 1, "total": 1}) == ("measure 5 is due: 1 of 1 facility without a land-use act")
    assert str(MEASURE5_DUE_TEXT % {"n": 1, "total": 3}) == (
        "measure 5 is due: 1 of 3 facilities without a land-use act"
    )
    assert str(MEASURE6_OVERDUE_TEXT % {"d": "2025-06-30", "n": 1, "total": 1}).endswith(
        "1 of 1 required utility link not connected"
    )


@pytest.mark.parametrize(("n", "text"), [(1, "children estimated for 1 settlement without"), (5, "for 5 settlements")])
def test_accessibility_note(n, text):
    note = plural_note("children_estimated", n=n, official=0, default=n, share="0.25")
    assert text in note_text(note)


def test_ogc_items_page_count():
    one = render_to_string("api/ogc/items.html", {"doc": {"numberMatched": 1, "numberReturned": 1}, "names": []})
    many = render_to_string("api/ogc/items.html", {"doc": {"numberMatched": 7, "numberReturned": 5}, "names": []})
    assert "1 of 1 feature." in one
    assert "5 of 7 features." in many


@pytest.mark.django_db
def test_home_cards_count_their_nouns(client):
    html = client.get("/en/").content.decode()
    assert re.search(r'<span class="big">\d+</span> measures', html)
    assert re.search(r'<a class="big" href="/en/maps/[^"]*">\d+</a> facilit(y|ies) recorded', html)
    assert re.search(
        r"<span class=\"big\">\d+</span> children's health and recreation centres? \(measures 14–17\)", html
    )
