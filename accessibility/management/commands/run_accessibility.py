import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from accessibility.models import AnalysisRun
from accessibility.notes import note_text
from accessibility.services import RunParameterError, analysis_run_create, analysis_run_execute


class ProgressBar:
    """A one-line text progress bar on stderr-like output."""

    def __init__(self, stream, width: int = 40):
        self.stream = stream
        self.width = width
        self.last = (-1, "")

    def __call__(self, fraction: float, note: str) -> None:
        filled = int(round(fraction * self.width))
        key = (filled, note)
        if key == self.last:
            return
        self.last = key
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {100 * fraction:5.1f}% {note[:50]:<50}")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Run an accessibility analysis (coverage, fca, roadmap, sites, underserved) with a progress bar, "
        "or queue it for the background worker with --background."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=AnalysisRun.Kind.values)
        parser.add_argument("--params", default="{}", help="parameters as JSON (see the run page for the schema)")
        parser.add_argument("--params-file", help="parameters from a JSON file")
        parser.add_argument("--rerun", type=int, help="repeat run N with its stored parameters")
        parser.add_argument("--raster", type=int, help="shortcut for demand.source=raster, demand.raster_id=N")
        parser.add_argument("--as-of", help="facilities as of this date (YYYY-MM-DD)")
        parser.add_argument("--demo", action="store_true", help="flag the run as a demo")
        parser.add_argument("--background", action="store_true", help="only queue it (run `manage.py db_worker`)")

    def handle(self, *args, **options):
        if options["rerun"]:
            source = AnalysisRun.objects.filter(pk=options["rerun"]).first()
            if source is None:
                raise CommandError(f"--rerun: no run {options['rerun']}")
            params = source.parameters
        else:
            text = (
                open(options["params_file"], encoding="utf-8").read() if options["params_file"] else options["params"]
            )
            try:
                params = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CommandError(f"--params: not valid JSON ({exc})") from exc
        if options["raster"]:
            params.setdefault("demand", {}).update({"source": "raster", "raster_id": options["raster"]})
        if options["as_of"]:
            params.setdefault("facilities", {})["as_of"] = options["as_of"]
        try:
            run = analysis_run_create(
                kind=options["kind"], parameters=params, is_demo=options["demo"], enqueue=options["background"]
            )
        except RunParameterError as exc:
            raise CommandError(str(exc)) from exc
        if options["background"]:
            self.stdout.write(f"run {run.pk} queued (task {run.task_id}); start a worker: manage.py db_worker")
            return
        bar = ProgressBar(self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr)
        run = analysis_run_execute(run_id=run.pk, echo=bar)
        self.stderr.write("")
        if run.status != AnalysisRun.Status.DONE:
            raise CommandError(f"run {run.pk} failed: {run.error}")
        self.stdout.write(f"run {run.pk} done in {(run.finished_at - run.started_at).total_seconds():.1f} s")
        with translation.override("en"):
            for note in run.notes:
                self.stdout.write(f"  note: {note_text(note)}")
        self.stdout.write("  summary: " + json.dumps(run.summary, ensure_ascii=False))
