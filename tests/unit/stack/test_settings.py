"""The service's knobs: resilient defaults, read from TIMELINE_* variables."""

from __future__ import annotations

import pytest
from timeline.settings import Settings, SettingsError


def test_defaults_are_the_resilient_configuration():
    """With nothing set: fallback, breaker, retries and fan-out recovery are on."""
    settings = Settings.from_env({})
    assert settings.cache_fallback and settings.breaker and settings.fanout_recovery
    assert settings.retries >= 1
    assert settings.cache_timeout_ms < settings.db_timeout_ms


def test_knobs_are_read_from_the_environment():
    """Each field is TIMELINE_<NAME>; booleans accept on/off."""
    settings = Settings.from_env(
        {"TIMELINE_CACHE_FALLBACK": "off", "TIMELINE_RETRIES": "0", "TIMELINE_CELEBRITY_THRESHOLD": "7"}
    )
    assert settings.cache_fallback is False
    assert settings.retries == 0
    assert settings.celebrity_threshold == 7


@pytest.mark.parametrize(
    "env",
    [
        {"TIMELINE_CACHE_FALLBACK": "maybe"},
        {"TIMELINE_RETRIES": "two"},
        {"TIMELINE_RETRIES": "-1"},
        {"TIMELINE_CACHE_TIMEOUT_MS": "0"},
        {"TIMELINE_DEFAULT_LIMIT": "900"},
    ],
)
def test_unusable_values_are_refused(env: dict[str, str]):
    """A value the service cannot use stops it at start, naming the variable."""
    with pytest.raises(SettingsError, match="TIMELINE_"):
        Settings.from_env(env)
