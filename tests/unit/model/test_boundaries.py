"""Pure layers import no adapter and no docker."""

from __future__ import annotations

import subprocess
import sys


def test_model_targets_and_verdicts_import_no_adapter() -> None:
    """Importing the model, selection, verdicts and the ledger pulls in neither docker nor chaoskit.adapters."""
    code = (
        "import sys, chaoskit.model, chaoskit.model.schema, chaoskit.targets, chaoskit.verdict, chaoskit.run.ledger;"
        "bad = sorted(m for m in sys.modules if m == 'docker' or m.startswith(('docker.', 'chaoskit.adapters', 'toxiproxy')));"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_model_public_names_match_all() -> None:
    """chaoskit.model and chaoskit.targets export exactly what __all__ lists."""
    import chaoskit.model as model
    import chaoskit.targets as targets

    for module in (model, targets):
        public = {n for n in vars(module) if not n.startswith("_") and not isinstance(getattr(module, n), type(sys))}
        public.discard("annotations")
        assert public == set(module.__all__), module.__name__
