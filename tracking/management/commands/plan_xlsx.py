"""Consolidated plans as Excel workbooks from the command line, for scripted exchanges with the ministry.

    manage.py plan_xlsx export --out plans.xlsx [--plan ID] [--lang ru]
    manage.py plan_xlsx import plans.xlsx [--plan ID] [--remove-missing] [--dry-run] [--lang ru]

The same workbook (tracking.plan_xlsx) and the same import service (tracking.services.plan_import)
as the plan pages. The import exits with status 1 and prints every row error when the file does not
validate; nothing is saved then.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from tracking.models import Plan
from tracking.plan_xlsx import PlanFileError, workbook_read
from tracking.selectors import plan_workbook, plans_current_approved
from tracking.services import PlanImportError, plan_xlsx_import

LANGS = [code for code, _name in settings.LANGUAGES]

IMPORT_HELP = (
    "Which draft the file goes into: with --plan ID, that plan if it is a draft (or checked; it becomes a "
    "draft again), else — an approved or superseded plan is never changed — a new draft version copied "
    "from it. Without --plan, each plan (12: measures 14–17, 13: measures 18–26) that has rows in the file "
    "gets a new draft version copied from its current approved plan (empty when there is none). Rows are "
    "matched by the row key the export writes: a keyed row updates that row, other rows are added; the "
    "draft's rows the file does not list are kept unless --remove-missing."
)


class Command(BaseCommand):
    help = (
        "Export a consolidated plan as an Excel workbook (the template to fill in), or import one into a "
        "draft plan with the checks of the plan page. " + IMPORT_HELP
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write a plan workbook (default: the current approved plans 12 and 13)")
        export.add_argument("--plan", type=int, default=None, help="ID of the plan version to export")
        export.add_argument("--out", required=True, help="the .xlsx file to write")
        export.add_argument("--lang", default=settings.LANGUAGE_CODE, choices=LANGS, help="language of the headers")
        imp = sub.add_parser("import", help="load a plan workbook into a draft plan", description=IMPORT_HELP)
        imp.add_argument("file", help="the .xlsx file to read")
        imp.add_argument("--plan", type=int, default=None, help="ID of the plan the file updates (see above)")
        imp.add_argument("--remove-missing", action="store_true", help="remove the draft's rows the file does not list")
        imp.add_argument("--dry-run", action="store_true", help="check everything, save nothing")
        imp.add_argument("--lang", default=settings.LANGUAGE_CODE, choices=LANGS, help="language of the messages")

    def _plan(self, pk: int | None) -> Plan | None:
        if pk is None:
            return None
        plan = Plan.objects.filter(pk=pk).first()
        if plan is None:
            raise CommandError(f"--plan: there is no plan with ID {pk}")
        return plan

    def handle(self, *args, action: str, lang: str, **options):
        with translation.override(lang):
            if action == "export":
                return self._export(plan=self._plan(options["plan"]), out=Path(options["out"]))
            return self._import(
                plan=self._plan(options["plan"]),
                path=Path(options["file"]),
                remove_missing=options["remove_missing"],
                dry_run=options["dry_run"],
            )

    def _export(self, *, plan: Plan | None, out: Path) -> None:
        plans = [plan] if plan is not None else plans_current_approved()
        if not plans:
            self.stderr.write("No approved plan: writing the blank template.")
        out.write_bytes(plan_workbook(plans=plans))
        described = ", ".join(f"plan {p.plan_measure_id} v{p.version} (ID {p.pk}, {p.status})" for p in plans)
        self.stdout.write(f"Wrote {out}: {described or 'blank template'}.")

    def _import(self, *, plan: Plan | None, path: Path, remove_missing: bool, dry_run: bool) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            rows = workbook_read(data)
            results = plan_xlsx_import(rows=rows, plan=plan, remove_missing=remove_missing, dry_run=dry_run)
        except PlanFileError as exc:
            raise CommandError(str(exc)) from exc
        except PlanImportError as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            n = len(exc.errors)
            errors = "1 error" if n == 1 else f"{n} errors"
            raise CommandError(f"{path}: {errors}; nothing was saved.", returncode=1) from exc
        for result in results:
            target = "a new draft" if result.created else "draft"
            verb = "would load into" if dry_run else "loaded into"
            self.stdout.write(
                f"{path} {verb} {target} of plan {result.plan.plan_measure_id} v{result.plan.version} "
                f"(ID {result.plan.pk}): {result.added} added, {result.updated} updated, "
                f"{result.removed} removed, {result.unchanged} unchanged."
            )
            for warning in result.warnings:
                self.stdout.write(f"  still to do: {warning}")
        if dry_run:
            self.stdout.write("Dry run: nothing was saved.")
