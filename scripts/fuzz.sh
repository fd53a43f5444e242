#!/usr/bin/env bash
# API fuzzing (`make test` runs it after `cargo test`): starts the whole stack as `make run` does,
# but isolated — its own nats-server and redis-server in a temp dir, every service, ops port and
# demo provider on a free port — creates an organization, a user, a Dropbox and a Box instance
# (through the fakes' OAuth) and one event, then runs schemathesis over every operation of the
# live /openapi.json, positive and negative data, each with the credentials its security scheme
# names (admin bearer, platform, instance). Any 5xx, and any status, content type or body the
# document does not describe, fails the run and is printed with a curl that reproduces it.
# Bounded: a fixed seed, a fixed number of cases per operation and a hard time limit (about a
# minute in all on 2 cores).
#
#   HERALD_FUZZ_EXAMPLES  cases per operation in the fuzzing phase (default 60)
#   HERALD_FUZZ_SEED      seed (default 20261122)
#   HERALD_FUZZ_TIMEOUT   hard limit in seconds for the schemathesis passes together (default 150)
#   HERALD_FUZZ_CHECKS    schemathesis checks (default: the four below, `checks=`)
#   HERALD_FUZZ_REPORT    also write schemathesis reports of these formats (e.g. har, junit)
#   HERALD_FUZZ_KEEP      set to keep logs and reports (kept anyway when the run fails)
#   HERALD_FUZZ_NO_BUILD  set to 1 when the binaries are already built (scripts/test.sh does)
#
# The Python tool lives in a venv outside the repo, installed once per version of
# scripts/fuzz-requirements.txt.
set -euo pipefail
# A failure inside $(...) stops the script too (setup steps run in command substitutions).
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

examples=${HERALD_FUZZ_EXAMPLES:-60}
seed=${HERALD_FUZZ_SEED:-20261122}
limit=${HERALD_FUZZ_TIMEOUT:-150}
started=$SECONDS

for tool in nats-server redis-server curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fuzz: $tool not found (make deps installs the brokers)" >&2; exit 1; }
done

# CPython before 3.12.5 can fail inside ast.parse deep in Hypothesis' recursion ("SystemError: AST
# constructor recursion depth mismatch", CPython gh-106905), which schemathesis reports as an error
# of its own: the venv uses a Python without that bug when the machine has one (pyenv's 3.13 here).
fixed_python() { "$1" -c 'import sys; sys.exit(not (sys.version_info >= (3, 12, 5)))' 2>/dev/null; }
python=${HERALD_FUZZ_PYTHON:-}
if [ -z "$python" ]; then
  for cand in python3.14 python3.13 python3.12 \
    $(ls -d "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3; do
    if fixed_python "$cand"; then python=$cand; break; fi
  done
  if [ -z "$python" ]; then
    python=python3
    echo "fuzz: warning: no Python >= 3.12.5 found; $(python3 --version) may hit CPython gh-106905 (a schemathesis runtime error)" >&2
  fi
fi
req=scripts/fuzz-requirements.txt
venv=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/herald/fuzz-venv
stamp="$(cat "$req")
# $("$python" --version 2>&1) at $(command -v "$python")"
if [ "$stamp" != "$(cat "$venv/stamp" 2>/dev/null)" ]; then
  echo "fuzz: installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv ($("$python" --version 2>&1))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  printf '%s\n' "$stamp" > "$venv/stamp"  # written only after a complete install
fi

[ "${HERALD_FUZZ_NO_BUILD:-}" = 1 ] || cargo build -q --workspace --bins
BIN=${CARGO_TARGET_DIR:-target}/debug

dir=$(mktemp -d "${TMPDIR:-/tmp}/herald-fuzz.XXXXXX")
pids=()
st_pid=
stage=setup
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  # timeout passes the TERM on to schemathesis.
  [ -z "${st_pid:-}" ] || kill -TERM "$st_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  # Services drain within HERALD_SHUTDOWN_GRACE_MS; anything still up after 10 s is killed.
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$rc" != 0 ] && [ "$stage" = setup ]; then
    echo "fuzz: the stack did not come up; the end of each log:" >&2
    local log
    for log in "$dir"/*.log; do echo "--- $log" >&2; tail -n 15 "$log" >&2; done
  fi
  if [ "$rc" != 0 ] || [ -n "${HERALD_FUZZ_KEEP:-}" ]; then
    echo "fuzz: logs and reports kept in $dir"
  else
    rm -rf "$dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free ports below the kernel's ephemeral range (where no outgoing connection can be holding
# one between the choice and the bind), all held at once while chosen so that none repeats.
read -r nats_p redis_p gw_p in_p ops_gw ops_in ops_prov ops_poll ops_del \
  dbx_p box_p hs_p qb_p recv_p < <(python3 - <<'PY'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
held = []
while len(held) < 14:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(10000, max(low, 10001))))
        held.append(s)
    except OSError:
        s.close()
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
)

nats-server -a 127.0.0.1 -p "$nats_p" -js -sd "$dir/nats" >"$dir/nats.log" 2>&1 & pids+=($!)
redis-server --port "$redis_p" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  >"$dir/redis.log" 2>&1 & pids+=($!)

admin_token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')  # 48 bytes
export HERALD_NATS_URL=nats://127.0.0.1:$nats_p
export HERALD_REDIS_URL=redis://127.0.0.1:$redis_p
export HERALD_PREFIX=fuzz
export HERALD_ADMIN_TOKEN=$admin_token
export HERALD_SECRET_KEY
HERALD_SECRET_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
export HERALD_ALLOW_PRIVATE_CALLBACKS=true
export HERALD_PUBLIC_URL=http://127.0.0.1:$in_p
export HERALD_SHUTDOWN_GRACE_MS=3000
export HERALD_PROVIDER_TIMEOUT_MS=5000
export HERALD_RPC_TIMEOUT_MS=10000
export RUST_LOG=${RUST_LOG:-warn}
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
# Every element at a fake: the four demo providers; DocuShare Flex and Salesforce, which the
# demo does not play, at the HubSpot fake (it answers their calls with 4xx).
export HERALD_ELEMENT_DROPBOX_API_URL=http://127.0.0.1:$dbx_p HERALD_ELEMENT_DROPBOX_AUTH_URL=http://127.0.0.1:$dbx_p
export HERALD_ELEMENT_BOX_API_URL=http://127.0.0.1:$box_p HERALD_ELEMENT_BOX_AUTH_URL=http://127.0.0.1:$box_p
export HERALD_ELEMENT_HUBSPOT_API_URL=http://127.0.0.1:$hs_p HERALD_ELEMENT_HUBSPOT_AUTH_URL=http://127.0.0.1:$hs_p
export HERALD_ELEMENT_QUICKBOOKS_API_URL=http://127.0.0.1:$qb_p HERALD_ELEMENT_QUICKBOOKS_AUTH_URL=http://127.0.0.1:$qb_p
export HERALD_ELEMENT_DOCUSHAREFLEX_API_URL=http://127.0.0.1:$hs_p HERALD_ELEMENT_DOCUSHAREFLEX_AUTH_URL=http://127.0.0.1:$hs_p
export HERALD_ELEMENT_SFDC_API_URL=http://127.0.0.1:$hs_p HERALD_ELEMENT_SFDC_AUTH_URL=http://127.0.0.1:$hs_p

start() { # name ops-port [listen-port]
  env HERALD_OPS_ADDR="127.0.0.1:$2" ${3:+HERALD_LISTEN_ADDR=127.0.0.1:$3} \
    "$BIN/herald-$1" >"$dir/$1.log" 2>&1 & pids+=($!)
}
wait_for() { # what seconds command...
  local what=$1 secs=$2 deadline=$((SECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "fuzz: $what not ready after ${secs}s" >&2; return 1; fi
    sleep 0.2
  done
}
wait_for nats-server 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$nats_p"
wait_for redis-server 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$redis_p"
start gateway "$ops_gw" "$gw_p"
start ingest "$ops_in" "$in_p"
start provisioning "$ops_prov"
start poller "$ops_poll"
start delivery "$ops_del"
DEMO_ELEMENTS="dropbox box hubspot quickbooks" DEMO_RECEIVER_ADDR=127.0.0.1:$recv_p \
  DEMO_DROPBOX_ADDR=127.0.0.1:$dbx_p DEMO_BOX_ADDR=127.0.0.1:$box_p \
  DEMO_HUBSPOT_ADDR=127.0.0.1:$hs_p DEMO_QUICKBOOKS_ADDR=127.0.0.1:$qb_p \
  DEMO_DROPBOX_WEBHOOK_URL=http://127.0.0.1:$in_p/elements/api-v2/events/dropbox \
  "$BIN/herald-demo" >"$dir/demo.log" 2>&1 & pids+=($!)
for p in "$ops_gw" "$ops_in" "$ops_prov" "$ops_poll" "$ops_del"; do
  wait_for "service with ops port $p" 60 curl -fsS "http://127.0.0.1:$p/readyz"
done
wait_for "demo Dropbox webhook" 30 grep -q 'Dropbox webhooks go to' "$dir/demo.log"

# The tenant: an organization, a user, a Dropbox instance (documents hub) and a Box instance
# (its webhooks hub), each through the fake provider's OAuth, and one event.
API=http://127.0.0.1:$gw_p/elements/api-v2
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
setup_call() { # method path auth [body]
  local out
  if ! out=$(curl -sS -X "$1" "$API$2" -H "Authorization: $3" -H 'Content-Type: application/json' \
    ${4:+-d "$4"} -w '\n%{http_code}' 2>&1) || [[ "${out##*$'\n'}" != 2?? ]]; then
    echo "fuzz: setup call $1 $2 failed: $out" >&2; return 1
  fi
  printf '%s' "${out%$'\n'*}"
}
org=$(setup_call POST /admin/organizations "Bearer $admin_token" '{"name":"Fuzz"}')
org_id=$(field id <<<"$org"); org_secret=$(field secret <<<"$org")
user=$(setup_call POST "/admin/organizations/$org_id/users" "Bearer $admin_token" \
  '{"email":"fuzz@example.com","firstName":"Fuzz","lastName":"Run"}')
user_secret=$(field secret <<<"$user")
platform="User $user_secret, Organization $org_secret"
create_instance() { # element app-key app-secret; prints the instance JSON
  local oauth_url redirect code
  oauth_url=$(setup_call GET "/elements/$1/oauth/url?apiKey=$2&apiSecret=$3&callbackUrl=https://www.mycoolapp.com/auth&state=$1" "" | field oauthUrl)
  redirect=$(curl -sS -o /dev/null -w '%{redirect_url}' "$oauth_url")
  code=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["code"][0])' "$redirect")
  setup_call POST /instances "$platform" '{"element":{"key":"'"$1"'"},"providerData":{"code":"'"$code"'"},"configuration":{"oauth.api.key":"'"$2"'","oauth.api.secret":"'"$3"'","oauth.callback.url":"https://www.mycoolapp.com/auth","event.notification.enabled":true,"event.notification.callback.url":"http://127.0.0.1:'"$recv_p"'/callback","event.notification.signature.key":"MySecretEventSignatureKey"},"tags":["Fuzz"],"name":"Fuzz '"$1"'"}'
}
instance=$(create_instance dropbox fake_Dropbox_api_key fake_Dropbox_api_secret)
instance_id=$(field id <<<"$instance"); instance_token=$(field token <<<"$instance")
box_token=$(create_instance box fake_box_api_key fake_box_api_secret | field token)
# A change at Dropbox gives the events API something to show (and `eventId` a real value).
curl -fsS -X POST "http://127.0.0.1:$dbx_p/__fake/upload" -H 'Content-Type: application/json' \
  -d '{"path":"/Fuzz/seed.txt"}' >/dev/null
first_event() {
  curl -fsS "$API/instances/$instance_id/events" -H "Authorization: $platform" |
    python3 -c 'import json, sys; a = json.load(sys.stdin); print(a[0]["id"] if a else "")'
}
has_event() { [ -n "$(first_event)" ]; }
wait_for "the seed change's event" 20 has_event
event_id=$(first_event)
echo "fuzz: stack up in $((SECONDS - started))s (gateway :$gw_p, instance $instance_id, event $event_id)"

# Credentials per security scheme of the document: `instance` is the Dropbox instance's (the
# documents hub) or, for the webhooks hub that only Box offers, the Box instance's. Path ids and
# hub paths are half of the time the tenant's real ones (so that cases reach the instance, its
# event and its files), half of the time generated.
config() { # file instance-token
  cat >"$1" <<TOML
[cache]
enabled = false  # no .schemathesis/ in the work tree; a replay needs this run's stack anyway

[auth.openapi.admin]
bearer = "$admin_token"
[auth.openapi.platform]
api_key = "$platform"
[auth.openapi.instance]
api_key = "User $user_secret, Element $2"

[dictionaries.instances]
values = [$instance_id]
[dictionaries.events]
values = [$event_id]
[dictionaries.orgs]
values = [$org_id]
[dictionaries.paths]
values = ["/Fuzz/seed.txt", "/Fuzz", "/Fuzz/new.txt", "/"]

[parameters]
"path.id" = { dictionary = "instances", probability = 0.5 }
"path.eventId" = { dictionary = "events", probability = 0.5 }
"path.orgId" = { dictionary = "orgs", probability = 0.5 }
"query.path" = { dictionary = "paths", probability = 0.5 }
TOML
}
config "$dir/dropbox.toml" "$instance_token"
config "$dir/box.toml" "$box_token"

checks=${HERALD_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}
webhooks='^[A-Z]+ /elements/api-v2/hubs/documents/webhooks'
# Operations that end the instance (or switch it off) would leave every later hub or instance
# case testing only "not found": they run in the last pass, after everything else.
destructive='^DELETE /elements/api-v2/instances/(\{id\}|enabled|\{id\}/enabled)$'
st_run() { # label config, then filter options
  local label=$1 config=$2; shift 2
  local left=$((deadline - SECONDS))
  [ "$left" -gt 5 ] || { echo "fuzz: no time left for the $label pass" >&2; return 124; }
  echo "fuzz: $label pass (seed $seed, $examples examples per operation, ≤ ${left}s)"
  # Unsanitized output: the secrets in a failing case's curl belong to this throwaway stack.
  # In the background, so that a signal to this script is handled (and the stack stopped) at once.
  timeout --kill-after=10 "$left" "$venv/bin/st" --config-file "$dir/$config.toml" --no-color run \
    "http://127.0.0.1:$gw_p/openapi.json" --url "http://127.0.0.1:$gw_p" \
    --checks "$checks" --mode all --max-examples "$examples" --seed "$seed" \
    --generation-database none --no-shrink --continue-on-failure \
    --phases examples,coverage,fuzzing --workers 2 --request-timeout 20 \
    --suppress-health-check all --warnings off --output-truncate false --output-sanitize false \
    ${HERALD_FUZZ_REPORT:+--report "$HERALD_FUZZ_REPORT" --report-dir "$dir/report-$label"} "$@" &
  st_pid=$!
  local rc=0
  wait "$st_pid" || rc=$?
  st_pid=
  return "$rc"
}
stage=fuzz
deadline=$((SECONDS + limit))
status=0
for pass in main webhooks destructive; do
  rc=0
  case $pass in
    main) st_run main dropbox --exclude-name-regex "$destructive|$webhooks" || rc=$? ;;
    webhooks) st_run webhooks box --include-name-regex "$webhooks" || rc=$? ;;
    destructive) st_run destructive dropbox --include-name-regex "$destructive" || rc=$? ;;
  esac
  [ "$status" != 0 ] || status=$rc
  [ "$rc" != 124 ] && [ "$rc" != 137 ] || break
done
echo "fuzz: done in $((SECONDS - started))s"
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "fuzz: FAILED: schemathesis did not finish within ${limit}s (HERALD_FUZZ_TIMEOUT)" >&2
elif [ "$status" != 0 ]; then
  echo "fuzz: FAILED: see the failing cases above (each with a curl that reproduces it)" >&2
fi
[ "$status" = 0 ] || exit 1
echo "fuzz: OK"
