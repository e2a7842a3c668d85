#!/usr/bin/env bash
# Build the five upstream Kubernetes server binaries and kubectl from the k8s.io/kubernetes Go
# module, once. A wrapper module requires k8s.io/kubernetes and replaces each of its
# staging modules (which it names as ./staging/src/...) with the published v0.x tag.
#
#   build.sh        build into $CHAOSKIT_K8S_DIR/bin unless the binaries are already there
#
# The Go build cache (~3 GiB) and module cache (~0.5 GiB) are removed afterwards unless
# CHAOSKIT_K8S_KEEP_GOCACHE=1.
set -euo pipefail
K8S_VERSION=${CHAOSKIT_K8S_VERSION:-v1.34.4}
TOP=${CHAOSKIT_K8S_DIR:-/var/lib/chaoskit/kubernetes}
SRC=$TOP/src BIN=$TOP/bin
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
export PATH=/usr/local/go/bin:$PATH GOFLAGS=-mod=mod CGO_ENABLED=0
export GOCACHE=$TOP/gocache GOMODCACHE=$TOP/gomod

built() {
    local c
    for c in $CMDS; do [ -x "$BIN/$c" ] || return 1; done
    [ "$("$BIN/kubelet" --version 2>/dev/null)" = "Kubernetes $K8S_VERSION" ]
}
if built; then echo "kubernetes $K8S_VERSION binaries present in $BIN"; exit 0; fi
command -v go >/dev/null || { echo "build.sh: Go is needed (https://go.dev/dl; Go >= 1.24)" >&2; exit 2; }

mkdir -p "$SRC" "$BIN"
cd "$SRC"
if ! grep -qs "k8s.io/kubernetes $K8S_VERSION" go.mod; then
    go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
    staging=v0.${K8S_VERSION#v1.}
    mod=$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod
    {
        printf 'module chaoskitk8s\n\ngo 1.24.0\n\ngodebug default=go1.24\n\n'
        printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
        sed -n "s#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 $staging#p" "$mod"
        printf ')\n'
    } >go.mod
    rm -f go.sum
fi
pkgs=""; for c in $CMDS; do pkgs="$pkgs k8s.io/kubernetes/cmd/$c"; done
go list -deps $pkgs >/dev/null   # resolves and downloads (network only)

minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld="$ld -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
start=$(date +%s)
nice -n 10 go build -trimpath -ldflags "$ld" -o "$BIN/" $pkgs
echo "build wall time: $(($(date +%s) - start)) s"
if [ "${CHAOSKIT_K8S_KEEP_GOCACHE:-0}" != 1 ]; then
    go clean -modcache
    rm -rf "$GOCACHE"
fi
built
