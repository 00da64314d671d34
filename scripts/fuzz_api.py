"""Body of scripts/fuzz: prepare a database, start gunicorn (production settings), run schemathesis.

Two runs against http://127.0.0.1:<8151-8159>/api/v1/schema/: anonymous, and with the DRF token of
an admin user (authenticated endpoints, writes included — the database is a throw-away one, by default
gis_portal_fuzzsrv). Bounded by --max-examples per operation and --max-time per run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from prodserver import DEFAULT_DB, ROOT, Server, admin_token, database_prepare  # noqa: E402

SCHEMATHESIS = str(ROOT / ".venv" / "bin" / "schemathesis")
# The checks that matter (default): no 5xx, and response bodies match their documented schema. Pass
# --checks all (or e.g. status_code_conformance) for the stricter documentation checks.
CHECKS = "not_a_server_error,response_schema_conformance"


def run(base: str, label: str, args: argparse.Namespace, headers: list[str]) -> dict:
    report = ROOT / "test-artifacts" / f"fuzz-{label}.ndjson"
    cmd = [
        SCHEMATHESIS, "run", f"{base}/api/v1/schema/", "--url", base,
        "--checks", args.checks, "--max-examples", str(args.max_examples), "--max-time", str(args.max_time),
        "--workers", str(args.workers), "--seed", str(args.seed), "--no-color", "--request-timeout", "30",
        "--generation-database", "none", "--report", "ndjson", "--report-ndjson-path", str(report),
        "--phases", args.phases, "--warnings", "off",
    ]  # fmt: skip
    for header in headers:
        cmd += ["-H", header]
    print(f"\n=== schemathesis ({label}) ===", flush=True)
    result = subprocess.run(cmd, cwd=ROOT)
    return {"label": label, "returncode": result.returncode, "report": report, "server_errors": count_5xx(report)}


def count_5xx(report: Path) -> int:
    """Responses with status >= 500 recorded in schemathesis's ndjson event stream."""
    count = 0
    if not report.exists():
        return count
    for line in report.read_text().splitlines():
        count += line.count('"status_code": 5') + line.count('"status_code":5')
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--no-prepare", action="store_true", help="reuse the database as it is")
    parser.add_argument("--max-examples", type=int, default=30, help="test cases per operation (default 30)")
    parser.add_argument("--max-time", type=int, default=300, help="seconds per run at most (default 300)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=191)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--checks", default=CHECKS)
    parser.add_argument("--anonymous-only", action="store_true")
    args = parser.parse_args()

    server = Server(args.database_url, workers=3)
    if not args.no_prepare:
        print(f"preparing {args.database_url}", flush=True)
        database_prepare(server.env)
    token = admin_token(server.env)
    results = []
    with server:
        print(f"gunicorn (production settings) on {server.base}", flush=True)
        results.append(run(server.base, "anonymous", args, []))
        if not args.anonymous_only:
            results.append(run(server.base, "admin", args, [f"Authorization: Token {token}"]))
    print("\n=== summary ===")
    for r in results:
        verdict = "ok" if r["returncode"] == 0 and r["server_errors"] == 0 else "FAILED"
        print(f"{r['label']:10} exit={r['returncode']} 5xx={r['server_errors']} {verdict}  report: {r['report']}")
    print(json.dumps({r["label"]: r["server_errors"] for r in results}))
    return 0 if all(r["returncode"] == 0 and r["server_errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
