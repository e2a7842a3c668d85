"""Every file shipped in experiments/ passes `chaoskit validate` against the real fault catalogue (with set-up's CA,
which the HTTPS experiment verifies against, in $CHAOSKIT_TLS_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SHIPPED = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))


def test_every_shipped_file_validates(tmp_path):
    """validate exits 0 and says ok for each experiment, monkey config and game day."""
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")  # only its existence is validated
    result = subprocess.run([sys.executable, "-m", "chaoskit", "validate", *SHIPPED], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "CHAOSKIT_TLS_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert len(SHIPPED) >= 10
    assert result.stdout.count("ok: ") == len(SHIPPED)
