"""Runs the lit/FileCheck suite (test/lit) as part of the pytest run: one test command for CI."""

import shutil
import subprocess
import sys
from pathlib import Path

LIT_DIR = Path(__file__).parent / "lit"


def test_lit_suite() -> None:
    lit = shutil.which("lit") or str(Path(sys.executable).parent / "lit")
    proc = subprocess.run([lit, "-q", "-j", "2", str(LIT_DIR)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
