#!/usr/bin/env bash
# Idempotent set-up shared by ./run.sh and ./test.sh: Debian packages, uv, and the
# Python environment in .venv/ from uv.lock. A second run changes nothing and takes ~1 s.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    git libgomp1                 # libgomp1: LightGBM's OpenMP runtime
    docker-registry buildah skopeo podman runc debootstrap   # images and the local registry (CONTAINERS.md)
    prometheus                   # the embedded Prometheus, and promtool for the alert rules
    redis-server                 # the abuse scorer's online features: the embedded default and the tests
    hey                          # HTTP load from a native client in load.bench, off the server's Python
)
UV_VERSION=0.13.9

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if ! command -v uv >/dev/null || [[ "$(uv --version)" != "uv $UV_VERSION"* ]]; then
    echo "setup: installing uv $UV_VERSION"
    python3 -m pip install -q "uv==$UV_VERSION" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "uv==$UV_VERSION"
fi

# kubectl (for `kubectl kustomize` in manifest validation) comes with this machine image.
command -v kubectl >/dev/null || echo "setup: warning: kubectl not found; playserve validate needs it" >&2

# HTTPS goes through an intercepting proxy whose CA is in the system store.
export UV_SYSTEM_CERTS=1
uv sync --frozen --quiet --python python3.11

# Bytecode for every installed module, once per lock file: without it each Python process compiles
# what it imports (this machine sets PYTHONDONTWRITEBYTECODE, so nothing is ever cached), which made
# a service take 10-15 s to be ready instead of 4-5 s. compileall walking an already compiled
# environment still takes ~20 s, hence the marker.
bytecode_marker=".venv/.bytecode-$(sha256sum uv.lock | cut -c1-16)"
if [[ ! -e "$bytecode_marker" ]]; then
    echo "setup: compiling the environment's bytecode"
    rm -f .venv/.bytecode-*
    .venv/bin/python -m compileall -q -j 0 .venv/lib/python3.11/site-packages >/dev/null 2>&1 || true
    touch "$bytecode_marker"
fi
