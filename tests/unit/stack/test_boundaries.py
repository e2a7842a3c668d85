"""The pure modules stay pure: importable without the service's I/O libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import timeline

TIMELINE_SRC = Path(timeline.__file__).resolve().parents[1]

PURE = ["breaker", "bulkhead", "counters", "datagen", "fanout", "http1", "merge", "render", "routing", "settings", "validate"]
ADAPTERS = ["aiohttp", "psycopg", "psycopg_pool", "hiredis", "uvloop", "docker"]


def test_pure_modules_import_no_io_library():
    """Importing the pure modules pulls in none of aiohttp, psycopg, hiredis, uvloop, docker."""
    code = (
        "import sys\n"
        + "".join(f"import timeline.{m}\n" for m in PURE)
        + f"print(sorted(set({ADAPTERS!r}) & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=TIMELINE_SRC, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
