#!/usr/bin/env bash
# The platform's main job on embedded defaults: set up, train the spend model if the
# model store has none, serve it on 127.0.0.1 and print how to call it.
set -euo pipefail
cd "$(dirname "$0")"
ci/setup.sh
exec .venv/bin/playserve up "$@"
