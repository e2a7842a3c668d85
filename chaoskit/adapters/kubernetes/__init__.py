"""Kubernetes as a target backend: pods are the targets, a node agent does what only the node can.

The controller (this package, wherever chaoskit runs) speaks only to the API
server: pods are listed, deleted and exec'd into through it, and node-local
work (signalling a container's main process from the host, freezing its
cgroup, finding its processes) is written as a ``FaultAction`` object that the
chaoskit node agent on the pod's node carries out and answers in the object's
status (see ``compose/kubernetes/agent/``). The official ``kubernetes`` client
is an optional extra (``pip install chaoskit[kubernetes]``), imported only
when a Kubernetes environment is used.
"""

from chaoskit.adapters.kubernetes.backend import KubernetesBackend

__all__ = ["KubernetesBackend"]
