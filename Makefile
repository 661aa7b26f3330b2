# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV ?= local
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLAYBOOK := $(BIN)/ansible-playbook
INVENTORY := inventories/$(ENV)
# Extra ansible-playbook arguments, e.g. ARGS="-e alarm_email=ops@example.com"
ARGS ?=
# ansible.cfg runs mitogen's strategy when the venv has it (scripts/strategy/mitogen_or_linear.py),
# which halves the cost of each task (scripts/bench.py measures it); MITOGEN=0 runs plain Ansible.
MITOGEN ?= 1
ifeq ($(MITOGEN),0)
export ANSIBLE_STRATEGY = linear
endif
export ANSIBLE_PYTHON_INTERPRETER = $(CURDIR)/$(BIN)/python
# Test files run in parallel, each worker with its own emulator (tests/conftest.py). Three on
# two cores: the workers wait on subprocesses, polls and the emulator about 40 % of the time.
PYTEST_WORKERS ?= 3
# EMULATED=1 aims deploy, diff, drift, history, cost, teardown, outputs and audit of any ENV at the
# embedded emulator, whose account (moto's, 123456789012) it pins in place of the inventory's
# (ENV=local always is): `make deploy audit ENV=production EMULATED=1`.
EMULATED ?=
emulated = $(or $(filter local,$(ENV)),$(EMULATED))
EMULATOR_ENDPOINT = $$($(BIN)/python scripts/emulator.py env | sed -n 's/^export STREAM_SALES_AWS_ENDPOINT=//p')
ENDPOINT_ARGS = $(if $(and $(EMULATED),$(filter-out local,$(ENV))),-e aws_endpoint_url=$(EMULATOR_ENDPOINT) -e aws_account_id=123456789012)
# The security audit (prowler) runs from its own virtualenv, made here from PyPI, never the project's.
PROWLER_VERSION ?= 5.46.0
AUDIT_VENV := .state/prowler-venv
AUDIT_ARGS ?=

.PHONY: help demo example-build test test-all venv postgres emulator emulator-stop deploy diff drift history cost teardown outputs audit unit integration molecule lint sanity bench chaos clean docs changelog tarball ee-context

help:
	@echo "make demo        deploy the stack into the embedded emulator, migrate the example app, verify"
	@echo "make test        unit, emulator and integration tests, lint, sanity (installs what it needs)"
	@echo "make test-all    make test and the long tier (staging, production, AWX jobs, faults, kill -9)"
	@echo "make molecule    the molecule scenarios (default: local inventory; production)"
	@echo "make deploy|diff|teardown|outputs ENV=local|dev|staging|production [EMULATED=1] [ARGS=...]"
	@echo "make drift|history|cost ENV=...   differences (exit 2), operation history, monthly cost estimate"
	@echo "make audit ENV=...       prowler's FAIL findings on the environment's resources, minus scripts/audit_exceptions.yml"
	@echo "make emulator | emulator-stop   start / stop the embedded emulator"
	@echo "make lint | sanity | bench   pre-commit hooks (ansible-lint, yamllint, ruff, codespell) | ansible-test sanity | timings"
	@echo "make docs | changelog        docs/variables.md from the argument specs | CHANGELOG.md from changelogs/fragments"
	@echo "make tarball | ee-context    the Galaxy tarball in build/ | the execution environment's build context in context/"
	@echo "make chaos SEEDS=N [CLOCK=1/60]   the long fault suite (throttling, lost answers, kill -9)"

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

postgres: venv
	scripts/ensure-postgres $(BIN)/python

# FAULTS/SEED/CLOCK make the emulator hostile, e.g. make emulator FAULTS=throttle=0.2,latency=50ms SEED=3 CLOCK=1/60
# (scripts/emulator.py; also STREAM_SALES_FAULTS, STREAM_SALES_FAULT_SEED, STREAM_SALES_CLOCK).
emulator: venv postgres
	$(BIN)/python scripts/emulator.py start $(if $(FAULTS),--faults $(FAULTS)) $(if $(SEED),--seed $(SEED)) $(if $(CLOCK),--clock $(CLOCK)) >/dev/null
	@$(BIN)/python scripts/emulator.py status | grep -E '"(aws_endpoint_url|pg_admin_url)"'

emulator-stop:
	-test -x $(BIN)/python && $(BIN)/python scripts/emulator.py stop

# Migrations go through the RDS Data API (the default), then a direct TLS connection finds them
# applied: both transports run on the emulated cluster's PostgreSQL.
demo: emulator example-build
	$(PLAYBOOK) playbooks/deploy.yml -i inventories/local $(ARGS)
	$(PLAYBOOK) playbooks/migrate.yml -i inventories/local
	$(PLAYBOOK) playbooks/verify.yml -i inventories/local
	$(PLAYBOOK) playbooks/migrate.yml -i inventories/local -e migrate_transport=direct
	$(PLAYBOOK) playbooks/verify.yml -i inventories/local -e migrate_transport=direct --tags database

# The example app's OpenNext v3 build (git-ignored), deployed unless -e app_build_dir=... names another.
example-build: example-app/.open-next/open-next.output.json

example-app/.open-next/open-next.output.json: example-app/build-open-next.py
	$(PYTHON) example-app/build-open-next.py >/dev/null

# ENV=local (or EMULATED=1) goes to the emulator; any other ENV to the AWS account of your credentials.
deploy: venv example-build $(if $(emulated),emulator)
	$(PLAYBOOK) playbooks/deploy.yml -i $(INVENTORY) $(ENDPOINT_ARGS) $(ARGS)

diff: venv example-build $(if $(emulated),emulator)
	$(PLAYBOOK) playbooks/deploy.yml -i $(INVENTORY) --check --diff $(ENDPOINT_ARGS) $(ARGS)

# Exit 0 in sync, 2 when the account differs from the code (a nightly job).
drift: venv example-build $(if $(emulated),emulator)
	$(PLAYBOOK) playbooks/drift.yml -i $(INVENTORY) $(ENDPOINT_ARGS) $(ARGS)

history: venv $(if $(emulated),emulator)
	$(PLAYBOOK) playbooks/history.yml -i $(INVENTORY) $(ENDPOINT_ARGS) $(ARGS)

cost: venv $(if $(emulated),emulator)
	$(PLAYBOOK) playbooks/cost.yml -i $(INVENTORY) $(ENDPOINT_ARGS) $(ARGS)

teardown: venv $(if $(emulated),emulator)
	$(PLAYBOOK) playbooks/teardown.yml -i $(INVENTORY) $(ENDPOINT_ARGS) $(ARGS)

outputs: venv $(if $(emulated),emulator)
	$(PLAYBOOK) playbooks/outputs.yml -i $(INVENTORY) $(ENDPOINT_ARGS) $(ARGS)

# An independent audit of a deployed environment (docs/security.md): prowler $(PROWLER_VERSION), installed
# once into $(AUDIT_VENV), against the emulator (ENV=local, EMULATED=1) or your credentials' account.
# Prints the FAIL findings on the environment's resources and the accepted exceptions with their
# reasons; fails when a finding is not an exception. Not part of `make test` (minutes per run).
$(AUDIT_VENV)/bin/prowler:
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -q --upgrade pip
	$(AUDIT_VENV)/bin/python -m pip install -q prowler==$(PROWLER_VERSION)

audit: venv $(AUDIT_VENV)/bin/prowler $(if $(emulated),emulator)
	$(AUDIT_VENV)/bin/python scripts/audit.py --env $(shell sed -n 's/^stream_sales_env: *//p' $(INVENTORY)/group_vars/$(ENV).yml) \
	  --region $(shell sed -n 's/^aws_region: *//p' $(INVENTORY)/group_vars/all.yml) \
	  --prowler $(AUDIT_VENV)/bin/prowler $(if $(emulated),--endpoint $(EMULATOR_ENDPOINT)) $(AUDIT_ARGS)

unit: venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/unit

integration: emulator example-build
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/integration

molecule: emulator
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule test --all

# Every pre-commit hook (.pre-commit-config.yaml): ruff, yamllint, codespell, changelog
# fragments, docs/variables.md up to date, ansible-lint's production profile.
lint: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pre-commit run --all-files --show-diff-on-failure

docs: venv
	$(BIN)/python scripts/docs_variables.py

# Folds changelogs/fragments/*.yml into the release of galaxy.yml's version, regenerates CHANGELOG.md.
changelog: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/antsibull-changelog lint
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/antsibull-changelog release --reload-plugins --refresh-plugins

tarball: venv
	rm -rf build && $(BIN)/ansible-galaxy collection build --output-path build .

# The execution environment's build context (docs/execution-environment.md): build it with
# `podman build -f context/Containerfile -t stream-sales-ee context`.
ee-context: tarball
	cp build/stream_sales-platform-*.tar.gz build/stream_sales-platform.tar.gz
	$(BIN)/ansible-builder create -f execution-environment.yml -c context --output-filename Containerfile

sanity: venv
	scripts/sanity

# CI's gate (within 20 minutes on 2 cores): every test but the long tier (`-m "not slow"`:
# staging and production stacks, the installed tarball's AWX jobs, kill -9 under the linear
# strategy, a custom domain; the quick fault suite is in), with lint and sanity running beside pytest at a lower priority to fill its idle time.
# pytest's workers each start their own emulator (tests/conftest.py). Molecule's scenarios deploy
# what tests/integration/test_deploy.py and test_environments.py check: `make molecule`.
TEST_MARKERS ?= not slow
test: emulator example-build
	@nice -n 10 $(MAKE) --no-print-directory lint > .state/lint.log 2>&1 & lint=$$!; \
	nice -n 10 $(MAKE) --no-print-directory sanity > .state/sanity.log 2>&1 & sanity=$$!; \
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15 -m "$(TEST_MARKERS)" tests; pytest_rc=$$?; \
	wait $$lint; lint_rc=$$?; wait $$sanity; sanity_rc=$$?; \
	echo "--- make lint: exit $$lint_rc (.state/lint.log)"; tail -12 .state/lint.log; \
	echo "--- make sanity: exit $$sanity_rc (.state/sanity.log)"; grep -E "^(ERROR|FATAL)|Running sanity test" .state/sanity.log | tail -40; \
	test $$pytest_rc -eq 0 && test $$lint_rc -eq 0 && test $$sanity_rc -eq 0

# Everything, the long tier included (about twice the gate's time).
test-all:
	$(MAKE) --no-print-directory test TEST_MARKERS=

bench: emulator
	$(BIN)/python scripts/bench.py

clean: emulator-stop
	rm -rf .state

# The long fault suite of tests/chaos (its quick subset runs in `make test`): SEEDS seeds of a
# fresh deploy at 20 % throttling and with 5 % of answers lost, and kill -9 at SEEDS points of
# deploy, teardown, migrate and rotate_secrets, each checked against a clean run's resource counts.
SEEDS ?= 10
chaos: emulator example-build
	CHAOS_SEEDS=$(SEEDS) CHAOS_CLOCK=$(CLOCK) $(BIN)/pytest -q -p no:xdist -rA tests/chaos
