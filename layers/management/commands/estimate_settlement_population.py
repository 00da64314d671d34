"""Recompute the estimated population of the places without a figure (run after new population figures)."""

from django.core.management.base import BaseCommand

from layers.settlement_services import settlement_estimates_refresh


class Command(BaseCommand):
    help = (
        "Spread the official total of each district (or region) less its places with figures over its places "
        "without one, by settlement class; the values are flagged as estimates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="use official totals of this year or earlier (default: latest)")

    def handle(self, *args, **options):
        est = settlement_estimates_refresh(year=options["year"])
        self.stdout.write(
            f"estimates: {est.places} places, {est.persons} persons from {est.units} official totals "
            f"({est.district_units} of districts); {est.without_unit} places left without a figure"
        )
