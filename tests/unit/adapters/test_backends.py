"""Backends: which target backend an environment gets, and the record a ledger keeps to rebuild it."""

from __future__ import annotations

from chaoskit.adapters.backends import Backends


def test_the_record_rebuilds_the_same_world():
    """Docker host, Toxiproxy URL and the Kubernetes settings survive a record round trip."""
    backends = Backends("tcp://127.0.0.1:2375", "http://127.0.0.1:18474",
                        kubernetes={"namespace": "shop", "kubeconfig": "/k.conf", "context": None})
    again = Backends.from_record({"kind": "pod.delete", **backends.record()})
    assert again.record() == backends.record()
    assert again.kubernetes == {"namespace": "shop", "kubeconfig": "/k.conf"}


def test_a_docker_record_has_no_kubernetes():
    """Records of Docker runs keep the keys they always had."""
    assert Backends().record() == {"docker_host": None, "toxiproxy_url": "http://127.0.0.1:8474"}
    assert Backends.from_record({}).kubernetes is None
