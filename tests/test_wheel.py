"""The package as a user installs it: build the sdist, build the wheel from that sdist, install the
wheel into a fresh virtual environment and run the packaged sample end to end from an empty folder
that is not the checkout (no configs/, no data/, no PYTHONPATH).

Dependencies: installing torch & co. into another venv costs minutes and GBs, so the fresh venv
sees the project venv's installed dependencies through a ``.pth`` line naming their site-packages,
written after the wheel is installed with ``--no-deps``. A path named in a ``.pth`` file is added to
``sys.path`` but its own ``.pth`` files are not run, so the checkout's editable install (an import
hook started by such a file) is not active there: ``detector`` and its packaged files can only
come from the wheel, which the test asserts (``detector.__file__``, the manifest's config path).
What this does not prove is that pip would resolve the dependency pins from PyPI; the pins are
the ones ``make setup`` installs.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from detector import resources
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
PACKAGED = (*resources.STARTER, resources.SAMPLE)


def build(source: Path, hook: str, target: Path) -> Path:
    """Run one PEP 517 hook of setuptools (the project's build backend) in ``source``, offline."""
    code = f"from setuptools import build_meta; print(build_meta.{hook}({str(target)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return target / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist from a copy of the files a release is made of, then the wheel from the unpacked sdist."""
    work = tmp_path_factory.mktemp("build")
    tree = work / "tree"
    shutil.copytree(ROOT / "detector", tree / "detector", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    sdist = build(tree, "build_sdist", work)
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        archive.extractall(work / "unpacked", filter="data")
    assert all(any(n.endswith(f"detector/packaged/{f}") for n in names) for f in PACKAGED), names
    (unpacked,) = (work / "unpacked").iterdir()
    wheel = build(unpacked, "build_wheel", work / "dist")
    with zipfile.ZipFile(wheel) as archive:
        inside = set(archive.namelist())
    assert {f"detector/packaged/{f}" for f in PACKAGED} <= inside
    return wheel


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    # Without PYTHONPATH: pip must see the bare venv only (a checkout on the path reads as installed).
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", str(wheel)], env=clean_env(), capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert "Successfully installed narrative-sync-detector" in done.stdout, done.stdout + done.stderr
    (own,) = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()][:1]
    (new,) = (env / "lib").glob("python*/site-packages")
    (new / "_project_dependencies.pth").write_text(f"{own}\n", encoding="utf-8")
    return env


def clean_env() -> dict[str, str]:
    """The environment without what points at the checkout or the project venv."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "DETECTOR_FAULT")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "HF_HUB_OFFLINE": "1"}


def detector(env: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(env / "bin" / "detector"), *args], cwd=cwd, text=True, capture_output=True,
                          env=clean_env(), timeout=900, check=False)  # fmt: skip
    assert done.returncode == 0, f"detector {' '.join(args)}:\n{done.stderr[-3000:]}"
    return done


def test_the_installed_wheel_runs_the_packaged_sample_from_an_empty_folder(
    venv: Path, tmp_path: Path, warm_sample_store: Path
) -> None:
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import detector; print(detector.__file__)"],
                           cwd=tmp_path, text=True, capture_output=True, check=False,
                           env=clean_env())  # fmt: skip
    assert where.stdout.startswith(str(venv)), where.stderr  # the wheel's copy, not the checkout's
    assert str(venv) in detector(venv, tmp_path, "--version").stdout

    detector(venv, tmp_path, "init", "starter", "--sample")
    sample = tmp_path / "starter" / "sample_feed_2024.csv"
    assert sample.read_bytes() == (ROOT / "data" / "sample" / "feed_2024.csv").read_bytes()
    store = "out/detector.duckdb"  # holds the sample's vectors already (conftest): no re-embedding
    (tmp_path / "out").mkdir()
    shutil.copyfile(warm_sample_store, tmp_path / store)
    run = detector(venv, tmp_path, "run", "--input", str(sample), "--out", "out")
    run_id = run.stdout.split(":")[0]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config_source"]["packaged"] is True
    assert manifest["config_source"]["path"].startswith(str(venv))
    flags = pd.read_csv(tmp_path / "out" / "flags.csv", dtype=str)
    assert len(flags) > 0

    detector(venv, tmp_path, "track", "-w", "starter/watchlist.toml", "--store", store, "--out", "watch")
    assert (tmp_path / "watch" / "watch_summary.csv").is_file()
    found = detector(venv, tmp_path, "search", "The United States runs military biolabs in Ukraine",
                     "--store", store, "--top", "3", "--csv", "search.csv")  # fmt: skip
    assert len(pd.read_csv(tmp_path / "search.csv")) == 3, found.stdout
    shown = detector(venv, tmp_path, "show", flags["narrative_id"].iloc[0], "--store", store)
    assert flags["narrative_id"].iloc[0] in shown.stdout
    detector(venv, tmp_path, "report", "--run", run_id, "--out", "again", "--store", store)
    assert (tmp_path / "again" / "flags.csv").read_bytes() == (tmp_path / "out" / "flags.csv").read_bytes()
