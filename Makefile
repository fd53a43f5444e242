# Herald's front door. Logic lives in scripts/; `make help` lists the targets.
.PHONY: help deps build run test lint bench images

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

deps: ## install what is missing: nats-server, redis-server, chromium and its driver
	@scripts/deps.sh

build: deps ## build every binary
	cargo build --workspace --bins

run: deps ## the whole system locally (brokers if needed, five services, demo providers)
	@scripts/run.sh

test: deps ## everything CI checks: unit and end-to-end tests
	@scripts/test.sh

lint: ## formatting, clippy, the OpenAPI document, k8s/ manifests and Dockerfile, cargo deny
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	@scripts/openapi-check.sh
	@scripts/manifests-check.sh
	@scripts/deny.sh

bench: deps ## load benchmarks: hubspot and dropbox (open loop), polling; see README
	cargo build --release --workspace --bins
	$${CARGO_TARGET_DIR:-target}/release/herald-bench

images: ## container images herald-<service> from deploy/Dockerfile (needs a Docker engine)
	@scripts/images.sh
