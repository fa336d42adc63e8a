"""The wheel holds pyups and nothing of its test harness.

Built offline from a copy of the tree (pip, the [build-system] backend already installed, no
build isolation), so that nothing is downloaded and the checkout gets no build/ directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_pyups_and_its_data_and_no_test_harness(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp_path / "dist"), str(tree)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("pyups-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}

    assert "pyups/cli.py" in files
    assert "pyups/sim/__init__.py" in files
    assert "pyups/sim/eaton800.dev" in files  # what `pyups demo` simulates
    assert "pyups/data/pyups.conf.example" in files
    others = {name.split("/")[0] for name in files} - {"pyups"}
    assert [top for top in others if not top.endswith(".dist-info")] == []
    for word in ("tests/", "bench/", "harness", "journald", "fakeupsd", "certs", "receiver"):
        assert [name for name in files if word in name] == [], word
    # Nor inside another module: the journald for tests, the fake upsd, the certificates.
    for code in (b"make_certificates", b"shared_journald", b"class FakeUpsd"):
        assert [name for name, data in files.items() if code in data] == [], code
