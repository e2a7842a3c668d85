#!/usr/bin/env bash
# A real single-node Kubernetes cluster (upstream v1.34.4, built from its Go module) for chaoskit.
#
#   compose/kubernetes/cluster.sh up          build once (about 10 min on 2 cores), then start; seconds when cached
#   compose/kubernetes/cluster.sh down [--purge]   stop everything, restore the host; --purge: fresh cluster next time
#   compose/kubernetes/cluster.sh status      components, node, pods
#   compose/kubernetes/cluster.sh deploy      the sample timeline stack (namespace timeline), data loaded
#   compose/kubernetes/cluster.sh undeploy    remove it
#   compose/kubernetes/cluster.sh env         print `export KUBECONFIG=...`
#
# Traffic stays on the machine: the API server listens on 127.0.0.1:6443, NodePorts answer on
# 127.0.0.0/8 only, and the node's address is the pod bridge's gateway (10.244.0.1).
# Environment: CHAOSKIT_K8S_DIR [/var/lib/chaoskit/kubernetes] binaries, state, logs;
#   CHAOSKIT_K8S_API_PORT [30080], CHAOSKIT_K8S_TOXIPROXY_PORT [30474] the stack's NodePorts;
#   TIMELINE_* knobs, CHAOSKIT_USERS, CHAOSKIT_SEED, TIMELINE_API_REPLICAS [2] as for compose/stack.sh.
# Exit codes: 0 done, 1 failed (the message says which step), 2 usage or missing prerequisite.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
for part in pki node teardown stack; do
    # shellcheck disable=SC1090
    . "$HERE/lib/$part.sh"
done

apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -y -qq --no-install-recommends "$@" >/dev/null; }

prereqs() {
    local pkg missing=""
    [ "$(id -u)" -eq 0 ] || { say "the cluster needs root (cgroups, iptables, mounts)"; exit 2; }
    for pkg in etcd-server containernetworking-plugins conntrack containerd runc iptables openssl gcc libc6-dev gettext-base; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        say "installing Debian packages:$missing"
        # Debian's etcd-server would start a system etcd: forbid service starts during the install.
        local policy=/usr/sbin/policy-rc.d own=0
        [ -e $policy ] || { printf '#!/bin/sh\nexit 101\n' >$policy && chmod +x $policy && own=1; }
        # shellcheck disable=SC2086
        local ok=1
        apt_get install $missing || { apt_get update && apt_get install $missing; } || ok=0
        if [ $own = 1 ]; then rm -f $policy; fi
        [ $ok = 1 ] || fail "apt-get install$missing"
    fi
    "$HERE/build.sh" >>"$LOG/build.log" 2>&1 || fail "building Kubernetes (log: $LOG/build.log)"
}

# What `down` restores or removes: recorded once, before `up` changes anything.
record_host() {
    [ -f "$RUN/sysctl.orig" ] && return
    local s ipt table
    for s in $SYSCTLS; do echo "$s=$(sysctl -n "$s")"; done >"$RUN/sysctl.orig.tmp"
    for ipt in iptables ip6tables; do
        for table in mangle nat filter; do
            $ipt -t $table -S 2>/dev/null | awk -v p="$ipt $table" '/^-N (KUBE|CNI)-/ {print p, $2}'
        done
    done >"$RUN/chains.before"
    ls /var/run/netns 2>/dev/null >"$RUN/netns.before" || true
    for s in $HOST_PATHS; do [ -e "$s" ] && echo "$s"; done >"$RUN/paths.before" || true
    mv "$RUN/sysctl.orig.tmp" "$RUN/sysctl.orig"
}

etcd_up() {
    start etcd /usr/bin/etcd --name chaoskit --data-dir "$DATA/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "chaoskit=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
        --snapshot-count 10000 --log-level warn
    waitfor "etcd on 127.0.0.1:$ETCD_PORT" 30 curl -fsS -m 1 "http://127.0.0.1:$ETCD_PORT/health"
}

control_plane_up() {
    start kube-apiserver "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
        --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address="$NODE_IP" \
        --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
        --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$PKI/apiserver-kubelet-client.key" --kubelet-preferred-address-types=InternalIP \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
        --service-cluster-ip-range="$SVC_CIDR" --authorization-mode=Node,RBAC \
        --enable-admission-plugins=NodeRestriction --allow-privileged=true --profiling=false
    waitfor "kube-apiserver /readyz" 120 kubectl get --raw /readyz
    local kc=$CONF/controller-manager.kubeconfig
    start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$kc" \
        --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" --bind-address=127.0.0.1 \
        --leader-elect=false --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
        --use-service-account-credentials=true --cluster-signing-cert-file="$PKI/ca.crt" \
        --cluster-signing-key-file="$PKI/ca.key" --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" \
        --node-cidr-mask-size=24 --service-cluster-ip-range="$SVC_CIDR" --profiling=false
    kc=$CONF/scheduler.kubeconfig
    start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$kc" --authentication-kubeconfig="$kc" \
        --authorization-kubeconfig="$kc" --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

up() {
    local t0=$SECONDS
    mkdir -p "$TOP" "$LOG" "$RUN" "$DATA" "$CONF"
    prereqs
    record_host
    pki
    etcd_up
    control_plane_up
    bridge
    containerd_up
    images
    kubelet_up
    kube_proxy_up
    waitfor "node $NODE Ready" 120 node_ready
    waitfor "kube-proxy /healthz" 60 curl -fsS -m 1 http://127.0.0.1:10256/healthz
    waitfor "the default service account" 60 kubectl -n default get serviceaccount default
    say "up in $((SECONDS - t0)) s; export KUBECONFIG=$KUBECONFIG"
}

status() {
    local c rc=0
    for c in $COMPONENTS; do
        if alive "$c"; then echo "$c: running (pid $(cat "$RUN/$c.pid"))"; else echo "$c: stopped"; rc=3; fi
    done
    [ $rc = 0 ] || return $rc
    kubectl get nodes -o wide
    kubectl get pods -A -o wide
}

case "${1:-}" in
    up) up ;;
    down) shift; down "$@" ;;
    status) status ;;
    deploy) deploy ;;
    undeploy) undeploy ;;
    env) echo "export KUBECONFIG=$KUBECONFIG" ;;
    *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
