"""environment.kubernetes and pod selectors: an experiment differs from its Docker twin only there."""

from __future__ import annotations

from chaoskit.model.experiment import KubernetesEnvironment
from chaoskit.targets import Selector, parse_selector

from .test_loader import BASE, parse, problems


def test_a_kubernetes_environment_with_pod_selectors():
    """The cluster settings are parsed with their defaults; namespace and owner are selector keys."""
    text = BASE.replace("environment: {compose_project: chaoskit}",
                        "environment: {kubernetes: {namespace: shop, kubeconfig: /k.conf}}")
    text = text.replace("target: {service: redis}", "target: {owner: Deployment/redis, count: 1, max_fraction: 0.5}")
    experiment = parse(text)
    assert experiment.environment.kubernetes == KubernetesEnvironment(namespace="shop", kubeconfig="/k.conf")
    assert experiment.method[0].target == Selector(owner="Deployment/redis", count=1, max_fraction=0.5)


def test_unknown_kubernetes_keys_are_problems():
    """A misspelt key under environment.kubernetes is reported at its line."""
    text = BASE.replace("environment: {compose_project: chaoskit}", "environment: {kubernetes: {namespcae: shop}}")
    assert any("namespcae" in str(p) for p in problems(text))


def test_selector_strings_round_trip_namespace_and_owner():
    """The string form carries namespace and owner, and reads back the same selector."""
    selector = parse_selector("namespace=shop owner=api count=1 max_fraction=50%")
    assert selector == Selector(namespace="shop", owner="api", count=1, max_fraction=0.5)
    assert parse_selector(str(selector)) == selector
