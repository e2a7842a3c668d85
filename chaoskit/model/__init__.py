"""Experiment files: frozen dataclasses, YAML loading with file:line and key in every problem.

Pure: reads the file it is given and nothing else; imports no adapter.
"""

from __future__ import annotations

from chaoskit.model.actions import ACTION_SIGNATURES
from chaoskit.model.experiment import (
    DEFAULT_TOXIPROXY_URL,
    Action,
    Environment,
    Experiment,
    FaultStep,
    Phases,
)
from chaoskit.model.load import LoadSpec, RequestSpec, TlsSpec, UserDistribution
from chaoskit.model.loader import load_experiment, parse_experiment
from chaoskit.model.params import FaultSignature, ParamSpec, coerce_param
from chaoskit.model.probes import (
    LOAD_METRICS,
    PROBE_TYPES,
    CommandProbe,
    ContainerProbe,
    HttpProbe,
    Hypothesis,
    LoadProbe,
    PendingProbe,
    Probe,
    ReadableProbe,
    StoreCommand,
    ToxiproxyProbe,
    VisibleProbe,
    WriteProbe,
    WriteRequest,
)
from chaoskit.model.source import parse_cli_vars
from chaoskit.model.stop import MetricStop, ProbeStop, StopCondition, parse_metric_stop
from chaoskit.model.units import (
    parse_bytes,
    parse_duration,
    parse_fraction,
    parse_signal,
)

__all__ = [
    "ACTION_SIGNATURES",
    "DEFAULT_TOXIPROXY_URL",
    "LOAD_METRICS",
    "PROBE_TYPES",
    "Action",
    "CommandProbe",
    "ContainerProbe",
    "Environment",
    "Experiment",
    "FaultSignature",
    "FaultStep",
    "HttpProbe",
    "Hypothesis",
    "LoadProbe",
    "LoadSpec",
    "MetricStop",
    "ParamSpec",
    "Phases",
    "PendingProbe",
    "Probe",
    "ProbeStop",
    "ReadableProbe",
    "RequestSpec",
    "StopCondition",
    "StoreCommand",
    "TlsSpec",
    "ToxiproxyProbe",
    "UserDistribution",
    "VisibleProbe",
    "WriteProbe",
    "WriteRequest",
    "coerce_param",
    "load_experiment",
    "parse_bytes",
    "parse_cli_vars",
    "parse_duration",
    "parse_experiment",
    "parse_fraction",
    "parse_metric_stop",
    "parse_signal",
]
