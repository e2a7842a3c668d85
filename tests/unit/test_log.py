"""Logging: secrets given to hide() never reach a rendered event, in either format."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from chaoskit.log import redact


def test_redact_masks_every_occurrence_longest_first() -> None:
    """Strings are masked inside mappings, keys and lists; a secret containing another is masked whole."""
    secrets = frozenset({"abc", "abcdef"})
    value = {"k-abc": ["x abcdef y", 3, None, True], "n": 1.5}
    assert redact(value, secrets) == {"k-***": ["x *** y", 3, None, True], "n": 1.5}
    assert redact(value, frozenset()) is value


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_hidden_values_are_masked_in_rendered_logs(log_format: str) -> None:
    """A secret in an event's fields or in an exception's text is *** on stderr."""
    script = textwrap.dedent(f"""
        from chaoskit.log import configure, get_logger, hide
        configure({log_format!r})
        hide(["s3cr3t-value"])
        log = get_logger("t")
        log.info("probe.failed", url="http://u:s3cr3t-value@h/", headers={{"X": "s3cr3t-value"}})
        try:
            raise RuntimeError("bad token s3cr3t-value")
        except RuntimeError:
            log.exception("boom")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "probe.failed" in done.stderr and "RuntimeError" in done.stderr
    assert "s3cr3t-value" not in done.stderr and "***" in done.stderr
