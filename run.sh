#!/usr/bin/env bash
# The platform's main job on embedded defaults: set up, train each model the model store
# has none of, serve them all on 127.0.0.1 (each on its spec's port, from 3000; a Redis on :6379 for the
# models whose spec needs one) with a local Prometheus, and print how to call them (`playserve models` lists them).
# Arguments go to `playserve up` (--models, --port, --redis-port).
set -euo pipefail
cd "$(dirname "$0")"
ci/setup.sh
exec .venv/bin/playserve up "$@"
