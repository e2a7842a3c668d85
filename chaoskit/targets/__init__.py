"""Pure target selection over target descriptions a target backend produces."""

from __future__ import annotations

from chaoskit.targets.container import (
    COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
    Container,
    TargetRef,
)
from chaoskit.targets.resolve import (
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
    "TargetRef",
    "group_by_service",
    "parse_selector",
    "select",
    "service_key",
]
