# `deploy` / `undeploy`: the sample timeline stack in the namespace "timeline".

STACK_NS=timeline
STACK_IMAGES="chaoskit/postgres:latest chaoskit/redis:latest chaoskit/nginx:latest chaoskit/timeline:latest chaoskit/toxiproxy:2.12.0"
STACK_DIR=$TOP/stack
# Set by docker-compose.yml, not knobs of the service; the manifest sets them for the cluster.
NOT_KNOBS='^TIMELINE_(DB_DSN|REDIS_HOST|REDIS_PORT|METRICS_DIR|API_REPLICAS|API_CPUS|[A-Z]+_RESTART)='

# The knobs ConfigMap's data: every TIMELINE_* of this shell (and the data set's size and seed).
knobs() {
    env | grep -E '^(TIMELINE_[A-Z0-9_]+|CHAOSKIT_USERS|CHAOSKIT_SEED)=' | grep -Ev "$NOT_KNOBS" | LC_ALL=C sort
}

configmaps() {
    local compose=$HERE/..
    kubectl -n "$STACK_NS" create configmap timeline-knobs --from-env-file=<(knobs) \
        --dry-run=client -o yaml
    echo ---
    kubectl -n "$STACK_NS" create configmap toxiproxy-config --from-file="$compose/toxiproxy.json" \
        --dry-run=client -o yaml
    echo ---
    kubectl -n "$STACK_NS" create configmap nginx-config --from-file="$compose/nginx.conf" \
        --from-file="$compose/nginx-entrypoint.sh" --dry-run=client -o yaml
}

# Every Deployment has seen its latest spec and runs only updated, Ready replicas, as many as it wants.
stack_ready() {
    local states fields='{.metadata.generation} {.status.observedGeneration} {.spec.replicas} {.status.replicas}'
    fields="$fields {.status.readyReplicas} {.status.updatedReplicas}"
    states=$(kubectl -n "$STACK_NS" get deploy -o jsonpath="{range .items[*]}$fields{\"\\n\"}{end}")
    [ -n "$states" ] && ! echo "$states" | awk '$1 != $2 || $3 != $4 || $3 != $5 || $3 != $6' | grep -q .
}

deploy() {
    alive kube-apiserver && node_ready || { say "the cluster is not up: $0 up"; exit 2; }
    # shellcheck disable=SC2086
    images $STACK_IMAGES
    mkdir -p "$STACK_DIR/metrics"
    kubectl create namespace "$STACK_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
    configmaps | kubectl apply -f - >/dev/null || fail "applying the configmaps"
    API_NODEPORT=${CHAOSKIT_K8S_API_PORT:-30080} TOXIPROXY_NODEPORT=${CHAOSKIT_K8S_TOXIPROXY_PORT:-30474} \
        API_REPLICAS=${TIMELINE_API_REPLICAS:-2} PGDATA_MB=${CHAOSKIT_PGDATA_MB:-512} STACK_DIR=$STACK_DIR \
        KNOBS_HASH=$(knobs | sha256sum | cut -c1-16) \
        envsubst '${API_NODEPORT} ${TOXIPROXY_NODEPORT} ${API_REPLICAS} ${PGDATA_MB} ${STACK_DIR} ${KNOBS_HASH}' \
        <"$HERE/timeline.yaml" | kubectl apply -f - >/dev/null || fail "applying timeline.yaml"
    say "waiting for the stack's pods"
    waitfor "the stack's Deployments Ready" "${CHAOSKIT_UP_TIMEOUT:-180}" stack_ready
    waitfor "nginx on 127.0.0.1:${CHAOSKIT_K8S_API_PORT:-30080}" 60 \
        curl -fsS -m 2 "http://127.0.0.1:${CHAOSKIT_K8S_API_PORT:-30080}/healthz"
    # The loader reaches postgres through its ClusterIP: wait until kube-proxy has programmed it.
    waitfor "kube-proxy's rules for the stack's services" 60 service_rules
    say "loading the data set (CHAOSKIT_USERS=${CHAOSKIT_USERS:-10000}, CHAOSKIT_SEED=${CHAOSKIT_SEED:-42})"
    kubectl -n "$STACK_NS" exec deploy/worker -- python3 -m timeline.load || fail "loading the data set"
    cat <<TXT
timeline API      http://127.0.0.1:${CHAOSKIT_K8S_API_PORT:-30080}   (namespace $STACK_NS)
toxiproxy API     http://127.0.0.1:${CHAOSKIT_K8S_TOXIPROXY_PORT:-30474}   (proxies: postgres, redis)
kubeconfig        $KUBECONFIG
TXT
}

service_rules() {
    local ip
    for ip in 10.96.10.10 10.96.10.11 10.96.10.12 10.96.10.13 10.96.10.14; do
        iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q -- "-d $ip/32" || return 1
    done
}

undeploy() {
    if alive kube-apiserver; then
        kubectl delete namespace "$STACK_NS" --ignore-not-found --wait=true --timeout=120s >/dev/null ||
            fail "deleting namespace $STACK_NS"
    fi
    rm -rf "$STACK_DIR"
}
