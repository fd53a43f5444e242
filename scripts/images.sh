#!/usr/bin/env bash
# Builds the image of each service (herald-<service>) from deploy/Dockerfile. Without a reachable
# Docker engine it says so and fails, so `make images` never succeeds without building (images
# are not part of `make test`, which does not call this).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  echo "images: no Docker engine reachable (docker info failed); no image built" >&2
  exit 1
fi
# Also tagged with the workspace version, the tag k8s/base deploys.
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
for service in gateway ingest provisioning poller delivery; do
  echo "images: herald-$service (and :$version)"
  docker build --target "herald-$service" -t "herald-$service" -t "herald-$service:$version" \
    -f deploy/Dockerfile .
done
