"""Pure target selection over container descriptions the adapters produce."""

from __future__ import annotations

from chaoskit.targets.container import (
    COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
    Container,
)
from chaoskit.targets.select import (
    Selection,
    ServiceKey,
    group_by_service,
    select,
    service_key,
)
from chaoskit.targets.selector import SELECTOR_KEYS, Selector, parse_selector

__all__ = [
    "COMPOSE_PROJECT_LABEL",
    "COMPOSE_SERVICE_LABEL",
    "SELECTOR_KEYS",
    "Container",
    "Selection",
    "Selector",
    "ServiceKey",
    "group_by_service",
    "parse_selector",
    "select",
    "service_key",
]
