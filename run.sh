#!/usr/bin/env bash
# The platform's main job on embedded defaults: set up, train each model the model store
# has none of, serve them all on 127.0.0.1 (spend :3000, wallhack :3001, emotion :3002, person :3003,
# abuse :3004 with its Redis on :6379) with a local Prometheus, and print how to call them.
# Arguments go to `playserve up` (--models, --port, --redis-port).
set -euo pipefail
cd "$(dirname "$0")"
ci/setup.sh
exec .venv/bin/playserve up "$@"
