#!/usr/bin/env bash
# `make test`: build the service binaries (process tests run them), run every test, fuzz the
# API from its OpenAPI document against the whole stack (scripts/fuzz.sh, bounded), and close
# with one summary line over all test binaries, the fuzzing counted as one test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace 2>&1 | tee "$log" || status=$?
fuzz_passed=1 fuzz_failed=0
HERALD_FUZZ_NO_BUILD=1 scripts/fuzz.sh || { status=1; fuzz_passed=0 fuzz_failed=1; }
awk -v fp="$fuzz_passed" -v ff="$fuzz_failed" \
  '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
   END { printf "tests: %d passed, %d failed\n", p + fp, f + ff }' "$log"
exit "$status"
