# authplane: every command a platform team needs. `make help` lists them.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

export CHECKPOINT_DISABLE := 1
# Project-local Terraform CLI config: offline mirror from TF_PLUGIN_MIRROR (default /opt/tf-plugins).
export TF_PLUGIN_MIRROR ?= /opt/tf-plugins
# Created before anything runs Terraform (cdktf included), so no "CLI configuration file … does not exist".
TERRAFORMRC ?= $(CURDIR)/.tmp/terraformrc
export TF_CLI_CONFIG_FILE := $(TERRAFORMRC)
ENV ?=
export ENV

node_modules: package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

$(TERRAFORMRC): scripts/terraformrc.sh
	@mkdir -p $(dir $@) && ./scripts/terraformrc.sh > $@

.PHONY: .tmp/terraformrc
.tmp/terraformrc: $(TERRAFORMRC)

.PHONY: help
help: ## list the commands (make targets, then the npm tools)
	@grep -E '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-14s %s\n", $$1, $$2}'
	@echo
	@echo "operator and developer tools (npm run <name> -- --help for each):"
	@node scripts/npm-tools.mjs

.PHONY: dev
dev: node_modules ## run the whole platform locally (PostgreSQL, auth service, HTTPS demo apps, API gateway + authorizer, Google stand-in)
	npx tsx dev/start.ts

.PHONY: test
test: node_modules $(TERRAFORMRC) ## run the whole test suite (installs chromium/redis-server via apt when root)
	./scripts/ensure-test-deps.sh
	npx vitest run

.PHONY: build
build: node_modules ## bundle the Lambda functions into dist/functions/
	npx tsx functions/build.ts

# The stacks of one environment in deploy order (infra/component-stack.ts COMPONENTS; a test keeps them equal).
DEPLOY_ORDER := bootstrap network database auth authorizer monitoring
# DRY_RUN=1: print each step instead of running it.
RUN := $(if $(filter-out 0 false,$(DRY_RUN)),@echo,)

.PHONY: check-env
check-env: node_modules
	@# A bad environment file ends the output with its one message, before cdktf starts.
	@npx tsx main.ts --check

.PHONY: synth
synth: node_modules $(TERRAFORMRC) check-env ## synthesize Terraform JSON for every environment, or ENV=x only
	npx cdktf synth

.PHONY: validate
validate: synth $(TERRAFORMRC) ## terraform init -backend=false && validate every synthesized stack (offline)
	npx tsx scripts/validate-stacks.ts

.PHONY: tftest
tftest: synth $(TERRAFORMRC) ## terraform validate + terraform test (mock AWS provider: plan and apply) of every synthesized stack, offline
	npx tsx scripts/test-stacks.ts

.PHONY: diff
diff: node_modules $(TERRAFORMRC) ## cdktf diff (plan) of every ENV=x stack (needs AWS credentials for that account)
	@test -n "$(ENV)" || { echo "usage: make diff ENV=<name>  (a file in environments/)"; exit 2; }
	@npx tsx main.ts --check
	npx cdktf synth
	@# cdktf diff takes one stack at a time.
	for component in $(DEPLOY_ORDER); do npx cdktf diff --skip-synth "$(ENV)-$$component" || exit 1; done

.PHONY: deploy
deploy: node_modules $(TERRAFORMRC) ## deploy ENV=x: bootstrap alone first (local state), then the S3-backed stacks in order; DRY_RUN=1 prints the steps
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=<name> [DRY_RUN=1]  (a file in environments/)"; exit 2; }
	@npx tsx main.ts --check
	$(RUN) npx cdktf synth
	@# cdktf 0.21 inits every stack it is given with its real backend before applying any, so the
	@# bucket must exist before any S3-backed stack is named: bootstrap gets a run of its own.
	$(RUN) npx cdktf deploy --skip-synth --auto-approve=false $(ENV)-bootstrap
	@for component in $(filter-out bootstrap,$(DEPLOY_ORDER)); do \
	  $(if $(RUN),echo ,)npx cdktf deploy --skip-synth --auto-approve=false "$(ENV)-$$component" || exit 1; \
	done

.PHONY: cost
cost: node_modules ## monthly cost of ENV=x idle and per million requests, from its synthesized stacks and infra/cost/prices.ts
	@test -n "$(ENV)" || { echo "usage: make cost ENV=<name>  (a file in environments/)"; exit 2; }
	@npx tsx main.ts --check
	@npx tsx main.ts --outdir .tmp/cost-synth >/dev/null
	@npx tsx scripts/cost.ts --env "$(ENV)" --outdir .tmp/cost-synth

.PHONY: module
module: build ## write the plain Terraform module dist/terraform/jwt-authorizer/ and its release zip
	npx tsx infra/export-authorizer-module.ts

.PHONY: migrate
migrate: node_modules ## create/update Better Auth's tables (DATABASE_URL)
	npx tsx functions/auth/migrate.ts

.PHONY: bench
bench: node_modules ## run every benchmark (JSON on the last line of each)
	npm run -s bench:synth
	npm run -s bench:authorizer
	npm run -s bench:auth-cold
	npm run -s bench:service
	npm run -s bench:auth-faults
	npm run -s bench:migrate

.PHONY: clean
clean: ## remove build output
	rm -rf cdktf.out dist .tmp
