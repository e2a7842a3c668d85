# The cluster's PKI (openssl; ECDSA P-256, the service-account key RSA-2048) and kubeconfigs.
# Made once; `down --purge` deletes it.

# cert NAME CN O [SAN]: a leaf certificate signed by the cluster CA (server+client when SAN given).
cert() {
    local name=$1 cn=$2 org=$3 san=${4:-} subj
    [ -f "$PKI/$name.crt" ] && return
    subj="/CN=$cn"
    [ -n "$org" ] && subj="/O=$org/CN=$cn"
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
    openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr"
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        if [ -n "$san" ]; then
            echo "extendedKeyUsage=serverAuth,clientAuth"
            echo "subjectAltName=$san"
        else
            echo "extendedKeyUsage=clientAuth"
        fi
    } >"$PKI/$name.ext"
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
        -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
    rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

# kubeconfig NAME CERT: a kubeconfig for the API server on 127.0.0.1 with CERT's client credentials.
kubeconfig() {
    local name=$1 user=$2
    [ -f "$CONF/$name.kubeconfig" ] && return
    cat >"$CONF/$name.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: chaoskit
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$user.crt")
    client-key-data: $(base64 -w0 "$PKI/$user.key")
contexts:
- name: chaoskit
  context: {cluster: chaoskit, user: $user}
current-context: chaoskit
KC
    chmod 600 "$CONF/$name.kubeconfig"
}

pki() {
    mkdir -p "$PKI" "$CONF"
    chmod 700 "$PKI"
    if [ ! -f "$PKI/ca.crt" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key"
        openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=chaoskit-ca" -days 3650 -sha256 \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$PKI/ca.crt"
    fi
    if [ ! -f "$PKI/sa.key" ]; then
        openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
        openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    fi
    local dns="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    cert apiserver kube-apiserver "" "$dns,DNS:localhost,IP:$SVC_APISERVER_IP,IP:127.0.0.1,IP:$NODE_IP"
    cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
    cert admin kubernetes-admin system:masters
    cert controller-manager system:kube-controller-manager ""
    cert scheduler system:kube-scheduler ""
    cert kubelet "system:node:$NODE" system:nodes
    cert kube-proxy system:kube-proxy ""
    local n
    for n in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$n" "$n"; done
}
