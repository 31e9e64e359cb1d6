"""The tooling gates of ``pyproject.toml``, run from the repository root as a
developer or CI runs them:

* ``lint-imports`` -- the import-linter contracts encoding the layers
  (zkp <- prover's proofs / verifier <- clearing.protocol <- clearing.ccp <-
  clearing.fold <- clearing.node | prover.custody <- clearing.api <-
  clearing.services <- clearing.clients <- clearing.cli / commands / demo);
* ``ruff check .`` -- the stated rule set, zero findings;
* ``mypy`` -- the configured ``files``: strict for zkp/, verifier/ and the
  prover's proof modules, mypy's default level for the rest; zero errors.

Each gate fails with the tool's own output when it reports a problem.  It is
skipped, saying so, only when the tool is not installed (all three are in the
``test`` extra, so CI has them).  Negative controls show that each gate can
fail: a back-edge planted in a copy of the packages breaks the layers
contract, a finding in a file under zkp/ is reported by ruff with the
project's configuration, and an unannotated function in zkp/ is a mypy error
(zkp/ is strict).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
PACKAGES = ("zkp", "prover", "verifier", "clearing")
TIMEOUT = 600


def _require(module: str, tool: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{tool} is not installed (it is in the test extra: pip install -e '.[test]')")


def _lint_imports() -> list[str]:
    """The ``lint-imports`` console script of this interpreter's environment."""
    _require("importlinter", "import-linter")
    beside = Path(sys.executable).with_name("lint-imports")
    exe = str(beside) if beside.exists() else shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is installed but its lint-imports script is not on PATH")
    return [exe]


def _run(cmd: list[str], cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, env=env)


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(proc.args)}  (exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}"


# -- the gates ------------------------------------------------------------------------------------------------------

def test_import_layers_hold():
    proc = _run([*_lint_imports(), "--no-cache"])
    assert proc.returncode == 0, _report(proc)
    assert "0 broken" in proc.stdout, _report(proc)


def test_ruff_reports_nothing():
    _require("ruff", "ruff")
    proc = _run([sys.executable, "-m", "ruff", "check", ".", "--no-cache", "--output-format", "concise"])
    assert proc.returncode == 0, _report(proc)


def test_mypy_reports_nothing():
    _require("mypy", "mypy")
    proc = _run([sys.executable, "-m", "mypy"])  # the files and levels of [tool.mypy]
    assert proc.returncode == 0, _report(proc)
    assert "Success: no issues found" in proc.stdout, _report(proc)


# -- the gates can fail ---------------------------------------------------------------------------------------------

def test_a_back_edge_breaks_the_layers(tmp_path):
    """clearing.fold importing clearing.services (two layers up) is reported,
    naming both ends, in a copy of the packages with the same contracts."""
    lint = _lint_imports()
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    clean = _run([*lint, "--no-cache"], cwd=tmp_path)
    assert clean.returncode == 0, _report(clean)  # the copy alone is fine
    with open(tmp_path / "clearing" / "fold" / "state.py", "a", encoding="utf-8") as fh:
        fh.write("\nimport clearing.services.rpc  # planted back-edge\n")
    proc = _run([*lint, "--no-cache"], cwd=tmp_path)
    assert proc.returncode != 0, _report(proc)
    assert "BROKEN" in proc.stdout and "clearing.fold is not allowed to import clearing.services" in proc.stdout, \
        _report(proc)


def test_ruff_finds_a_planted_finding():
    """An unused import in a file under zkp/ is a finding with the project's configuration."""
    _require("ruff", "ruff")
    proc = _run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(PYPROJECT),
                 "--output-format", "concise", "--stdin-filename", "zkp/planted.py", "-"],
                stdin='"""Planted."""\nimport os\n')
    assert proc.returncode == 1, _report(proc)
    assert "F401" in proc.stdout, _report(proc)


def test_mypy_is_strict_for_zkp(tmp_path):
    """zkp/errors.py with an unannotated function appended (read through
    mypy's --shadow-file) is an error: zkp/ is checked strictly."""
    _require("mypy", "mypy")
    shadow = tmp_path / "errors.py"
    shadow.write_text((ROOT / "zkp" / "errors.py").read_text(encoding="utf-8")
                      + "\n\ndef planted(x):\n    return x\n", encoding="utf-8")
    target = os.path.join("zkp", "errors.py")
    proc = _run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"),
                 "--shadow-file", target, str(shadow), target])
    assert proc.returncode == 1, _report(proc)
    assert "no-untyped-def" in proc.stdout, _report(proc)
