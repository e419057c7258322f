"""Runs the lit/FileCheck suite (test/lit) as part of the pytest run: one test command for CI.

The tools (ax-opt, filecheck, lit) are those of the interpreter running pytest, so the suite works
in a fresh virtual environment whether or not it is activated.
"""

import os
import subprocess
import sys
from pathlib import Path

LIT_DIR = Path(__file__).parent / "lit"
BIN = Path(sys.executable).parent


def test_lit_suite() -> None:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(BIN / "lit"), "-q", "-j", "2", str(LIT_DIR)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
