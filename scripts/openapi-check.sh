#!/usr/bin/env bash
# Validates the gateway's OpenAPI document with a standard validator (openapi-spec-validator).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p herald-gateway --bin herald-openapi
out=${CARGO_TARGET_DIR:-target}/openapi.json
"${CARGO_TARGET_DIR:-target}/debug/herald-openapi" > "$out"
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check openapi-spec-validator
fi
python3 -m openapi_spec_validator "$out"
