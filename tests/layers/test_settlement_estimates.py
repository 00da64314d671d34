"""Estimates for places without a figure: the official total of their district (when it has one) or region,
less the places with figures, spread by settlement class; flagged as estimates; recomputed on demand."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Sum

from layers.analysis.settlement_estimates import DEFAULT_WEIGHTS, MIN_SAMPLES, apportion, class_weights
from layers.models import PopulationFigure, Settlement
from layers.settlement_selectors import FIGURED_KINDS, settlements_counted
from layers.settlement_services import settlement_estimates_refresh


def test_apportion_adds_up_exactly_and_follows_the_weights():
    shares = apportion(total=1_000_003, weights=[800.0, 800.0, 120.0, 8.0, 0.5])
    assert sum(shares) == 1_000_003 and abs(shares[0] - shares[1]) <= 1
    assert shares[1] > shares[2] > shares[3] > shares[4]
    assert apportion(total=10, weights=[1.0, 1.0, 1.0]) == [4, 3, 3]  # ties: the earlier place first
    assert apportion(total=7, weights=[0.0, 0.0]) == [4, 3]  # no weight at all: equal shares
    assert apportion(total=0, weights=[5.0]) == [0] and apportion(total=5, weights=[]) == []
    with pytest.raises(ValueError):
        apportion(total=-1, weights=[1.0])


def test_class_weights_prefer_the_region_then_the_country_then_the_default():
    regional = {"village": (500.0, MIN_SAMPLES), "hamlet": (90.0, MIN_SAMPLES - 1)}
    national = {"village": (816.0, 1999), "hamlet": (126.5, 1342)}
    weights = class_weights(regional=regional, national=national)
    assert weights["village"] == (500.0, "region")
    assert weights["hamlet"] == (126.5, "country")  # too few tagged hamlets in the region
    assert weights["town"] == (DEFAULT_WEIGHTS["town"], "default")


def _figure(region, value, district=None):
    return PopulationFigure.objects.create(
        region=region,
        district=district,
        year=2024,
        indicator="total",
        value=value,
        source="test totals",
        # District figures name the date of their source (constraint population_district_source_dated).
        source_issued=date(2024, 3, 1) if district is not None else None,
    )


def _places(**filters):
    return settlements_counted().filter(**filters)


def _total(qs) -> int:
    return qs.aggregate(n=Sum("population"))["n"] or 0


def test_region_estimates_add_up_to_the_official_total_less_the_places_with_figures(db, region_b):
    _figure(region_b, 2_000_000)
    unknown_before = _places(region=region_b, population_kind="unknown").count()
    report = settlement_estimates_refresh()
    figured = _total(_places(region=region_b, population_kind__in=FIGURED_KINDS))
    estimated = _places(region=region_b, population_kind="estimate")
    assert estimated.count() == unknown_before > 0 and report.places == unknown_before
    assert _total(estimated) == 2_000_000 - figured == report.persons
    assert not estimated.filter(child_population__isnull=False).exists()
    assert not estimated.exclude(population_source__startswith="estimate: region total 2024 (test totals)").exists()
    # A village gets more than a hamlet and a hamlet more than a dwelling (class weights).
    means = {
        c: _total(estimated.filter(place_class=c)) / max(estimated.filter(place_class=c).count(), 1)
        for c in ("village", "hamlet", "isolated_dwelling")
    }
    assert means["village"] > means["hamlet"] > means["isolated_dwelling"] > 0
    # Places of regions without an official total keep no figure.
    assert not settlements_counted().exclude(region=region_b).filter(population_kind="estimate").exists()


def test_a_district_total_is_spread_in_the_district_and_taken_off_the_region(db, region_b):
    district = region_b.districts.filter(settlements__population_kind="unknown").order_by("kato").distinct().first()
    in_district = _places(district=district)
    figured_in = _total(in_district.filter(population_kind__in=FIGURED_KINDS))
    _figure(region_b, 2_000_000)
    _figure(region_b, figured_in + 5_000, district=district)
    report = settlement_estimates_refresh()
    assert report.district_units == 1
    assert _total(in_district.filter(population_kind="estimate")) == 5_000
    rest = _places(region=region_b).exclude(district=district)
    figured_rest = _total(rest.filter(population_kind__in=FIGURED_KINDS))
    assert _total(rest.filter(population_kind="estimate")) == 2_000_000 - (figured_in + 5_000) - figured_rest
    assert (
        in_district.filter(population_kind="estimate").first().population_source.startswith("estimate: district total")
    )


def test_figures_beyond_the_total_leave_nothing_to_spread(db, region_b):
    _figure(region_b, 10)
    settlement_estimates_refresh()
    estimated = _places(region=region_b, population_kind="estimate")
    assert estimated.exists() and _total(estimated) == 0


def test_estimates_are_recomputed_when_figures_change(db, region_b):
    figure = _figure(region_b, 2_000_000)
    settlement_estimates_refresh()
    place = _places(region=region_b, population_kind="estimate").order_by("-population").first()
    # An official figure for one place: it is no longer estimated, and the others share less.
    Settlement.objects.filter(pk=place.pk).update(population=place.population + 1_000, population_kind="official")
    settlement_estimates_refresh()
    assert _total(_places(region=region_b, population_kind="estimate")) == 2_000_000 - _total(
        _places(region=region_b, population_kind__in=FIGURED_KINDS)
    )
    figure.delete()
    report = settlement_estimates_refresh()
    assert report.places == 0 and not _places(region=region_b, population_kind="estimate").exists()
    assert not _places(region=region_b, population_kind="unknown").exclude(population=0).exists()
