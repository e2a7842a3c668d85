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

watch_replicas &
exec nginx -g 'daemon off;'
