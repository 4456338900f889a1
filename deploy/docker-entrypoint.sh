#!/bin/sh
# Container entrypoint for newsmonitor.
#
#   (no arguments) or "run ..."  apply database migrations, then replace this shell with
#                                 `monitor run ...` (exec), so SIGTERM from `docker stop`
#                                 reaches the daemon itself and its exit status is the
#                                 container's.
#   anything else                 `monitor <arguments>` without migrations, e.g.
#                                 `docker compose run --rm monitor check`.
set -eu

if [ "$#" -eq 0 ]; then
    set -- run
fi

if [ "$1" = "run" ]; then
    # set -e: a failed migration stops here with its exit status; the daemon never starts
    # against a schema it does not expect.
    monitor db upgrade
fi

exec monitor "$@"
