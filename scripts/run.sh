#!/usr/bin/env bash
# `make run`: the whole system on this machine. Uses NATS/Redis at HERALD_NATS_URL /
# HERALD_REDIS_URL when they answer, else starts its own in .run/. Every HERALD_* variable
# already set is honoured; unset ones get local defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins
BIN=${CARGO_TARGET_DIR:-target}/debug
RUN=.run; mkdir -p "$RUN"

export HERALD_NATS_URL=${HERALD_NATS_URL:-nats://127.0.0.1:4222}
export HERALD_REDIS_URL=${HERALD_REDIS_URL:-redis://127.0.0.1:6379}
export HERALD_ADMIN_TOKEN=${HERALD_ADMIN_TOKEN:-local-admin-token-for-make-run-only-0001}
export HERALD_ALLOW_DEV_SECRET_KEY=${HERALD_ALLOW_DEV_SECRET_KEY:-true}
export HERALD_ALLOW_PRIVATE_CALLBACKS=${HERALD_ALLOW_PRIVATE_CALLBACKS:-true}
export HERALD_PUBLIC_URL=${HERALD_PUBLIC_URL:-http://127.0.0.1:8081}
# An element whose URL variables are both unset is pointed at the bundled demo provider.
DEMO_ELEMENTS=""
demo() { # KEY key port
  local api="HERALD_ELEMENT_$1_API_URL" auth="HERALD_ELEMENT_$1_AUTH_URL"
  if [ -z "${!api:-}" ] && [ -z "${!auth:-}" ]; then
    export "$api=http://127.0.0.1:$3" "$auth=http://127.0.0.1:$3"
    DEMO_ELEMENTS="$DEMO_ELEMENTS $2"
  fi
}
demo DROPBOX dropbox 8090
demo BOX box 8092
demo HUBSPOT hubspot 8093
demo QUICKBOOKS quickbooks 8094
export DEMO_ELEMENTS

hostport() { local u=${1#*://}; u=${u#*@}; echo "${u%%/*}"; }
answers() { local hp; hp=$(hostport "$1"); (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}") 2>/dev/null; }

pids=()
cleanup() {
  trap - EXIT INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if ! answers "$HERALD_NATS_URL"; then
  hp=$(hostport "$HERALD_NATS_URL"); echo "starting nats-server on ${hp##*:}"
  nats-server -a 127.0.0.1 -p "${hp##*:}" -js -sd "$RUN/nats" >"$RUN/nats.log" 2>&1 & pids+=($!)
fi
if ! answers "$HERALD_REDIS_URL"; then
  hp=$(hostport "$HERALD_REDIS_URL"); echo "starting redis-server on ${hp##*:}"
  redis-server --port "${hp##*:}" --bind 127.0.0.1 --appendonly yes --dir "$RUN" >"$RUN/redis.log" 2>&1 & pids+=($!)
fi

# Each service runs as its own process, restarted within a few seconds if it dies; TERM to a
# supervisor stops its service gracefully.
supervise() {
  local name=$1 ops=$2 listen=${3:-} child=
  trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    env HERALD_OPS_ADDR="127.0.0.1:$ops" ${listen:+HERALD_LISTEN_ADDR=$listen} \
      "$BIN/$name" > >(sed -u "s/^/[$name] /") 2>&1 &
    child=$!
    wait "$child" || true
    echo "[$name] exited; restarting in 2s"; sleep 2
  done
}
supervise herald-gateway 9180 127.0.0.1:8080 & pids+=($!)
supervise herald-ingest 9181 127.0.0.1:8081 & pids+=($!)
supervise herald-provisioning 9182 & pids+=($!)
supervise herald-poller 9183 & pids+=($!)
supervise herald-delivery 9184 & pids+=($!)
"$BIN/herald-demo" > >(sed -u 's/^/[demo] /') 2>&1 & pids+=($!)

until curl -fsS http://127.0.0.1:9180/readyz >/dev/null 2>&1; do sleep 0.5; done
org=$(curl -fsS -X POST http://127.0.0.1:8080/elements/api-v2/admin/organizations \
  -H "Authorization: Bearer $HERALD_ADMIN_TOKEN" -H 'Content-Type: application/json' -d '{"name":"Local"}')
org_id=$(echo "$org" | sed -E 's/.*"id":([0-9]+).*/\1/'); org_secret=$(echo "$org" | sed -E 's/.*"secret":"([^"]+)".*/\1/')
user=$(curl -fsS -X POST "http://127.0.0.1:8080/elements/api-v2/admin/organizations/$org_id/users" \
  -H "Authorization: Bearer $HERALD_ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"email":"dev@example.com","firstName":"Dev","lastName":"Local"}')
user_secret=$(echo "$user" | sed -E 's/.*"secret":"([^"]+)".*/\1/')
cat <<MSG

Herald is up.
  API:      http://127.0.0.1:8080/elements/api-v2
  Ingest:   http://127.0.0.1:8081/elements/api-v2/events/{elementKey}
  Ops:      http://127.0.0.1:9180..9184/{healthz,readyz,metrics}
  Demo:     providers for:${DEMO_ELEMENTS:- none} (Dropbox :8090, Box :8092, HubSpot :8093,
            QuickBooks :8094; app key fake_<key>_api_key, secret fake_<key>_api_secret,
            Dropbox fake_Dropbox_api_key / fake_Dropbox_api_secret)
            callback receiver http://127.0.0.1:8091/callback (prints what it gets)
  export USER_SECRET=$user_secret
  export ORG_SECRET=$org_secret
Press Ctrl-C to stop.
MSG
wait
