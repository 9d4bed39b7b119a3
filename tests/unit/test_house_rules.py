"""The house kept in order by machine, not by memory: the layer contract (import-linter,
configured in pyproject.toml's [tool.importlinter]) and the type check (mypy, basic
strictness, [tool.mypy]) over moss_host/. Both run here, so `just test-unit` and CI run them."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_layers_import_only_their_own_layer_or_lower_ones():
    r = run("-c", "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_logo=True))")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_moss_host_type_checks():
    r = run("-m", "mypy")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "Success: no issues found" in r.stdout
