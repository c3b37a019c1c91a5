#!/usr/bin/env bash
# Train MODEL with the quality gate, build and push its image, open the staging bump; and make
# sure the registry has the Argo pipelines' toolbox image (a no-op when its recipe is unchanged).
# Usage: ci/release.sh MODEL. A failed gate (exit 3) stops here: a bad model never becomes an image.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: ci/release.sh MODEL}
# $PLAYSERVE names an installed playserve; otherwise set up this checkout's own.
playserve=${PLAYSERVE:-}
if [[ -z "$playserve" ]]; then
    ci/setup.sh
    playserve=.venv/bin/playserve
fi
if [[ -z "${PLAYSERVE_REGISTRY:-}" ]]; then
    "$playserve" registry up
fi
tag_of() { python3 -c 'import json, sys; print(json.load(sys.stdin)["tag"])'; }
mkdir -p runs
"$playserve" train "$model" --json > "runs/release-$model.json"
tag=$("$playserve" build "$model" | tag_of)
"$playserve" push "$model" --image "$tag"
"$playserve" push toolbox --image "$("$playserve" build toolbox | tag_of)"
PLAYSERVE="$playserve" ci/open-bump.sh "$model" staging "$tag"
