#!/usr/bin/env bash
# Installs the broker binaries Herald's tests and `make run` start, and the browser the console's
# tests drive (Debian's chromium and chromium-driver), when missing.
set -euo pipefail
missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
browser=()
command -v chromium >/dev/null 2>&1 || browser+=(chromium)
command -v chromedriver >/dev/null 2>&1 || browser+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && [ ${#browser[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  # Without a browser only the console's tests cannot run: they say "skipped" (and fail under CI=true).
  [ ${#browser[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser[@]}" \
    || echo "Could not install ${browser[*]}: the console's browser tests will be skipped." >&2
else
  [ ${#browser[@]} -eq 0 ] || echo "The console's browser tests need: ${browser[*]} (e.g. 'sudo apt-get install ${browser[*]}'); without them they are skipped." >&2
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Herald needs: ${missing[*]}. Install them (e.g. 'sudo apt-get install ${missing[*]}') and retry." >&2
    exit 1
  fi
fi
