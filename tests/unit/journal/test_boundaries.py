"""The journal package sits below run, schedule and report: importing it loads none of them."""

from __future__ import annotations

import subprocess
import sys

from chaoskit import journal
from chaoskit.journal import encode, reader, records, writer


def test_journal_imports_nothing_above_it():
    """chaoskit.journal loads no module of run/, schedule/, report/, cli or adapters/."""
    code = ("import sys, chaoskit.journal; print(sorted(m for m in sys.modules if m.startswith(("
            "'chaoskit.run', 'chaoskit.schedule', 'chaoskit.report', 'chaoskit.cli', 'chaoskit.adapters'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names_match_all():
    """Every module's __all__ lists exactly its public names."""
    for module in (journal, encode, reader, records, writer):
        public = {n for n in vars(module) if not n.startswith("_") and getattr(vars(module)[n], "__module__", None)
                  == module.__name__}
        assert public <= set(module.__all__), (module.__name__, public - set(module.__all__))
        assert all(hasattr(module, n) for n in module.__all__), module.__name__
