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
# Test files run in parallel, each worker with its own emulator (tests/conftest.py).
PYTEST_WORKERS ?= 2

.PHONY: help demo example-build test venv postgres emulator emulator-stop deploy diff drift history cost teardown outputs unit integration molecule lint sanity bench chaos clean docs changelog tarball ee-context

help:
	@echo "make demo        deploy the stack into the embedded emulator, migrate the example app, verify"
	@echo "make test        unit, integration and molecule tests, lint, sanity (installs what it needs)"
	@echo "make deploy|diff|teardown|outputs ENV=local|dev|staging|production [ARGS=...]"
	@echo "make drift|history|cost ENV=...   differences (exit 2), operation history, monthly cost estimate"
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

# ENV=local goes to the emulator; any other ENV goes to the AWS account of your credentials.
deploy: venv example-build $(if $(filter local,$(ENV)),emulator)
	$(PLAYBOOK) playbooks/deploy.yml -i $(INVENTORY) $(ARGS)

diff: venv example-build $(if $(filter local,$(ENV)),emulator)
	$(PLAYBOOK) playbooks/deploy.yml -i $(INVENTORY) --check --diff $(ARGS)

# Exit 0 in sync, 2 when the account differs from the code (a nightly job).
drift: venv example-build $(if $(filter local,$(ENV)),emulator)
	$(PLAYBOOK) playbooks/drift.yml -i $(INVENTORY) $(ARGS)

history: venv $(if $(filter local,$(ENV)),emulator)
	$(PLAYBOOK) playbooks/history.yml -i $(INVENTORY) $(ARGS)

cost: venv $(if $(filter local,$(ENV)),emulator)
	$(PLAYBOOK) playbooks/cost.yml -i $(INVENTORY) $(ARGS)

teardown: venv $(if $(filter local,$(ENV)),emulator)
	$(PLAYBOOK) playbooks/teardown.yml -i $(INVENTORY) $(ARGS)

outputs: venv $(if $(filter local,$(ENV)),emulator)
	$(PLAYBOOK) playbooks/outputs.yml -i $(INVENTORY) $(ARGS)

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

# Molecule's default scenario (on the main emulator) runs beside pytest (whose workers have their
# own emulators). The production scenario covers what tests/integration/test_environments.py
# checks, so `make test` leaves it to `make molecule` to stay within CI's time.
MOLECULE_SCENARIOS ?= --scenario-name default
test: emulator example-build
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule test $(MOLECULE_SCENARIOS) > .state/molecule.log 2>&1 & molecule=$$!; \
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=12 tests; pytest_rc=$$?; \
	wait $$molecule; molecule_rc=$$?; \
	echo "--- molecule test $(MOLECULE_SCENARIOS): exit $$molecule_rc (full log: .state/molecule.log)"; \
	sed 's/\x1b\[[0-9;]*m//g' .state/molecule.log | grep -E "➜ [a-z]+: Executed|Molecule executed|ERROR" | tail -20; \
	test $$pytest_rc -eq 0 && test $$molecule_rc -eq 0
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory sanity

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
