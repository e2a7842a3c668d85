# The node: the pod bridge, a containerd of our own (Docker's is not touched), CNI,
# images imported from Docker, the kubelet and kube-proxy.

# The bridge carries the node's address; the CNI bridge plugin then adopts it as it is.
# Service addresses are routed onto the bridge too: a connection to a ClusterIP that kube-proxy has not
# programmed yet then dies on this machine instead of following the default route off it.
bridge() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$NODE_IP/24" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    ip route replace "$SVC_CIDR" dev "$BRIDGE"
}

containerd_config() {
    mkdir -p "$DATA/containerd" "$RUN/containerd" "$CONF/cni" "$DATA/cni"
    put "$CONF/containerd.toml" <<TOML
version = 2
root = "$DATA/containerd"
state = "$RUN/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$CTRD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DATA/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # This VM's capability bounding set lacks CAP_SYS_RESOURCE, so runc cannot lower a
  # sandbox's oom_score_adj to -998 and every sandbox fails; clamp to containerd's own score.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CONF/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
TOML
    # firewall: Docker sets the FORWARD policy to DROP; the plugin accepts the pods' traffic.
    put "$CONF/cni/10-chaoskit.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NAME",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$DATA/cni/ipam",
              "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"}
  ]
}
JSON
}

containerd_up() {
    containerd_config
    start containerd /usr/bin/containerd --config "$CONF/containerd.toml"
    waitfor "containerd's socket" 30 ctr -a "$CTRD_SOCK" version
}

# The sandbox ("pause") image comes from no registry: a static C program, imported as an image.
pause_tar() {
    local dir=$TOP/images/pause
    [ -f "$dir/pause.tar" ] && return
    mkdir -p "$dir"
    gcc -Os -static -o "$dir/pause" "$HERE/pause.c" && strip "$dir/pause"
    tar -C "$dir" -c pause | docker import --change 'ENTRYPOINT ["/pause"]' - "$PAUSE_IMAGE" >/dev/null
    docker save "$PAUSE_IMAGE" -o "$dir/pause.tar.tmp" && mv "$dir/pause.tar.tmp" "$dir/pause.tar"
    docker rmi "$PAUSE_IMAGE" >/dev/null
}

# images IMAGE...: import Docker's images into our containerd, again only when Docker's image id changed.
images() {
    local stamp=$DATA/images.imported want have missing=""
    pause_tar
    if ! ctr_k8s images ls -q | grep -q "/$PAUSE_IMAGE\$"; then
        ctr_k8s images import "$TOP/images/pause/pause.tar" >/dev/null || fail "ctr images import $PAUSE_IMAGE"
    fi
    [ $# -gt 0 ] || return 0
    for image in "$@"; do
        docker image inspect "$image" >/dev/null 2>&1 || missing="$missing $image"
    done
    [ -z "$missing" ] || { say "images missing in Docker:$missing (build them with ./setup.sh)"; exit 2; }
    want=$(docker image inspect -f '{{.Id}}' "$@" | tr '\n' ' ')
    have=$(cat "$stamp" 2>/dev/null || true)
    [ "$want" = "$have" ] && ctr_k8s images ls -q | grep -q "/${1%%:*}:" && return
    say "importing into the cluster's containerd: $*"
    docker save "$@" | ctr_k8s images import --all-platforms - >/dev/null || fail "ctr images import $*"
    echo "$want" >"$stamp"
}

kubelet_up() {
    mkdir -p "$DATA/kubelet"
    put "$CONF/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://$CTRD_SOCK
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
failSwapOn: false
resolvConf: /etc/resolv.conf
# Images come from no registry: garbage-collecting them would lose them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
podLogsDir: $DATA/pod-logs
serializeImagePulls: false
rotateCertificates: false
YAML
    # A restarted containerd answers before its CRI service has recovered its state, and the
    # kubelet exits at once if it meets that ("server is not initialized yet"): start it again.
    local try i
    for try in 1 2 3 4 5 6; do
        start kubelet "$BIN/kubelet" --config="$CONF/kubelet.yaml" --kubeconfig="$CONF/kubelet.kubeconfig" \
            --root-dir="$DATA/kubelet" --cert-dir="$DATA/kubelet/pki" --hostname-override="$NODE" --node-ip="$NODE_IP"
        for i in $(seq 50); do
            curl -fsS -m 1 http://127.0.0.1:10248/healthz >/dev/null 2>&1 && return 0
            alive kubelet || break
            sleep 0.2
        done
        say "the kubelet is not healthy yet (try $try): $(tail -1 "$LOG/kubelet.log" | cut -c1-200)"
        sleep 1
    done
    fail "the kubelet did not start (log: $LOG/kubelet.log)"
}

# NodePorts answer on loopback only (127.0.0.0/8); conntrack sysctls are left alone.
kube_proxy_up() {
    put "$CONF/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CONF/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["127.0.0.0/8"]
iptables: {localhostNodePorts: true}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
    start kube-proxy "$BIN/kube-proxy" --config="$CONF/kube-proxy.yaml"
}

# Ready as posted by a kubelet that runs now (a stale Ready lasts 40 s after the kubelet stops).
node_ready() {
    curl -fsS -m 1 http://127.0.0.1:10248/healthz >/dev/null 2>&1 &&
        kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True
}
