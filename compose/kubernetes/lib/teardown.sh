# `down`: stop what `up` started (by pid file) and undo every change it made to the host.

# While everything still runs, let the kubelet take the pods down properly (CNI DEL, unmounts).
drain() {
    local ns i
    alive kube-apiserver && alive kubelet && alive containerd || return 0
    for ns in $(kubectl get ns -o jsonpath='{.items[*].metadata.name}' 2>/dev/null); do
        kubectl -n "$ns" delete deploy,rs,ds,sts,job,pod --all --wait=false --grace-period=2 >/dev/null 2>&1
    done
    for i in $(seq 60); do
        [ -z "$(ctr_k8s tasks ls -q 2>/dev/null)" ] && return 0
        sleep 1
    done
    say "pods still running after 60 s: killing them"
}

# Whatever the kubelet left in our containerd: kill the tasks, remove the containers.
sweep_containerd() {
    local t c
    alive containerd || return 0
    for t in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$t" >/dev/null 2>&1; done
    sleep 1
    for t in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks rm -f "$t" >/dev/null 2>&1; done
    for c in $(ctr_k8s containers ls -q 2>/dev/null); do ctr_k8s containers rm "$c" >/dev/null 2>&1; done
}

# Shims our containerd started: their command line names our socket.
kill_shims() {
    local p
    for p in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $CTRD_SOCK"); do
        kill -KILL "$p" 2>/dev/null && say "killed shim $p"
    done
}

unmount_and_netns() {
    local m ns
    for m in $(awk -v t="$TOP/" 'index($2, t) == 1 {print $2}' /proc/self/mounts | sort -r); do
        umount -l "$m" 2>/dev/null
    done
    for ns in $(ls /var/run/netns 2>/dev/null | grep '^cni-'); do
        grep -qx "$ns" "$RUN/netns.before" 2>/dev/null && continue
        ip netns pids "$ns" 2>/dev/null | grep -q . && continue
        ip netns delete "$ns" 2>/dev/null
    done
}

# delete_jumps TABLE PARENT CHAIN: remove every rule of PARENT that jumps to CHAIN.
delete_jumps() {
    local ipt=$1 table=$2 parent=$3 chain=$4 rule
    $ipt -t "$table" -S "$parent" 2>/dev/null | grep -- "-j $chain\( \|\$\)" | sed 's/^-A/-D/' |
        while read -r rule; do eval "$ipt -t $table $rule"; done
}

# chains IPT TABLE: the KUBE-* and CNI-* chains of TABLE.
chains() { $1 -t "$2" -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/ {print $2}'; }

# Every KUBE-* and CNI-* chain that `up` did not find there. Chains jump to each other:
# unhook and flush them all before deleting any.
iptables_clean() {
    local ipt table chain parent ours
    [ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1
    # Without up's record, nothing tells ours from someone else's.
    [ -f "$RUN/chains.before" ] || return 0
    for ipt in iptables ip6tables; do
        for table in mangle nat filter; do
            ours=$(chains "$ipt" "$table" | grep -vxF -f <(grep "^$ipt $table " "$RUN/chains.before" 2>/dev/null | cut -d' ' -f3) || true)
            for chain in $ours; do
                for parent in INPUT OUTPUT FORWARD PREROUTING POSTROUTING; do delete_jumps "$ipt" "$table" "$parent" "$chain"; done
                $ipt -t "$table" -F "$chain"
            done
            for chain in $ours; do $ipt -t "$table" -X "$chain"; done
        done
    done
    rm -f "$RUN/chains.before"
}

# Paths outside $TOP: removed only if `up` found them absent, and only what is empty or ours.
host_paths_clean() {
    local l p
    rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/DEPRECATION
    for l in /var/log/containers/*.log; do
        [ -L "$l" ] && readlink "$l" | grep -q "^$DATA/" && rm -f "$l"
    done
    [ -f "$RUN/paths.before" ] || return 0
    for p in $HOST_PATHS; do
        grep -qx "$p" "$RUN/paths.before" && continue
        [ -d "$p" ] && find "$p" -depth -type d -empty -delete 2>/dev/null
    done
    rm -f "$RUN/paths.before" "$RUN/netns.before"
}

restore_sysctls() {
    local key value
    [ -f "$RUN/sysctl.orig" ] || return 0
    while IFS== read -r key value; do sysctl -qw "$key=$value" 2>/dev/null; done <"$RUN/sysctl.orig"
    rm -f "$RUN/sysctl.orig"
}

down() {
    local c
    # Best effort from here on: one step failing must not leave the rest undone.
    set +e
    drain
    stop kube-proxy
    stop kubelet
    sweep_containerd
    stop containerd
    kill_shims
    for c in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$c"; done
    unmount_and_netns
    iptables_clean
    ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
    rm -rf "$DATA/cni/ipam"
    # The kubelet's cgroup v1 tree in every hierarchy (only empty cgroups can be removed, deepest first).
    for c in /sys/fs/cgroup/*/kubepods; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null; done
    host_paths_clean
    restore_sysctls
    if [ "${1:-}" = --purge ]; then
        rm -rf "$DATA" "$PKI" "$CONF" "$RUN" "$LOG" "$TOP/stack"
        say "state purged (binaries and images kept in $TOP)"
    fi
    say "down"
}
