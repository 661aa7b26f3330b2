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
# mitogen's strategy halves the cost of each task (scripts/bench.py measures it); MITOGEN=0
# runs plain Ansible. Expanded when a recipe runs, i.e. after the venv exists.
MITOGEN ?= 1
MITOGEN_STRATEGY = $(if $(filter 1,$(MITOGEN)),$(wildcard $(CURDIR)/$(VENV)/lib/python3*/site-packages/ansible_mitogen/plugins/strategy))
export ANSIBLE_STRATEGY_PLUGINS = $(MITOGEN_STRATEGY)
export ANSIBLE_STRATEGY = $(if $(MITOGEN_STRATEGY),mitogen_linear,linear)
export ANSIBLE_PYTHON_INTERPRETER = $(CURDIR)/$(BIN)/python
# Test files run in parallel, each worker with its own emulator (tests/conftest.py).
PYTEST_WORKERS ?= 2

.PHONY: help demo example-build test venv postgres emulator emulator-stop deploy diff drift history cost teardown outputs unit integration molecule lint sanity bench clean

help:
	@echo "make demo        deploy the stack into the embedded emulator, migrate the example app, verify"
	@echo "make test        unit, integration and molecule tests, lint (installs what it needs)"
	@echo "make deploy|diff|teardown|outputs ENV=local|dev|staging|production [ARGS=...]"
	@echo "make drift|history|cost ENV=...   differences (exit 2), operation history, monthly cost estimate"
	@echo "make emulator | emulator-stop   start / stop the embedded emulator"
	@echo "make lint | sanity | bench"

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

postgres: venv
	scripts/ensure-postgres $(BIN)/python

emulator: venv postgres
	$(BIN)/python scripts/emulator.py start >/dev/null
	@$(BIN)/python scripts/emulator.py status | grep -E '"(aws_endpoint_url|pg_admin_url)"'

emulator-stop:
	-test -x $(BIN)/python && $(BIN)/python scripts/emulator.py stop

demo: emulator example-build
	$(PLAYBOOK) playbooks/deploy.yml -i inventories/local $(ARGS)
	$(PLAYBOOK) playbooks/migrate.yml -i inventories/local
	$(PLAYBOOK) playbooks/verify.yml -i inventories/local

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

lint: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint --profile production

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

bench: emulator
	$(BIN)/python scripts/bench.py

clean: emulator-stop
	rm -rf .state
