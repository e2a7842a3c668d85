"""Every file shipped in experiments/ passes `chaoskit validate` against the real fault catalogue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SHIPPED = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))


def test_every_shipped_file_validates():
    """validate exits 0 and says ok for each experiment, monkey config and game day."""
    result = subprocess.run([sys.executable, "-m", "chaoskit", "validate", *SHIPPED], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(SHIPPED) >= 10
    assert result.stdout.count("ok: ") == len(SHIPPED)
