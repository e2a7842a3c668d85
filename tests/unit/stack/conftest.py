"""Unit tests of the sample stack's pure logic, imported from the timeline image's package.

The package lives in compose/images/timeline/ (it is copied into the image);
its pure modules need only the standard library, so the host venv can import
them once that directory is on sys.path.
"""

from __future__ import annotations

import sys
from pathlib import Path

TIMELINE_SRC = Path(__file__).resolve().parents[3] / "compose" / "images" / "timeline"
if str(TIMELINE_SRC) not in sys.path:
    sys.path.insert(0, str(TIMELINE_SRC))
