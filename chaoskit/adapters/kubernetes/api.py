"""The one chokepoint for the ``kubernetes`` client: plain dicts out, chaoskit's errors on failure.

Responses are read as raw JSON (``_preload_content=False``), not the
client's model objects: listing a hundred pods stays fast, and the dicts are
what the pure parsers in :mod:`chaoskit.adapters.kubernetes.pods` read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from chaoskit.errors import BackendError, EngineUnavailable, TargetNotFound

__all__ = ["ACTION_GROUP", "ACTION_PLURAL", "ACTION_VERSION", "KubeApi"]

ACTION_GROUP, ACTION_VERSION, ACTION_PLURAL = "chaoskit.io", "v1alpha1", "faultactions"
_TIMEOUT_S = 15


class KubeApi:
    """A connected client; :meth:`connect` reads the kubeconfig (no request is made until the first call)."""

    def __init__(self, api_client: Any, where: str):
        from kubernetes import client

        self.where = where
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.coordination = client.CoordinationV1Api(api_client)

    @classmethod
    def connect(cls, kubeconfig: str | None = None, context: str | None = None) -> KubeApi:
        try:
            from kubernetes import config
        except ImportError:
            raise BackendError("a Kubernetes environment needs the kubernetes client: "
                               "pip install 'chaoskit[kubernetes]'") from None
        try:
            api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        except (config.ConfigException, OSError, TypeError) as exc:
            raise EngineUnavailable(f"cannot read kubeconfig {kubeconfig or '(default)'}: {exc}") from exc
        return cls(api_client, api_client.configuration.host)

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as exc:
            if exc.status == 404:
                raise TargetNotFound(f"{what}: not found") from exc
            raise BackendError(f"{what}: {exc.status} {_reason(exc)}") from exc
        except (HTTPError, OSError) as exc:
            raise EngineUnavailable(f"the Kubernetes API at {self.where} did not answer ({what}): {exc}") from exc

    # -- pods --------------------------------------------------------------------------
    def list_pods(self, namespace: str | None, label_selector: str = "") -> list[dict[str, Any]]:
        with self.errors(f"list pods in {namespace or 'all namespaces'}"):
            if namespace is None:
                response = self.core.list_pod_for_all_namespaces(label_selector=label_selector,
                                                                 _preload_content=False, _request_timeout=_TIMEOUT_S)
            else:
                response = self.core.list_namespaced_pod(namespace, label_selector=label_selector,
                                                         _preload_content=False, _request_timeout=_TIMEOUT_S)
            return list(json.loads(response.data)["items"])

    def read_pod(self, namespace: str, name: str) -> dict[str, Any]:
        with self.errors(f"pod {namespace}/{name}"):
            response = self.core.read_namespaced_pod(name, namespace, _preload_content=False,
                                                     _request_timeout=_TIMEOUT_S)
            return dict(json.loads(response.data))

    def delete_pod(self, namespace: str, name: str, grace_s: int | None, uid: str | None = None) -> None:
        """Delete the pod (only the one with ``uid``, if given: never its replacement of the same name)."""
        from kubernetes import client

        body = client.V1DeleteOptions(grace_period_seconds=grace_s,
                                      preconditions=client.V1Preconditions(uid=uid) if uid else None)
        with self.errors(f"delete pod {namespace}/{name}"):
            self.core.delete_namespaced_pod(name, namespace, body=body, _request_timeout=_TIMEOUT_S)

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str],
             timeout_s: float = 60) -> tuple[int, str]:
        """Run ``argv`` in the container over the websocket exec API: (exit code, stdout + stderr)."""
        from kubernetes.stream import stream

        with self.errors(f"exec in {namespace}/{pod}/{container}"):
            output = ""
            ws = stream(self.core.connect_get_namespaced_pod_exec, pod, namespace, container=container,
                        command=list(argv), stdin=False, stdout=True, stderr=True, tty=False,
                        _preload_content=False)
            try:
                ws.run_forever(timeout=timeout_s)
                # The status channel says how it ended (read it first: read_all() drops it); none at all:
                # the container went away mid-exec.
                code = ws.returncode if not ws.is_open() else None
                output = ws.read_all()
            except (TypeError, ValueError) as exc:  # no status, or a failure message where a code should be
                code, output = None, str(exc)
            finally:
                ws.close()
        if code is None:
            raise BackendError(f"exec in {namespace}/{pod}/{container} did not finish within {timeout_s:g}s "
                               f"or the container stopped: {output.strip()[:200]}")
        return int(code), output

    # -- fault actions (the node agent's work) -------------------------------------------
    def create_action(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.errors(f"create FaultAction in {namespace}"):
            return dict(self.custom.create_namespaced_custom_object(
                ACTION_GROUP, ACTION_VERSION, namespace, ACTION_PLURAL, dict(body), _request_timeout=_TIMEOUT_S))

    def read_action(self, namespace: str, name: str) -> dict[str, Any]:
        with self.errors(f"FaultAction {namespace}/{name}"):
            return dict(self.custom.get_namespaced_custom_object(
                ACTION_GROUP, ACTION_VERSION, namespace, ACTION_PLURAL, name, _request_timeout=_TIMEOUT_S))

    def list_actions(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        with self.errors(f"list FaultActions in {namespace}"):
            listed = self.custom.list_namespaced_custom_object(
                ACTION_GROUP, ACTION_VERSION, namespace, ACTION_PLURAL, label_selector=label_selector,
                _request_timeout=_TIMEOUT_S)
            return list(listed["items"])

    def patch_action(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        with self.errors(f"patch FaultAction {namespace}/{name}"):
            self.custom.patch_namespaced_custom_object(ACTION_GROUP, ACTION_VERSION, namespace, ACTION_PLURAL,
                                                       name, dict(patch), _request_timeout=_TIMEOUT_S)

    def delete_action(self, namespace: str, name: str) -> None:
        try:
            with self.errors(f"delete FaultAction {namespace}/{name}"):
                self.custom.delete_namespaced_custom_object(ACTION_GROUP, ACTION_VERSION, namespace, ACTION_PLURAL,
                                                            name, _request_timeout=_TIMEOUT_S)
        except TargetNotFound:
            pass


def _reason(exc: Any) -> str:
    try:
        return str(json.loads(exc.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(exc.reason)
