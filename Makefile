# authplane: every command a platform team needs. `make help` lists them.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

export CHECKPOINT_DISABLE := 1
# Project-local Terraform CLI config: offline mirror from TF_PLUGIN_MIRROR (default /opt/tf-plugins).
export TF_PLUGIN_MIRROR ?= /opt/tf-plugins
export TF_CLI_CONFIG_FILE := $(CURDIR)/.tmp/terraformrc
ENV ?=
export ENV

node_modules: package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.tmp/terraformrc: scripts/terraformrc.sh
	@mkdir -p .tmp && ./scripts/terraformrc.sh > $@

.PHONY: help
help: ## list the commands
	@grep -E '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: dev
dev: node_modules ## run the whole platform locally (PostgreSQL, auth service, HTTPS demo apps, API gateway + authorizer, Google stand-in)
	npx tsx dev/start.ts

.PHONY: test
test: node_modules .tmp/terraformrc ## run the whole test suite (installs chromium/redis-server via apt when root)
	./scripts/ensure-test-deps.sh
	npx vitest run

.PHONY: build
build: node_modules ## bundle the Lambda functions into dist/functions/
	npx tsx functions/build.ts

.PHONY: synth
synth: node_modules ## synthesize Terraform JSON for every environment, or ENV=x only
	npx cdktf synth

.PHONY: validate
validate: synth .tmp/terraformrc ## terraform init -backend=false && validate every synthesized stack (offline)
	npx tsx scripts/validate-stacks.ts

.PHONY: diff
diff: node_modules .tmp/terraformrc ## cdktf diff (plan) of every ENV=x stack (needs AWS credentials for that account)
	@test -n "$(ENV)" || { echo "usage: make diff ENV=<name>  (a file in environments/)"; exit 2; }
	npx cdktf synth
	@# cdktf diff takes one stack at a time.
	for component in bootstrap network database auth authorizer; do npx cdktf diff --skip-synth "$(ENV)-$$component" || exit 1; done

.PHONY: deploy
deploy: node_modules .tmp/terraformrc ## deploy ENV=x: bootstrap, network, database, auth, authorizer in order
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=<name>  (a file in environments/)"; exit 2; }
	npx cdktf deploy --auto-approve=false $(ENV)-bootstrap $(ENV)-network $(ENV)-database $(ENV)-auth $(ENV)-authorizer

.PHONY: module
module: build ## write the plain Terraform module dist/terraform/jwt-authorizer/
	npx tsx infra/export-authorizer-module.ts

.PHONY: migrate
migrate: node_modules ## create/update Better Auth's tables (DATABASE_URL)
	npx tsx functions/auth/migrate.ts

.PHONY: bench
bench: node_modules ## run every benchmark (JSON on the last line of each)
	npm run -s bench:synth
	npm run -s bench:authorizer
	npm run -s bench:auth-cold
	npm run -s bench:migrate

.PHONY: clean
clean: ## remove build output
	rm -rf cdktf.out dist .tmp
