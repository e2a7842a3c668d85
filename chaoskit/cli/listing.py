"""``chaoskit faults``, ``chaoskit probes`` and ``chaoskit targets``: what can be injected, observed, and into what."""

from __future__ import annotations

import sys

import click

from chaoskit.cli.common import DOCKER_HOST_OPTION, JSON_OPTION, echo_json, handle_errors
from chaoskit.cli.exits import ExitCode

__all__ = ["faults", "probes", "targets"]

_TARGET_TEXT = {"required": "target: required", "optional": "target: optional (host without)", "none": "no target"}


@click.command()
@JSON_OPTION
def faults(as_json: bool) -> None:
    """List the fault catalogue: every fault type with its parameters, and where it comes from.

    Faults come built in or from installed plugins (packages registering
    entry points under chaoskit.faults); a plugin that cannot be used is named
    in a plugin.refused warning on stderr, and the rest of the list is unaffected.

    \b
    Examples:
      chaoskit faults
      chaoskit faults --json | jq '.[] | select(.type == "network.latency")'
      chaoskit faults --json | jq '.[] | select(.origin != "built-in") | .type'
    """
    from chaoskit.faults.catalogue import catalogue

    found = catalogue()  # a refused plugin is logged (plugin.refused) on stderr, once
    if as_json:
        echo_json([{"type": kind, "origin": found.origins[kind], "target": cls.signature.target,
                    "doc": cls.signature.doc, "params": cls.signature.params, "one_of": cls.signature.one_of}
                   for kind, cls in found.faults.items()])
        return
    for kind, cls in found.faults.items():
        sig = cls.signature
        click.echo(f"{kind}  [{_TARGET_TEXT[sig.target]}]  ({found.origins[kind]})")
        click.echo(f"    {sig.doc}")
        for spec in sig.params:
            click.echo(f"    - {spec.describe()}")
        for group in sig.one_of:
            click.echo(f"    (exactly one of: {', '.join(group)})")


@click.command()
@JSON_OPTION
def probes(as_json: bool) -> None:
    """List the probe types a steady state may use: built in, and from installed plugins.

    A plugin's probe (a package registering an entry point under
    chaoskit.probes) is shown with its parameters and what one reading is;
    a plugin that cannot be used is named in a plugin.refused warning on stderr.

    \b
    Examples:
      chaoskit probes
      chaoskit probes --json | jq '.[] | select(.origin != "built-in") | .type'
    """
    from chaoskit.adapters.probe_plugins import probe_catalogue
    from chaoskit.model.probe_loader import PROBE_KEYS

    found = probe_catalogue()  # a refused plugin is logged (plugin.refused) on stderr, once
    listed = [{"type": kind, "origin": "built-in", "reading": None, "doc": "", "params": (),
               "keys": keys, "required": required} for kind, (keys, required) in PROBE_KEYS.items()]
    listed += [{"type": kind, "origin": found.origins[kind], "reading": cls.signature.reading,
                "doc": cls.signature.doc, "params": cls.signature.params, "secret": cls.signature.secret}
               for kind, cls in found.probes.items()]
    if as_json:
        echo_json(listed)
        return
    for entry in listed:
        if entry["reading"] is None:
            keys = ", ".join(f"{k} (required)" if k in entry["required"] else k for k in (*entry["keys"], "tolerance"))
            click.echo(f"{entry['type']}  (built-in)  keys: {keys}")
            continue
        click.echo(f"{entry['type']}  [reading: {entry['reading']}]  ({entry['origin']})")
        click.echo(f"    {entry['doc']}")
        for spec in entry["params"]:
            click.echo(f"    - {spec.describe()}" + (" (secret)" if spec.name in entry["secret"] else ""))


@click.command()
@click.argument("selector")
@click.option("--project", default=None, help="Compose project to scope a service selector to.")
@click.option("--seed", type=int, default=None, help="Seed for count/percent picks (same seed, same pick).")
@DOCKER_HOST_OPTION
@click.option("--kubeconfig", default=None, help="Select pods of a Kubernetes cluster (this kubeconfig) instead.")
@click.option("--namespace", default=None, help="Kubernetes namespace of the pods (implies the cluster).")
@JSON_OPTION
@handle_errors
def targets(selector: str, project: str | None, seed: int | None, docker_host: str | None,
            kubeconfig: str | None, namespace: str | None, as_json: bool) -> None:
    """Show what SELECTOR resolves to now, without touching it.

    \b
    Examples:
      chaoskit targets 'service=api count=1 max_fraction=0.5' --project chaoskit
      chaoskit targets 'label=chaos.monkey=true percent=50%' --seed 7
      chaoskit targets 'chaoskit-api-*' --json
      chaoskit targets 'owner=api count=1 max_fraction=0.5' --namespace timeline --kubeconfig admin.kubeconfig
    """
    from chaoskit.adapters.backends import Backends
    from chaoskit.errors import TargetNotFound
    from chaoskit.run.observe import resolve
    from chaoskit.targets.selector import parse_selector

    try:
        parsed = parse_selector(selector)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SELECTOR") from exc
    try:
        kubernetes = {"kubeconfig": kubeconfig, "namespace": namespace} if kubeconfig or namespace else None
        selection = resolve(Backends(docker_host, kubernetes=kubernetes), parsed, project, seed)
    except TargetNotFound as exc:
        click.echo(f"chaoskit: no target: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    if as_json:
        echo_json({"selector": selector, "chosen": selection.chosen, "candidates": selection.candidates,
                   "notes": selection.notes})
        return
    for container in selection.chosen:
        click.echo(container.describe())
    click.echo(f"{len(selection.chosen)} of {selection.candidates} candidate(s)", err=True)
    for note in selection.notes:
        click.echo(f"note: {note}", err=True)
