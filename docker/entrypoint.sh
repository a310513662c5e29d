#!/bin/sh
# Start ablate with the database password taken from a secret file, never from the command
# line or the image: libpq (psycopg) reads PGPASSWORD, and the storage URL stays password-free.
set -eu
if [ -n "${PGPASSWORD_FILE:-}" ] && [ -r "$PGPASSWORD_FILE" ]; then
    PGPASSWORD=$(cat "$PGPASSWORD_FILE")
    export PGPASSWORD
fi
exec ablate "$@"
