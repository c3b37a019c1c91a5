#!/usr/bin/env bash
# Train MODEL with the quality gate, build and push its image, open the staging bump.
# Usage: ci/release.sh MODEL. A failed gate (exit 3) stops here: a bad model never becomes an image.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: ci/release.sh MODEL}
ci/setup.sh
playserve=.venv/bin/playserve
if [[ -z "${PLAYSERVE_REGISTRY:-}" ]]; then
    "$playserve" registry up
fi
mkdir -p runs
"$playserve" train "$model" --json > "runs/release-$model.json"
tag=$("$playserve" build "$model" | python3 -c 'import json, sys; print(json.load(sys.stdin)["tag"])')
"$playserve" push "$model" --image "$tag"
ci/open-bump.sh "$model" staging "$tag"
