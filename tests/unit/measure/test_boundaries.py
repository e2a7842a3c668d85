"""The measure package: no adapter or docker import, and its public names are its __all__."""

from __future__ import annotations

import subprocess
import sys
import types


def test_measure_imports_no_adapter() -> None:
    """Importing chaoskit.measure (generator and probes included) pulls in neither docker nor chaoskit.adapters."""
    code = (
        "import sys, chaoskit.measure, chaoskit.measure.write_audits;"
        "bad = sorted(m for m in sys.modules if m == 'docker' or m.startswith(('docker.', 'chaoskit.adapters', 'toxiproxy')));"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_names_match_all() -> None:
    """chaoskit.measure exports exactly what __all__ lists."""
    import chaoskit.measure as measure

    public = {n for n in vars(measure) if not n.startswith("_") and not isinstance(getattr(measure, n), types.ModuleType)}
    public.discard("annotations")
    assert public == set(measure.__all__)
