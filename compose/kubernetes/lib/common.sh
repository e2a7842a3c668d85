# Shared by cluster.sh and its parts: where things live, and process helpers.
# Every path the cluster writes is under $TOP, except the few the kubelet and
# libcni hard-code (recorded at `up`, removed at `down` if they were not there before).

TOP=${CHAOSKIT_K8S_DIR:-/var/lib/chaoskit/kubernetes}
BIN=$TOP/bin PKI=$TOP/pki CONF=$TOP/conf DATA=$TOP/data RUN=$TOP/run LOG=$TOP/logs
NODE=chaoskit
POD_CIDR=10.244.0.0/16 NODE_POD_CIDR=10.244.0.0/24
# The node's address is the pod bridge's gateway, made by `up` before the kubelet starts:
# the kubelet and the API server's "kubernetes" endpoint never use the machine's own address.
NODE_IP=10.244.0.1 BRIDGE=k8s0
SVC_CIDR=10.96.0.0/16 SVC_APISERVER_IP=10.96.0.1
API_PORT=6443 ETCD_PORT=23790 ETCD_PEER_PORT=23800
CTRD_SOCK=$RUN/containerd/containerd.sock
PAUSE_IMAGE=chaoskit/pause:1
CNI_NAME=chaoskit-k8s
# Kernel tunables the kubelet and kube-proxy change while they run; `down` puts them back.
SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables"
# Paths outside $TOP that the kubelet, containerd's CNI cache or libcni create.
HOST_PATHS="/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/netns /var/run/netns"
export KUBECONFIG=$CONF/admin.kubeconfig

say() { printf 'cluster: %s\n' "$*" >&2; }
fail() { printf 'cluster: failed: %s\n' "$*" >&2; exit 1; }
kubectl() { "$BIN/kubectl" "$@"; }
ctr_k8s() { ctr -a "$CTRD_SOCK" -n k8s.io "$@"; }

# put FILE: write stdin to FILE only if it differs (kube-proxy exits when its config file changes).
put() { local c; c=$(cat); [ "$c" = "$(cat "$1" 2>/dev/null)" ] || printf '%s\n' "$c" >"$1"; }

# pids_of NAME: the processes of this cluster's NAME: program NAME with a path under $TOP on its
# command line (its binary, config or data). Found this way, not only by pid file, so that a
# component restarted by hand is still stopped by `down` and not started twice by `up`.
pids_of() {
    local name=$1 dir argv
    for dir in /proc/[0-9]*; do
        { mapfile -d '' -t argv <"$dir/cmdline"; } 2>/dev/null || continue
        [ "${#argv[@]}" -gt 1 ] && [ "${argv[0]##*/}" = "$name" ] || continue
        case " ${argv[*]}" in *" $TOP/"* | *"=$TOP/"*) echo "${dir#/proc/}" ;; esac
    done
}

# alive NAME: the component runs; its pid file is brought up to date.
alive() {
    local pid
    pid=$(pids_of "$1" | head -1)
    [ -n "$pid" ] || return 1
    echo "$pid" >"$RUN/$1.pid"
}

# start NAME CMD...: run CMD in its own session, log to $LOG/NAME.log, pid in $RUN/NAME.pid.
start() {
    local name=$1
    shift
    alive "$name" && return
    setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
    say "started $name (pid $!, log $LOG/$name.log)"
}

# stop NAME: SIGTERM every process of the component, SIGKILL what is left after 20 s.
stop() {
    local name=$1 pids left i
    pids=$(pids_of "$name")
    rm -f "$RUN/$name.pid"
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    for i in $(seq 100); do
        [ -z "$(pids_of "$name")" ] && break
        sleep 0.2
    done
    left=$(pids_of "$name")
    # shellcheck disable=SC2086
    [ -z "$left" ] || kill -KILL $left 2>/dev/null
    say "stopped $name (pid $(echo $pids))"
}

# waitfor DESC SECONDS CMD...: poll CMD every 0.2 s.
waitfor() {
    local desc=$1 limit=$2 i
    shift 2
    for i in $(seq $((limit * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    fail "$desc did not happen within $limit s (logs: $LOG)"
}

COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy"
