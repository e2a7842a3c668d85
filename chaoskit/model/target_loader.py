"""What a step, rollback or probe acts on: its container selector, and its parameters checked against a signature."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaoskit.model.checker import Checker, describe_kind, suggest
from chaoskit.model.params import FaultSignature, ParamSpec, coerce_param
from chaoskit.model.source import Located
from chaoskit.model.units import parse_fraction
from chaoskit.targets.selector import SELECTOR_KEYS, Selector, parse_selector

__all__ = ["TargetChecker"]


class TargetChecker(Checker):
    """The checker, taught ``target:`` selectors and ``params:`` (or ``proxy:``) checked against a signature."""

    def selector(self, node: Located, project: str | None, default_state: str | None = "running") -> Selector | None:
        if isinstance(node.value, str):
            try:
                selector = parse_selector(node.value)
            except ValueError as exc:
                self.problem(node, str(exc))
                return None
            # The string form always says its state; "running" is the default only when not written.
            if "state=" not in node.value:
                selector = Selector(**{**selector.as_dict(), "state": default_state})
            return selector.with_default_project(project)
        before = self.count()
        keys = self.mapping(node, SELECTOR_KEYS)
        if keys is None:
            return None
        values: dict[str, Any] = {"state": default_state}
        for key in ("name", "service", "project", "namespace", "owner"):
            if key in keys:
                values[key] = self.text(keys[key])
        if "state" in keys:
            state = self.text(keys["state"])
            values["state"] = None if state == "any" else state
        if "labels" in keys:
            values["labels"] = self.string_map(keys["labels"])
        for key in ("count", "max_count"):
            if key in keys:
                values[key] = self.number(keys[key], minimum=1, integer=True)
        if "percent" in keys:
            raw = keys["percent"]
            values["percent"] = self.convert(
                raw,
                lambda v: (
                    parse_fraction(v) * 100 if isinstance(v, str) and v.strip().endswith("%") else _plain_number(v)
                ),
            )
        if "max_fraction" in keys:
            values["max_fraction"] = self.convert(keys["max_fraction"], parse_fraction)
        if "scope" in keys:
            values["scope"] = self.text(keys["scope"])
        if "uncapped" in keys:
            values["uncapped"] = self.boolean(keys["uncapped"])
        if self.count() != before:
            return None
        try:
            return Selector(**values).with_default_project(project)
        except ValueError as exc:
            self.problem(node, str(exc))
            return None

    def target_and_params(
        self,
        node: Located,
        keys: dict[str, Located],
        kind: str | None,
        signature: FaultSignature | None,
        project: str | None,
        default_state: str | None,
    ) -> tuple[Selector | None, Mapping[str, Any]]:
        """The selector and the parameters, typed and completed with their defaults (see :class:`Params`)."""
        target = self.selector(keys["target"], project, default_state) if "target" in keys else None
        raw = self.raw_params(keys)
        if signature is None:
            return target, {k: v.plain() for k, v in raw.items()}
        if signature.target == "required" and "target" not in keys:
            self.problem(
                node,
                f"{kind} needs a target: (a container selector such as {{service: redis}})",
                path=node.child_path("target"),
            )
        elif signature.target == "none" and "target" in keys:
            hint = " (it addresses a Toxiproxy proxy: use proxy:)" if signature.param("proxy") else ""
            self.problem(keys["target"], f"{kind} takes no target{hint}")
        return target, self.typed_params(node, keys, kind, signature, raw)

    def raw_params(self, keys: dict[str, Located]) -> dict[str, Located]:
        """``params:`` as given, with the ``proxy:`` shorthand folded in."""
        raw: dict[str, Located] = {}
        if "params" in keys:
            given = keys["params"]
            if isinstance(given.value, dict):
                raw = dict(given.value)
            else:
                self.problem(given, f"expected a mapping of parameters; got {describe_kind(given.value)}")
        if "proxy" in keys:
            # `proxy:` beside `fault:` is shorthand for params.proxy (network faults address a proxy, not a container).
            if "proxy" in raw:
                self.problem(keys["proxy"], "proxy is given twice (here and under params)")
            raw["proxy"] = keys["proxy"]
        return raw

    def typed_params(self, node: Located, keys: dict[str, Located], kind: str | None, signature: FaultSignature,
                     raw: dict[str, Located]) -> Mapping[str, Any]:
        """Each parameter checked against the signature, then completed with its defaults."""
        params: dict[str, Any] = {}
        params_path = node.child_path("params")
        names = [p.name for p in signature.params]
        for key, value_node in raw.items():
            spec = signature.param(key)
            if spec is None:
                if key == "proxy" and "proxy" in keys:
                    self.problem(
                        keys["proxy"],
                        f"{kind} takes no proxy" + (" (it takes target:)" if signature.target != "none" else ""),
                    )
                else:
                    expected = ", ".join(names) or "no parameters"
                    self.problem(
                        value_node, f"unknown parameter for {kind}{suggest(key, names)} (expected: {expected})"
                    )
                continue
            value = self.param_value(value_node, spec)
            if value is not None:
                params[key] = value
        for name, problem in signature.unmet(raw):
            self.problem(
                keys.get("params", node),
                f"{kind} {problem}",
                path=f"{params_path}.{name}" if name else params_path,
            )
        return signature.complete(params)

    def guard_fault_target(self, node: Located, keys: dict[str, Located], kind: str | None,
                           signature: FaultSignature | None, target: Selector | None, params: Mapping[str, Any],
                           require_labels: Mapping[str, str]) -> Selector | None:
        """A fault step's blast-radius guards; its selector with the environment's required labels added."""
        if signature is not None and signature.host_wide:
            scope = params.get("scope")
            if target is None and scope != "host":
                self.problem(node, f"{kind} without a target acts on every matching process of the host: give a "
                                   f"target, or say so with params: {{scope: host}}", path=node.child_path("params"))
            elif target is not None and scope == "host":
                self.problem(keys["params"], f"{kind}: scope: host is for a step without a target")
        if target is None:
            return None
        if target.is_wildcard and not target.is_capped and not target.uncapped:
            self.problem(keys["target"], f"selector '{target}' may match many services and nothing caps how many "
                                         f"it hits: add count, percent, max_fraction or max_count, or say "
                                         f"uncapped: true")
        if not require_labels:
            return target
        try:
            return target.requiring(require_labels)
        except ValueError as exc:
            self.problem(keys["target"], str(exc))
            return target

    def required_labels(self, node: Located) -> dict[str, str]:
        """``environment.require_label``: ``KEY=VALUE`` (or a mapping of them) every fault target must carry."""
        if isinstance(node.value, str):
            key, sep, value = node.value.partition("=")
            if sep and key.strip() and value.strip():
                return {key.strip(): value.strip()}
            self.problem(node, f"expected KEY=VALUE (chaoskit.enabled=true); got {node.value!r}")
            return {}
        return self.string_map(node) or {}

    def param_value(self, node: Located, spec: ParamSpec) -> Any:
        if node.value is None:
            self.problem(node, f"expected a value ({spec.describe()})")
            return None
        if spec.type == "any":
            return node.plain()
        try:
            return coerce_param(spec, node.plain())
        except ValueError as exc:
            self.problem(node, str(exc))
            return None


def _plain_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a percentage like 50 or 50%; got {value!r}")
    return float(value)
