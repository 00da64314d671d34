import json
import time

from django.core.management.base import BaseCommand

from accessibility.models import AnalysisRun
from accessibility.services import analysis_run_create, analysis_run_execute, demo_raster_build

# Fast runs on the demo data (settlements and DEMO facilities); every run is flagged is_demo.
DEMO_RUNS = [
    ("coverage", {"facilities": {"scope": "all"}}),
    ("fca", {"facilities": {"scope": "all"}}),
    ("roadmap", {}),
    ("sites", {"facilities": {"scope": "all"}, "sites": {"k": 10, "candidates": "settlements"}}),
    ("underserved", {"facilities": {"scope": "all"}, "underserved": {"hex_size_m": 10_000, "top": 100}}),
]


class Command(BaseCommand):
    help = "Run each of the five accessibility analyses on the demo data (results flagged demo)."

    def add_arguments(self, parser):
        parser.add_argument("--replace", action="store_true", help="delete earlier demo runs first")
        parser.add_argument(
            "--raster", action="store_true", help="also build a synthetic demo raster and run coverage on it"
        )

    def handle(self, *args, **options):
        if options["replace"]:
            AnalysisRun.objects.filter(is_demo=True).delete()
        runs = list(DEMO_RUNS)
        if options["raster"]:
            raster = demo_raster_build()
            self.stdout.write(f"demo raster {raster.pk}: {raster.width} × {raster.height} cells")
            runs.append(
                ("coverage", {"facilities": {"scope": "all"}, "demand": {"source": "raster", "raster_id": raster.pk}})
            )
        for kind, params in runs:
            t0 = time.perf_counter()
            run = analysis_run_create(kind=kind, parameters=params, is_demo=True, enqueue=False)
            run = analysis_run_execute(run_id=run.pk)
            self.stdout.write(
                f"{kind:12} run {run.pk}: {run.status} in {time.perf_counter() - t0:.1f} s "
                f"{json.dumps(run.summary, ensure_ascii=False)[:160]}"
            )
