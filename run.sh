#!/usr/bin/env bash
# The platform's main job on embedded defaults: set up, serve each model the store has a version of
# on 127.0.0.1 (each on its spec's port, from 3000; a Redis on :6379 for the models whose spec needs
# one) with a local Prometheus, then train the others and serve each once registered; print how to
# call them (`playserve models` lists them).
# Arguments go to `playserve up` (--models, --port, --redis-port).
set -euo pipefail
cd "$(dirname "$0")"
# Python caches the bytecode of what it imports (this machine sets PYTHONDONTWRITEBYTECODE, and uv
# installs without compiling): otherwise every process compiles everything it imports, and a service
# took 10-15 s instead of ~4 to be ready.
unset PYTHONDONTWRITEBYTECODE
ci/setup.sh
exec .venv/bin/playserve up "$@"
