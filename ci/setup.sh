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
    chromium                     # headless: the tests look at the pages people read (the emotion report)
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

# The OpenAPI client generator the tests run against every service's document, in its own
# environment under ~/.local: it wants Typer < 0.28, and the project pins 0.29.2.
uv tool install --quiet --python python3.11 "openapi-python-client==0.29.1"

