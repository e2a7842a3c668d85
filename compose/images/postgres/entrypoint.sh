#!/bin/sh
# Initialise the cluster on first start (the data directory may be a fresh,
# root-owned mount), then exec postgres as PID 1 so signals reach it directly.
set -eu
mkdir -p "$PGDATA"
chown -R postgres:postgres "$(dirname "$PGDATA")"
chmod 700 "$PGDATA"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    as_postgres initdb --username=postgres --auth=trust --encoding=UTF8 >/dev/null
    # Reached only on networks the stack creates; trust keeps the sample simple.
    echo "host all all 0.0.0.0/0 trust" >>"$PGDATA/pg_hba.conf"
    {
        echo "listen_addresses = '*'"
        echo "fsync = on"
        echo "shared_buffers = 128MB"
        echo "max_connections = 200"
    } >>"$PGDATA/postgresql.conf"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres "$@"
