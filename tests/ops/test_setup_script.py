"""scripts/_setup.sh: which interpreter .venv is made from (README "Benchmarks")."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fake_python(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def _base_python(*, distro_python: Path, path: list[Path]) -> str:
    env = {
        "PATH": os.pathsep.join([*map(str, path), "/usr/bin", "/bin"]),
        "DISTRO_PYTHON": str(distro_python),
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    result = subprocess.run(  # noqa: S603 - fixed argv
        ["/bin/bash", "-c", "source scripts/_setup.sh && base_python"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_distributions_interpreter_wins_over_one_first_on_path(tmp_path):
    distro = _fake_python(tmp_path / "usr-bin", "python3.11")
    shim = _fake_python(tmp_path / "pyenv-shims", "python3.11")
    assert _base_python(distro_python=distro, path=[shim.parent]) == str(distro)


def test_without_it_the_first_python311_on_path(tmp_path):
    shim = _fake_python(tmp_path / "pyenv-shims", "python3.11")
    assert _base_python(distro_python=tmp_path / "absent" / "python3.11", path=[shim.parent]) == str(shim)
