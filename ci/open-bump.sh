#!/usr/bin/env bash
# Open a pull request that deploys MODEL to staging at TAG, or promotes it to prod.
# Usage: ci/open-bump.sh MODEL staging TAG | ci/open-bump.sh MODEL prod
# The bump is one commit made by `playserve deploy` / `playserve promote` on a new branch;
# merging the pull request is the deploy (Argo CD syncs main).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: ci/open-bump.sh MODEL ENV [TAG]}
env=${2:?usage: ci/open-bump.sh MODEL ENV [TAG]}
# $PLAYSERVE names an installed playserve; otherwise set up this checkout's own.
playserve=${PLAYSERVE:-}
if [[ -z "$playserve" ]]; then
    ci/setup.sh
    playserve=.venv/bin/playserve
fi
git switch -q main
# Any failure from here on (the bump refused, the push rejected because origin already holds the
# branch with other commits: a concurrent deploy) leaves this checkout on main as it was.
branch=""
restore() {
    git switch -q -f main
    if [[ -n "$branch" ]]; then git branch -q -D "$branch" 2>/dev/null || true; fi
    echo "open-bump: failed; nothing was pushed, and this checkout is back on main as it was" >&2
}
trap restore ERR
if [[ "$env" == prod ]]; then
    tag=$("$playserve" history "$model" --env staging --json | head -1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["tag"])')
    branch="promote/$model-$tag"
    git switch -q -c "$branch"
    "$playserve" promote "$model" --from staging --to prod
else
    tag=${3:?usage: ci/open-bump.sh MODEL staging TAG}
    branch="deploy/$model-$env-$tag"
    git switch -q -c "$branch"
    "$playserve" deploy "$model" --env "$env" --image "$tag"
fi
git push -q origin "$branch"
trap - ERR
if command -v gh >/dev/null; then
    gh pr create --base main --head "$branch" --fill
else
    echo "open a pull request from $branch to main (gh is not installed here)"
fi
