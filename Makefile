# rds-failsafe entry points. Everything a target needs is installed by the target itself into
# project-local, git-ignored places (target/, node_modules/).
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help test lint test-rust test-asl build

help:
	@echo "make test   - fmt + clippy (-D warnings), Rust unit/handler/adapter tests, ASL validation"
	@echo "make build  - build the eleven task Lambda binaries (release)"

test: lint test-rust test-asl

lint:
	@echo "==> cargo fmt --check"
	$(CARGO) fmt --all -- --check
	@echo "==> cargo clippy -D warnings (first build of the AWS SDK crates takes minutes on 2 cores)"
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	@echo "==> cargo test"
	$(CARGO) test --workspace

# npm ci installs exactly what package-lock.json says; re-run when the lockfile changes.
node_modules/.package-lock.json: package.json package-lock.json
	@echo "==> npm ci"
	npm ci --no-audit --no-fund
	@touch $@

test-asl: node_modules/.package-lock.json
	@echo "==> ASL validation (asl-validator) and state machine invariants"
	node --test tests/asl/

build:
	$(CARGO) build --release --bins
