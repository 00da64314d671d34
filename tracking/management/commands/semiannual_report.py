"""Write a semi-annual report (order 191-ө, clauses 2–3) to a file, as the reports page offers it.

    manage.py semiannual_report --period 2025H2 --kind consolidated --format xlsx --lang ru --out report.xlsx
    manage.py semiannual_report --period 2025H1 --kind executor --region 710000000 --format pdf --lang kk \\
        --out astana.pdf [--known-at 2025-07-05] [--submit --user akimat_astana]

The file is built by the same functions as the page's download (tracking.reports). It is a live
report, not frozen, unless --submit: then it is submitted through report_submit, exactly as the
page's "submit" does (frozen snapshot and files, the user's rights checked), and the frozen file
is written.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from layers.models import Region
from tracking.models import Report
from tracking.reports import LANGS, RENDERERS, report_file_build
from tracking.services.errors import PermissionDeniedError, TrackingError
from tracking.services.reports import report_submit

PERIOD = re.compile(r"^(?P<year>\d{4})H(?P<half>[12])$")
# The roadmap runs 2024–2026: its last report is the one for the second half of 2026.
YEARS = range(2024, 2027)
KINDS = {"consolidated": Report.Kind.CONSOLIDATED, "executor": Report.Kind.REGION}


def period_as_of(period: str) -> date:
    """'2025H1' → 1 July 2025 (the first half-year ends the day before); '2025H2' → 1 January 2026."""
    match = PERIOD.match(period)
    if match is None:
        raise CommandError(f"--period must look like 2025H1 or 2025H2, not {period!r}")
    year, half = int(match["year"]), int(match["half"])
    if year not in YEARS:
        raise CommandError(f"--period: the roadmap's reports cover {YEARS.start}–{YEARS.stop - 1}, not {year}")
    return date(year, 7, 1) if half == 1 else date(year + 1, 1, 1)


def _known_at(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--known-at must be a date YYYY-MM-DD, not {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Write a semi-annual report (consolidated, or an akimat's executor report) as XLSX, PDF or CSV, "
        "the same file the reports page offers; --submit freezes it as the page's submit does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="YYYYH1 (as of 1 July) or YYYYH2 (as of 1 January next)")
        parser.add_argument("--kind", required=True, help="consolidated | executor")
        parser.add_argument("--region", default=None, help="KATO code of the region (executor reports)")
        parser.add_argument("--format", required=True, dest="fmt", help="xlsx | pdf | csv")
        parser.add_argument("--lang", required=True, help="kk | ru | en")
        parser.add_argument("--out", required=True, help="file to write")
        parser.add_argument("--known-at", default=None, help="YYYY-MM-DD: data recorded by then (default: due date)")
        parser.add_argument("--submit", action="store_true", help="submit (freeze) the report, as the page does")
        parser.add_argument("--user", default=None, help="USERNAME submitting the report (with --submit)")

    def handle(self, *args, period: str, kind: str, region: str | None, fmt: str, lang: str, out: str, **options):
        as_of = period_as_of(period)
        if kind not in KINDS:
            raise CommandError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if fmt not in RENDERERS:
            raise CommandError(f"--format must be one of {', '.join(RENDERERS)}, not {fmt!r}")
        if lang not in LANGS:
            raise CommandError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
        report_kind = KINDS[kind]
        region_obj = None
        if report_kind == Report.Kind.REGION:
            if not region:
                raise CommandError("an executor report needs --region KATO")
            region_obj = Region.objects.filter(kato=region).first()
            if region_obj is None:
                raise CommandError(f"--region: no region with KATO code {region!r}")
        elif region:
            raise CommandError("--region is for executor reports only")
        known_at = _known_at(options["known_at"])
        target = Path(out)
        if not target.parent.is_dir():
            raise CommandError(f"--out: the folder {target.parent} does not exist")
        if options["submit"]:
            content = self._submit(
                kind=report_kind,
                as_of=as_of,
                lang=lang,
                region=region_obj,
                known_at=known_at,
                fmt=fmt,
                username=options["user"],
            )
        else:
            if options["user"]:
                raise CommandError("--user is for --submit only")
            content = report_file_build(
                kind=report_kind, as_of=as_of, fmt=fmt, language=lang, known_at=known_at, region=region_obj
            ).content
        target.write_bytes(content)
        self.stdout.write(
            f"written {target} ({len(content)} bytes){' — submitted and frozen' if options['submit'] else ''}"
        )

    def _submit(self, *, kind, as_of, lang, region, known_at, fmt, username) -> bytes:
        if not username:
            raise CommandError("--submit needs --user USERNAME (who submits the report)")
        submitter = get_user_model().objects.filter(username=username).first()
        if submitter is None:
            raise CommandError(f"--user: no user {username!r}")
        try:
            report = report_submit(
                kind=kind, as_of=as_of, language=lang, user=submitter, region=region, known_at=known_at
            )
        except PermissionDeniedError as exc:
            raise CommandError(f"{username} may not submit this report: {exc}") from exc
        except TrackingError as exc:
            raise CommandError("; ".join(str(p) for problems in exc.problems.values() for p in problems)) from exc
        stored = getattr(report, f"{fmt}_file")
        with stored.open("rb") as f:
            return f.read()
