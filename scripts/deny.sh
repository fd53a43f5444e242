#!/usr/bin/env bash
# Supply chain (`make lint`): cargo deny checks licenses, bans and sources against deny.toml,
# and RustSec advisories whenever the advisory database can be fetched. The database lives on
# GitHub; where GitHub is unreachable (this project's build machines reach only the package
# registries) the advisories check says so and is skipped, never silently passed.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$VERSION"; then
  echo "deny: installing cargo-deny $VERSION"
  cargo install --locked "cargo-deny@$VERSION"
fi
checks=(bans licenses sources)
if timeout 60 cargo deny fetch db >/dev/null 2>&1; then
  checks=(advisories "${checks[@]}")
else
  echo "deny: advisories SKIPPED: the RustSec database (github.com/rustsec/advisory-db) cannot be fetched from this network"
fi
cargo deny --log-level error check "${checks[@]}"
echo "deny: ${checks[*]} ok"
