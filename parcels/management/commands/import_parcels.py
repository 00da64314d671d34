"""Import parcels from a file on the server: same reader, matching, checks and all-or-nothing rule as the web import."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from parcels import selectors
from parcels.io import ALLOWED_SRIDS, FileRejected, read_parcel_file
from parcels.models import LocalCoordinateSystem
from parcels.services import SYSTEM, import_outcome_summary, parcels_import


class Command(BaseCommand):
    help = (
        "Import land parcels from GeoJSON, zipped Shapefile, KML/KMZ, GeoPackage or CSV with WKT. "
        "Rows are matched to facilities (reference, cadastral number of a parcel to update, location); "
        "all rows are saved in one transaction or none; problems are listed per feature."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--srid", type=int, choices=sorted(ALLOWED_SRIDS), help="CRS when the file has none")
        parser.add_argument("--local-crs", help="name of a registered local coordinate system, when the file has none")
        parser.add_argument("--user", help="import with this user's permissions (default: as administrator)")
        parser.add_argument("--dry-run", action="store_true", help="check only, save nothing")
        parser.add_argument(
            "--skip-unmatched",
            action="store_true",
            help="skip rows whose facility is ambiguous or not found (default: such rows are errors)",
        )

    def handle(
        self, *args, path: str, srid: int | None, user: str | None, dry_run: bool, skip_unmatched: bool, **options
    ):
        actor = SYSTEM
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no user {user!r}")
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"{path}: no such file")
        chosen = None
        if options.get("local_crs"):
            chosen = LocalCoordinateSystem.objects.filter(name=options["local_crs"]).first()
            if chosen is None:
                raise CommandError(f"no local coordinate system {options['local_crs']!r}")
        try:
            local = selectors.local_crs_options(user=actor, chosen=chosen)
            read = read_parcel_file(path=source, filename=source.name, chosen_srid=srid, local=local)
        except FileRejected as exc:
            raise CommandError(f"{path}: {exc}") from exc
        outcome = parcels_import(user=actor, features=read.features, commit=not dry_run, skip_unmatched=skip_unmatched)
        for row in outcome.rows:
            for problem in row.problems:
                self.stdout.write(
                    f"feature {row.number}: {problem['field']}: {problem['severity']}: {problem['message']}"
                )
            if row.action == "choose":
                found = "; ".join(
                    f"#{c.facility_id} {c.name} (measure {c.measure}, {c.distance_text})" for c in row.candidates
                )
                self.stdout.write(
                    f"feature {row.number}: facility_id: error: the facility is ambiguous or not found; "
                    f"candidates: {found or 'none'} (give facility_id or a reference, or use --skip-unmatched)"
                )
        self.stdout.write(f"{read.format}, {read.crs_label}, {len(outcome.rows)} features")
        if not outcome.ready:
            raise CommandError("nothing was saved: fix the problems listed above")
        summary = import_outcome_summary(outcome=outcome)
        self.stdout.write(f"saved: {summary}" if outcome.committed else f"dry run, nothing saved: {summary}")
