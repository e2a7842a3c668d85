#!/usr/bin/env bash
# Build the chaoskit node agent's image, import it into the cluster's containerd, and apply its manifests.
#   compose/kubernetes/agent/deploy.sh          (KUBECONFIG and CHAOSKIT_K8S_DIR as for cluster.sh)
#   compose/kubernetes/agent/deploy.sh delete   remove the agent, its CRD and every FaultAction
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP=${CHAOSKIT_K8S_DIR:-/var/lib/chaoskit/kubernetes}
export KUBECONFIG=${KUBECONFIG:-$TOP/conf/admin.kubeconfig}
SOCK=${CHAOSKIT_K8S_CONTAINERD:-$TOP/run/containerd/containerd.sock}
IMAGE=chaoskit/agent:1

if [ "${1:-}" = delete ]; then
    kubectl delete --ignore-not-found -f "$HERE/agent.yaml" -f "$HERE/crd.yaml"
    exit
fi
# The image is rebuilt when the script changes (the build is cached by Docker otherwise).
DOCKER_BUILDKIT=0 docker build -q -t $IMAGE "$HERE" >/dev/null
docker save $IMAGE | ctr -a "$SOCK" -n k8s.io images import - >/dev/null
kubectl apply -f "$HERE/crd.yaml" >/dev/null
kubectl wait --for=condition=Established crd/faultactions.chaoskit.io --timeout=30s >/dev/null
kubectl apply -f "$HERE/agent.yaml" >/dev/null
# A new image under the same tag: restart the pods so they run it.
kubectl -n chaoskit-system rollout restart daemonset/chaoskit-agent >/dev/null
kubectl -n chaoskit-system rollout status daemonset/chaoskit-agent --timeout=90s >/dev/null
echo "chaoskit agent running on every node"
