#!/usr/bin/env bash
# The sample timeline stack's lifecycle.
#
#   compose/stack.sh up       prepare the bounded Postgres filesystem, start, wait for health, load, print endpoints
#   compose/stack.sh down     remove containers, network, volume; unmount and delete the filesystem
#   compose/stack.sh status   containers, health, filesystem usage, readiness
#   compose/stack.sh load [--force] [--rewarm]   (re)load the data set and warm the caches
#   compose/stack.sh compose ARGS...             run the compose CLI on this project
#
# Environment (defaults in brackets):
#   CHAOSKIT_PROJECT [chaoskit]       compose project name: two projects can run side by side
#   CHAOSKIT_API_PORT [8080]          nginx on 127.0.0.1
#   CHAOSKIT_TOXIPROXY_PORT [8474]    Toxiproxy's API on 127.0.0.1
#   CHAOSKIT_PROMETHEUS_PORT [9090]   Prometheus's API on 127.0.0.1
#   CHAOSKIT_STATE [/var/lib/chaoskit] the filesystem image lives in $CHAOSKIT_STATE/<project>/
#   CHAOSKIT_PGDATA_MB [512]          size of Postgres's filesystem
#   CHAOSKIT_USERS [10000], CHAOSKIT_SEED [42]   the data set
#   CHAOSKIT_UP_TIMEOUT [180]         seconds to wait for health
#   TIMELINE_* knobs: see docs/sample-stack.md (passed to the containers by docker-compose.yml)
# Exit codes: 0 done, 1 failed (the message says which step), 2 usage or missing prerequisite.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="${CHAOSKIT_PROJECT:-chaoskit}"
API_PORT="${CHAOSKIT_API_PORT:-8080}"
TOXIPROXY_PORT="${CHAOSKIT_TOXIPROXY_PORT:-8474}"
PROMETHEUS_PORT="${CHAOSKIT_PROMETHEUS_PORT:-9090}"
STATE_DIR="${CHAOSKIT_STATE:-/var/lib/chaoskit}/$PROJECT"
PGDATA_IMG="$STATE_DIR/pgdata.img"
PGDATA_MB="${CHAOSKIT_PGDATA_MB:-512}"
UP_TIMEOUT="${CHAOSKIT_UP_TIMEOUT:-180}"
export CHAOSKIT_PGDATA_DIR="$STATE_DIR/pgdata"
export CHAOSKIT_API_PORT="$API_PORT" CHAOSKIT_TOXIPROXY_PORT="$TOXIPROXY_PORT" CHAOSKIT_PROMETHEUS_PORT="$PROMETHEUS_PORT"

say() { printf 'stack[%s]: %s\n' "$PROJECT" "$*" >&2; }
fail() { printf 'stack[%s]: failed: %s\n' "$PROJECT" "$*" >&2; exit 1; }
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[[ "$PROJECT" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || { say "CHAOSKIT_PROJECT must be lowercase letters, digits, - or _"; exit 2; }

compose() {
    local files=(-f "$HERE/docker-compose.yml")
    [ -n "${CHAOSKIT_TEST_SESSION:-}" ] && files+=(-f "$HERE/docker-compose.test.yml")
    if docker compose version >/dev/null 2>&1; then
        docker compose -p "$PROJECT" "${files[@]}" "$@"
    else
        # Debian's docker-compose 1.x breaks if a newer docker SDK is importable (a venv on PYTHONPATH).
        env -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV docker-compose -p "$PROJECT" "${files[@]}" "$@"
    fi
}

# --- the bounded filesystem --------------------------------------------------------------

prepare_fs() {
    [ "$(id -u)" -eq 0 ] || { say "mounting the Postgres filesystem needs root"; exit 2; }
    mkdir -p "$CHAOSKIT_PGDATA_DIR"
    # A test session's stack names its owner, so a later session removes it only once that pid is gone.
    if [ -n "${CHAOSKIT_TEST_PID:-}" ]; then echo "$CHAOSKIT_TEST_PID" >"$STATE_DIR/test-owner.pid"; fi
    if [ ! -f "$PGDATA_IMG" ]; then
        say "creating a ${PGDATA_MB} MB ext4 filesystem for Postgres: $PGDATA_IMG"
        truncate -s "${PGDATA_MB}M" "$PGDATA_IMG"
        # -m 0: no blocks reserved for root, so "full" means full for Postgres too.
        mkfs.ext4 -q -F -m 0 -L chaoskit-pg "$PGDATA_IMG" || fail "mkfs.ext4 $PGDATA_IMG"
    fi
    if ! mountpoint -q "$CHAOSKIT_PGDATA_DIR"; then
        mount -o loop "$PGDATA_IMG" "$CHAOSKIT_PGDATA_DIR" || fail "mount -o loop $PGDATA_IMG"
    fi
}

remove_fs() {
    local i
    if mountpoint -q "$CHAOSKIT_PGDATA_DIR" 2>/dev/null; then
        for i in 1 2 3 4 5 6 7 8 9 10; do
            umount "$CHAOSKIT_PGDATA_DIR" 2>/dev/null && break
            sleep 0.5
        done
        mountpoint -q "$CHAOSKIT_PGDATA_DIR" && fail "cannot unmount $CHAOSKIT_PGDATA_DIR (still in use?)"
    fi
    rm -f "$PGDATA_IMG" "$STATE_DIR/test-owner.pid"
    rmdir "$CHAOSKIT_PGDATA_DIR" 2>/dev/null || true
    rmdir "$STATE_DIR" 2>/dev/null || true
}

# --- health --------------------------------------------------------------------------------

# Prints "name state" for each container of the project; state is the health status
# when the container has a healthcheck, else running/exited/...
container_states() {
    local ids
    ids="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")"
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086
    docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $ids \
        | sed 's#^/##'
}

wait_healthy() {
    local deadline=$((SECONDS + UP_TIMEOUT)) states bad
    while :; do
        states="$(container_states)"
        bad="$(printf '%s\n' "$states" | awk '$2 != "healthy" && $2 != "running"')"
        if [ -n "$states" ] && [ -z "$bad" ] &&
            curl -fsS -m 2 "http://127.0.0.1:$API_PORT/healthz" >/dev/null 2>&1; then
            return 0
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "not healthy after ${UP_TIMEOUT} s:"
            printf '%s\n' "$states" >&2
            compose logs --tail 20 >&2 || true
            fail "waiting for health"
        fi
        sleep 1
    done
}

# --- commands ------------------------------------------------------------------------------

load() {
    say "loading the data set (CHAOSKIT_USERS=${CHAOSKIT_USERS:-10000}, CHAOSKIT_SEED=${CHAOSKIT_SEED:-42})"
    compose exec -T worker python3 -m timeline.load "$@" || fail "loading the data set"
}

endpoints() {
    cat <<EOF
timeline API      http://127.0.0.1:$API_PORT   (GET /timeline/{user}, POST /tweets, /metrics, /readyz)
toxiproxy API     http://127.0.0.1:$TOXIPROXY_PORT   (proxies: postgres, redis)
prometheus        http://127.0.0.1:$PROMETHEUS_PORT   (scrapes the api replicas and toxiproxy every second)
postgres data     $CHAOSKIT_PGDATA_DIR   (${PGDATA_MB} MB ext4 on $PGDATA_IMG)
compose project   $PROJECT   (compose/stack.sh compose ps)
EOF
}

up() {
    for image in chaoskit/postgres chaoskit/redis chaoskit/nginx chaoskit/timeline chaoskit/prometheus chaoskit/toxiproxy:2.12.0; do
        docker image inspect "$image" >/dev/null 2>&1 || { say "image $image is missing: run ./setup.sh"; exit 2; }
    done
    prepare_fs
    say "starting (compose project $PROJECT)"
    compose up -d --remove-orphans >&2 || fail "compose up"
    wait_healthy
    load
    endpoints
}

down() {
    say "removing containers, network and volume"
    compose down -v --remove-orphans --timeout 5 >&2 || fail "compose down"
    remove_fs
}

status() {
    compose ps
    if mountpoint -q "$CHAOSKIT_PGDATA_DIR" 2>/dev/null; then
        df -h "$CHAOSKIT_PGDATA_DIR" | tail -1 | awk '{print "postgres fs: " $3 " used of " $2 " (" $5 ")"}'
    else
        echo "postgres fs: not mounted"
    fi
    curl -sS -m 5 "http://127.0.0.1:$API_PORT/readyz" && echo || echo "api: not answering on 127.0.0.1:$API_PORT"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    load) shift; load "$@" ;;
    endpoints) endpoints ;;
    compose) shift; compose "$@" ;;
    *) usage ;;
esac
