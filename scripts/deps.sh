#!/usr/bin/env bash
# Installs the broker binaries Herald's tests and `make run` start, when missing.
set -euo pipefail
missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "Herald needs: ${missing[*]}. Install them (e.g. 'sudo apt-get install ${missing[*]}') and retry." >&2
  exit 1
fi
