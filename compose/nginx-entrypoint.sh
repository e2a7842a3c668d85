#!/bin/sh
# nginx for the sample stack, plus a watcher that reloads it when the api
# replicas' addresses change (nginx 1.22 resolves upstream names only when it
# loads its configuration). A reload is graceful: no request is dropped.
set -eu

addresses() { getent ahostsv4 api 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' '; }

watch_replicas() {
    last="$(addresses)"
    while sleep 1; do
        now="$(addresses)"
        # No address at all (every replica down): keep the last configuration.
        if [ -n "$now" ] && [ "$now" != "$last" ]; then
            nginx -s reload 2>/dev/null && last="$now"
        fi
    done
}

# HTTPS on 443 when set-up made a certificate (setup.sh make_tls, mounted at
# /etc/chaoskit/tls); without one the stack serves plain HTTP only.
tls_listener() {
    mkdir -p /etc/nginx/tls.d
    if [ -r /etc/chaoskit/tls/server.crt ] && [ -r /etc/chaoskit/tls/server.key ]; then
        cat >/etc/nginx/tls.d/listen.conf <<'EOF'
listen 443 ssl default_server;
ssl_certificate /etc/chaoskit/tls/server.crt;
ssl_certificate_key /etc/chaoskit/tls/server.key;
EOF
    else
        rm -f /etc/nginx/tls.d/listen.conf
    fi
}

tls_listener
watch_replicas &
exec nginx -g 'daemon off;'
