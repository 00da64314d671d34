"""gis_portal.units.size_label: sizes in the units their limit is set in."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from gis_portal.units import size_label


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [
        (52_428_800, "50 MiB"),
        (50_000_000, "50 MB"),
        (200 * 1024 * 1024, "200 MiB"),
        (10 * 1024 * 1024, "10 MiB"),
        (20 * 1024 * 1024, "20 MiB"),
        (1_000_000, "1 MB"),
        (2 * 1024**3, "2 GiB"),
        (3_000_000_000, "3 GB"),
        (64 * 1024, "64 KiB"),
        (1500, "1.5 kB"),
        (12_345_678, "12.3 MB"),
        (1, "1 byte"),
        (700, "700 bytes"),
        (0, "0 bytes"),
    ],
)
def test_size_label(n_bytes, text):
    with translation.override("en"):
        assert size_label(n_bytes) == text


def test_a_size_is_written_in_the_family_of_its_limit():
    with translation.override("en"):
        assert size_label(60_000_000, like=50 * 1024 * 1024) == "57.2 MiB"
        assert size_label(52_428_800, like=50_000_000) == "52.4 MB"
        # Just over the limit never reads as the limit itself.
        assert size_label(50 * 1024 * 1024 + 40_000, like=50 * 1024 * 1024) == "50.04 MiB"


def test_decimal_comma_in_russian():
    with translation.override("ru"):
        assert size_label(12_345_678).startswith("12,3 ")


def test_template_filter():
    with translation.override("en"):
        text = Template("{% load units %}{{ n|size_label }}|{{ missing|size_label }}").render(Context({"n": 1_234_567}))
    assert text == "1.2 MB|"
